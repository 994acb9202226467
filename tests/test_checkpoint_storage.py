"""Contract tests of checkpoint storage, run on every backend: memory, a local directory, S3 (moto).

Also the ``_metadata`` format (versioning, checksum) and ``strom checkpoints DIR``.
"""
from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from strom.checkpoint import _fs
from strom.checkpoint.listing import list_checkpoints
from strom.checkpoint.metadata import METADATA
from strom.checkpoint.storage import (
    CheckpointStorage,
    StateHandle,
    latest_complete,
    load_checkpoint,
    open_storage,
)
from strom.cli import main
from strom.errors import CheckpointCorruptedError, CheckpointError

NOW = 1_700_000_000_000


@pytest.fixture(params=["memory", "local", "s3"])
def base(request: Any, tmp_path: Any) -> str | None:
    """The checkpoint base of each backend in turn (a fresh prefix per test)."""
    if request.param == "memory":
        return None
    if request.param == "local":
        return str(tmp_path / "checkpoints")
    return f"{request.getfixturevalue('s3_server')}/{uuid.uuid4().hex}"


@pytest.fixture
def storage(base: str | None) -> CheckpointStorage:
    return open_storage(base, job_id=uuid.uuid4().hex)


def _raw(path: str) -> tuple[_fs.Backend, str]:
    return _fs.resolve(path)


def _tamper(path: str, transform: Any) -> None:
    backend, p = _raw(path)
    backend.write_atomic(p, transform(backend.read(p)))


def _take(storage: CheckpointStorage, n: int, files: dict[str, bytes] | None = None) -> str:
    pending = storage.begin(n)
    for name, data in (files or {"op-a-0": b"a" * 100 + bytes([n]), "op-b-0": b"b%d" % n}).items():
        pending.write(name, data)
    return pending.commit({"sources": {"src": n}}, now_ms=NOW + n)


def test_round_trip(storage: CheckpointStorage) -> None:
    pending = storage.begin(1)
    h = pending.write("op-1-0", b"hello")
    assert h == StateHandle("op-1-0", 5, h.sha256) and len(h.sha256) == 64
    pending.write("empty", b"")
    path = pending.commit({"sources": {"kafka": [1, 2]}, "note": "x"}, now_ms=NOW)
    assert path == pending.path and path.endswith(f"{storage.job_id}/chk-1")
    for p in (path, path + "/" + METADATA, path + "/"):
        loaded = load_checkpoint(p)
        assert loaded.read("op-1-0") == b"hello" and loaded.read("empty") == b""
    md = loaded.metadata
    assert md["format"] == "strom-checkpoint" and md["version"] == 1
    assert (md["kind"], md["checkpoint_id"], md["job_id"]) == ("checkpoint", 1, storage.job_id)
    assert md["sources"] == {"kafka": [1, 2]} and md["note"] == "x" and md["timestamp_ms"] == NOW
    assert md["files"]["op-1-0"] == {"size": 5, "sha256": h.sha256}
    assert loaded.files["op-1-0"] == h and loaded.checkpoint_id == 1
    loaded.verify()
    assert storage.completed() == [path]
    with pytest.raises(CheckpointError, match="no state file 'nope'"):
        loaded.read("nope")


def test_no_metadata_means_incomplete_and_prune_removes_it(storage: CheckpointStorage) -> None:
    first = _take(storage, 1)
    crashed = storage.begin(2)
    crashed.write("op-a-0", b"partial")  # the process dies here: no commit
    assert storage.completed() == [first]
    with pytest.raises(CheckpointError, match="incomplete") as exc:
        load_checkpoint(crashed.path)
    assert not isinstance(exc.value, CheckpointCorruptedError)
    loaded, skipped = latest_complete(storage.job_dir)
    assert loaded is not None and loaded.path == first
    assert len(skipped) == 1 and "chk-2" in skipped[0] and "incomplete" in skipped[0]
    third = _take(storage, 3)
    storage.prune(retained=5)
    assert storage.completed() == [third, first]
    backend, _ = _raw(crashed.path)
    assert not backend.exists(crashed.path)


def test_abort_and_commit_guards(storage: CheckpointStorage) -> None:
    pending = storage.begin(4)
    pending.write("op-a-0", b"x")
    with pytest.raises(CheckpointError, match="already written"):
        pending.write("op-a-0", b"y")
    for bad in ("", "a/b", ".hidden", METADATA):
        with pytest.raises(CheckpointError, match="not allowed"):
            pending.write(bad, b"z")
    with pytest.raises(CheckpointError, match="reserved key"):
        pending.commit({"files": {}})
    with pytest.raises(CheckpointError, match="JSON-serializable"):
        pending.commit({"blob": b"bytes"})
    pending.abort()
    backend, _ = _raw(pending.path)
    assert not backend.exists(pending.path) and storage.completed() == []
    with pytest.raises(CheckpointError, match="already aborted"):
        pending.write("op-b-0", b"x")


def test_commit_fails_when_a_written_file_vanished(storage: CheckpointStorage) -> None:
    pending = storage.begin(1)
    pending.write("op-a-0", b"data")
    backend, p = _raw(pending.path)
    backend.remove(backend.join(p, "op-a-0"))
    with pytest.raises(CheckpointError, match="'op-a-0' was written with 4 bytes, found 'no file'"):
        pending.commit({})
    assert storage.completed() == []


def test_begin_refuses_to_overwrite_a_complete_checkpoint(storage: CheckpointStorage) -> None:
    _take(storage, 1)
    with pytest.raises(CheckpointError, match="already exists and is complete"):
        storage.begin(1)


def test_retention(storage: CheckpointStorage) -> None:
    paths = [_take(storage, n) for n in range(1, 6)]
    storage.prune(retained=2)
    assert storage.completed() == [paths[4], paths[3]]
    assert load_checkpoint(paths[3]).read("op-b-0") == b"b4"
    with pytest.raises(CheckpointError, match="retained >= 1"):
        storage.prune(0)
    storage.discard(paths[3])
    assert storage.completed() == [paths[4]]
    with pytest.raises(CheckpointError, match="expected a chk-<n> or savepoint"):
        storage.discard(storage.job_dir)


def test_savepoints(base: str | None, storage: CheckpointStorage, tmp_path: Any) -> None:
    with pytest.raises(CheckpointError, match="no target directory"):
        storage.begin_savepoint(None, 3)
    target = "memory://savepoints" if base is None else f"{base}/savepoints"
    pending = storage.begin_savepoint(target, 3)
    name = pending.path.rsplit("/", 1)[-1]
    assert name.startswith(f"savepoint-{storage.job_id[:6]}-") and len(name) == 10 + 6 + 1 + 12
    pending.write("op-a-0", b"saved")
    path = pending.commit({"reason": "manual"})
    loaded = load_checkpoint(path)
    assert loaded.kind == "savepoint" and loaded.read("op-a-0") == b"saved"
    assert storage.completed() == []  # savepoints are not the job's checkpoints
    configured = open_storage(base, storage.job_id, savepoint_dir=target)
    other = configured.begin_savepoint(None, 4)
    assert other.path != path
    other.abort()


def test_concurrent_writes(storage: CheckpointStorage) -> None:
    pending = storage.begin(1)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(10):
                pending.write(f"op-{t}-{i}", bytes([t, i]) * (50 + i))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    loaded = load_checkpoint(pending.commit({}))
    assert len(loaded.files) == 60
    assert loaded.read("op-5-9") == bytes([5, 9]) * 59
    loaded.verify()


@pytest.mark.parametrize("damage, found", [
    (lambda b: bytes([b[0] ^ 0x01]) + b[1:], "altered: expected sha256"),
    (lambda b: b[:-3], "truncated: expected 101 bytes, found 98"),
    (None, "expected 101 bytes, found no file"),
])
def test_corrupt_state_file_is_named_and_skipped(storage: CheckpointStorage, damage: Any,
                                                 found: str) -> None:
    good = _take(storage, 1)
    bad = _take(storage, 2)
    file_path = f"{bad}/op-a-0"
    if damage is None:
        backend, p = _raw(file_path)
        backend.remove(p)
    else:
        _tamper(file_path, damage)
    loaded = load_checkpoint(bad)
    assert loaded.read("op-b-0") == b"b2"  # the intact file still reads
    with pytest.raises(CheckpointCorruptedError) as exc:
        loaded.read("op-a-0")
    message = str(exc.value)
    assert found in message and bad in message and "'op-a-0'" in message
    assert "strom checkpoints" in message and exc.value.file == "op-a-0"
    base_and_job = (storage.base, storage.job_id) if storage.base else (storage.job_dir,)
    restored, skipped = latest_complete(*base_and_job)
    assert restored is not None and restored.path == good
    assert len(skipped) == 1 and found in skipped[0]


@pytest.mark.parametrize("garbage", [b"\x00garbage{", b'{"format": "strom-checkpoint"', b"[1]"])
def test_garbage_metadata(storage: CheckpointStorage, garbage: bytes) -> None:
    good = _take(storage, 1)
    bad = _take(storage, 2)
    _tamper(f"{bad}/{METADATA}", lambda _: garbage)
    with pytest.raises(CheckpointCorruptedError, match=f"{bad}: _metadata is corrupt") as exc:
        load_checkpoint(bad)
    assert exc.value.file == METADATA
    restored, skipped = latest_complete(storage.job_dir)
    assert restored is not None and restored.path == good and "_metadata" in skipped[0]


def test_metadata_checksum_catches_a_parsable_change(storage: CheckpointStorage) -> None:
    path = _take(storage, 1)
    _tamper(f"{path}/{METADATA}", lambda b: b.replace(b'"src":1', b'"src":7'))
    with pytest.raises(CheckpointCorruptedError, match="expected checksum"):
        load_checkpoint(path)


def test_newer_or_foreign_format_is_refused(storage: CheckpointStorage) -> None:
    path = _take(storage, 1)

    def bump(b: bytes) -> bytes:
        doc = json.loads(b)
        doc["version"] = 2
        return json.dumps(doc).encode()

    _tamper(f"{path}/{METADATA}", bump)
    with pytest.raises(CheckpointError, match="written by a newer strom: expected version 1, "
                                              "found 2"):
        load_checkpoint(path)
    _tamper(f"{path}/{METADATA}", lambda _: b'{"format": "flink", "version": 1}')
    with pytest.raises(CheckpointError, match="not a strom checkpoint"):
        load_checkpoint(path)


def test_latest_complete_of_nothing(storage: CheckpointStorage) -> None:
    assert latest_complete(storage.job_dir) == (None, [])


def test_list_checkpoints(storage: CheckpointStorage) -> None:
    _take(storage, 1)
    bad = _take(storage, 2)
    _tamper(f"{bad}/op-b-0", lambda b: b"X" + b[1:])
    storage.begin(3).write("op-a-0", b"partial")
    infos = list_checkpoints(storage.job_dir)
    assert [(i.checkpoint_id, i.status) for i in infos] == [
        (3, "incomplete"), (2, "corrupt"), (1, "complete")]
    assert infos[2].files == 2 and infos[2].size == 101 + 2 and infos[2].timestamp_ms == NOW + 1
    assert "'op-b-0'" in infos[1].reason and all(i.job_id == storage.job_id for i in infos)
    assert [i.checkpoint_id for i in list_checkpoints(bad)] == [2]


def test_cli_lists_a_base_dir(tmp_path: Any, capsys: Any) -> None:
    base = str(tmp_path / "ckpts")
    storage = open_storage(base, "job42")
    _take(storage, 1)
    _take(storage, 2)
    storage.begin(3).write("op-a-0", b"x")
    sp = storage.begin_savepoint(str(tmp_path / "ckpts" / "job42"), 2)
    sp.write("s", b"123")
    sp.commit({}, now_ms=NOW)
    assert main(["checkpoints", base]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["JOB", "ID", "KIND", "STATUS", "TIME", "SIZE", "FILES", "PATH"]
    assert lines[2] == "    reason: no _metadata"  # under the incomplete chk-3
    lines = [line for line in lines if not line.startswith("    reason:")]
    rows = [line.split() for line in lines[1:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("job42", "3", "checkpoint", "incomplete"), ("job42", "2", "checkpoint", "complete"),
        ("job42", "1", "checkpoint", "complete"), ("job42", "2", "savepoint", "complete")]
    assert rows[1][4:6] == ["2023-11-14", "22:13:20Z"] and rows[1][-1].endswith("chk-2")
    assert len({line.index("/") for line in lines[1:]}) == 1  # the path column is aligned
    assert main(["checkpoints", f"file://{base}/job42/chk-1"]) == 0
    assert "chk-1" in capsys.readouterr().out
    assert main(["checkpoints", str(tmp_path / "empty")]) == 1
    assert "no checkpoints" in capsys.readouterr().err


def test_unknown_or_uninstalled_scheme_is_named() -> None:
    with pytest.raises(CheckpointError, match="no filesystem knows the scheme 'nosuch'"):
        open_storage("nosuch://bucket/p", "job")
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401
        pytest.skip("gcsfs is installed")
    except ImportError:
        pass
    with pytest.raises(CheckpointError, match="gcs:// scheme needs fsspec.*Hint: pip install"):
        open_storage("gcs://bucket/p", "job")
