"""Checkpoint storage: where checkpoints and savepoints are written, found, verified and pruned.

The layout follows Flink's::

    <base>/<job_id>/chk-<n>/<state files...>        one directory per checkpoint
    <base>/<job_id>/chk-<n>/_metadata                written last: its presence means complete
    <target>/savepoint-<job_id[:6]>-<12 hex>/...     a self-contained savepoint

``base`` is ``None`` (process memory, ``memory://<job_id>/chk-<n>``), a local path or
``file:///abs/path``, or any fsspec URL such as ``s3://bucket/prefix`` (install the ``s3``
extra; set ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` for a non-AWS endpoint).

A checkpoint is written as :class:`PendingCheckpoint` (``write`` state files from any thread,
then ``commit`` the metadata, or ``abort``) and read back as :class:`LoadedCheckpoint`, whose
``read`` checks every byte against the manifest before returning it: nothing is half-loaded.

Example::

    storage = open_storage("/tmp/ckpt", job_id="a1b2c3")
    pending = storage.begin(1)
    pending.write("op-1-0", b"state bytes")
    path = pending.commit({"sources": {"src": 42}}, now_ms=1_700_000_000_000)
    restored = load_checkpoint(path)
    assert restored.read("op-1-0") == b"state bytes"
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
from typing import Any

from strom.checkpoint import _fs
from strom.checkpoint.metadata import METADATA, StateHandle, decode, encode, restore_hint
from strom.errors import CheckpointCorruptedError, CheckpointError

__all__ = ["CheckpointStorage", "LoadedCheckpoint", "PendingCheckpoint", "StateHandle",
           "checkpoint_id_of", "fsspec_filesystem", "latest_complete", "load_checkpoint",
           "open_storage"]

fsspec_filesystem = _fs.fsspec_filesystem  # the one cache of fsspec filesystems (files, sinks)

_CHK = re.compile(r"^chk-(\d+)$")


def checkpoint_id_of(name: str) -> int | None:
    """The ``n`` of a ``chk-<n>`` directory name, else ``None``."""
    m = _CHK.match(name)
    return int(m.group(1)) if m else None


def _check_name(name: str, path: str) -> None:
    if (not isinstance(name, str) or not name or "/" in name or "\\" in name
            or name.startswith(".") or name == METADATA):
        msg = (f"checkpoint {path}: state file name {name!r} is not allowed: expected a flat, "
               f"non-empty file name without '/' that does not start with '.' and is not "
               f"{METADATA!r}. Hint: name files like 'op-<uid>-<subtask>'.")
        raise CheckpointError(msg, checkpoint=path)


class PendingCheckpoint:
    """A checkpoint being written: state files first, ``_metadata`` last.

    ``write`` may be called concurrently from writer threads; ``commit`` and ``abort`` are
    called once, by one thread, after every ``write`` has returned.

    Attributes:
        path: the checkpoint directory.
        checkpoint_id: its id.
        kind: ``"checkpoint"`` or ``"savepoint"``.
    """

    def __init__(self, backend: _fs.Backend, path: str, job_id: str, checkpoint_id: int,
                 kind: str) -> None:
        self._fs = backend
        self.path = path
        self.job_id = job_id
        self.checkpoint_id = checkpoint_id
        self.kind = kind
        self._handles: dict[str, StateHandle] = {}
        self._reserved: set[str] = set()
        self._lock = threading.Lock()
        self._state = "open"

    def _ensure_open(self, action: str) -> None:
        if self._state != "open":
            msg = (f"checkpoint {self.path}: cannot {action}: it is already {self._state}. "
                   f"Hint: begin a new checkpoint.")
            raise CheckpointError(msg, checkpoint=self.path)

    def write(self, name: str, data: bytes) -> StateHandle:
        """Store one state file durably and return its manifest entry. Thread-safe.

        Raises:
            CheckpointError: a bad or duplicate name, or the checkpoint is committed/aborted.
        """
        _check_name(name, self.path)
        with self._lock:
            self._ensure_open(f"write {name!r}")
            if name in self._reserved:
                msg = (f"checkpoint {self.path}: state file {name!r} was already written; "
                       f"expected each name once. Hint: add the subtask index to the name.")
                raise CheckpointError(msg, checkpoint=self.path)
            self._reserved.add(name)
        data = bytes(data)
        self._fs.write_atomic(self._fs.join(self.path, name), data)
        handle = StateHandle(name, len(data), hashlib.sha256(data).hexdigest())
        with self._lock:
            self._handles[name] = handle
        return handle

    @property
    def handles(self) -> dict[str, StateHandle]:
        """The files written so far, by name."""
        with self._lock:
            return dict(self._handles)

    def commit(self, metadata: dict[str, Any], *, now_ms: int | None = None) -> str:
        """Check every written file is in place, then write ``_metadata`` atomically.

        Args:
            metadata: the caller's JSON-serializable keys (see ``metadata.RESERVED``).
            now_ms: the commit time (epoch ms) recorded as ``timestamp_ms``; time is injected.

        Returns:
            The checkpoint path, for ``load_checkpoint``.

        Raises:
            CheckpointError: a written file is missing or has the wrong size, ``metadata``
                is not serializable or uses a reserved key, or this was committed/aborted.
        """
        with self._lock:
            self._ensure_open("commit")
            if self._reserved != set(self._handles):
                pending = sorted(self._reserved - set(self._handles))
                msg = (f"checkpoint {self.path}: commit while write() of {pending} has not "
                       f"returned (or failed). Expected every write to finish first. Hint: "
                       f"wait for the writer threads, or abort() after a failed write.")
                raise CheckpointError(msg, checkpoint=self.path)
            handles = dict(self._handles)
        for handle in handles.values():
            file_path = self._fs.join(self.path, handle.name)
            try:
                found: int | str = self._fs.size(file_path)
            except FileNotFoundError:
                found = "no file"
            if found != handle.size:
                msg = (f"checkpoint {self.path}: cannot commit: state file {handle.name!r} was "
                       f"written with {handle.size} bytes, found {found!r} at {file_path}. "
                       f"Hint: something removed or changed it after write(); abort and retry.")
                raise CheckpointError(msg, checkpoint=self.path)
        body = encode(kind=self.kind, checkpoint_id=self.checkpoint_id, job_id=self.job_id,
                      timestamp_ms=now_ms, handles=handles, extra=metadata, path=self.path)
        self._fs.write_atomic(self._fs.join(self.path, METADATA), body)
        with self._lock:
            self._state = "committed"
        return self.path

    def abort(self) -> None:
        """Remove everything written. Idempotent; a no-op after ``commit``."""
        with self._lock:
            if self._state != "open":
                return
            self._state = "aborted"
        self._fs.remove_tree(self.path)


class LoadedCheckpoint:
    """A complete checkpoint or savepoint, opened for restore.

    Attributes:
        path: the checkpoint directory.
        metadata: the whole ``_metadata`` document: the caller's keys plus ``format``,
            ``version``, ``kind``, ``checkpoint_id``, ``job_id``, ``timestamp_ms``, ``files``.
    """

    def __init__(self, backend: _fs.Backend, path: str, metadata: dict[str, Any]) -> None:
        self._fs = backend
        self.path = path
        self.metadata = metadata

    @property
    def checkpoint_id(self) -> int:
        """The checkpoint's id."""
        return int(self.metadata["checkpoint_id"])

    @property
    def job_id(self) -> str:
        """The id of the job that wrote it."""
        return str(self.metadata["job_id"])

    @property
    def kind(self) -> str:
        """``"checkpoint"`` or ``"savepoint"``."""
        return str(self.metadata["kind"])

    @property
    def files(self) -> dict[str, StateHandle]:
        """The manifest: every state file with its expected size and SHA-256."""
        return {n: StateHandle(n, f["size"], f["sha256"])
                for n, f in self.metadata["files"].items()}

    def read(self, name: str) -> bytes:
        """The bytes of state file ``name``, after checking size and SHA-256.

        Raises:
            CheckpointError: ``name`` is not in the manifest.
            CheckpointCorruptedError: the file is missing, truncated or altered.
        """
        entry = self.metadata["files"].get(name)
        if entry is None:
            held = sorted(self.metadata["files"])
            msg = (f"checkpoint {self.path}: no state file {name!r} in its manifest; it holds "
                   f"{held}. Hint: was the checkpoint taken by a different job graph?")
            raise CheckpointError(msg, checkpoint=self.path)
        try:
            data = self._fs.read(self._fs.join(self.path, name))
        except FileNotFoundError:
            raise self._corrupt(name, f"expected {entry['size']} bytes, found no file") from None
        if len(data) != entry["size"]:
            what = "truncated" if len(data) < entry["size"] else "too long"
            raise self._corrupt(name, f"{what}: expected {entry['size']} bytes, found {len(data)}")
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            raise self._corrupt(name, f"altered: expected sha256 {entry['sha256']}, found {digest}")
        return data

    def verify(self) -> None:
        """Read and check every file of the manifest (raises as ``read`` does)."""
        for name in sorted(self.metadata["files"]):
            self.read(name)

    def _corrupt(self, name: str, what: str) -> CheckpointCorruptedError:
        msg = f"checkpoint {self.path}: state file {name!r} is {what}. {restore_hint(self.path)}"
        return CheckpointCorruptedError(msg, checkpoint=self.path, file=name)

    def __repr__(self) -> str:
        return f"LoadedCheckpoint({self.path!r}, kind={self.kind}, id={self.checkpoint_id})"


def _checkpoint_dir(path: str) -> tuple[_fs.Backend, str]:
    backend, resolved = _fs.resolve(path)
    if resolved.replace("\\", "/").rsplit("/", 1)[-1] == METADATA:
        resolved = backend.parent(resolved)
    return backend, resolved


def load_checkpoint(path: str) -> LoadedCheckpoint:
    """Open a complete checkpoint or savepoint for restore.

    Args:
        path: a ``chk-<n>`` or savepoint directory, or its ``_metadata`` file; a local path,
            ``file://``, ``memory://`` or fsspec (``s3://``) URL.

    Raises:
        CheckpointError: no ``_metadata`` there (incomplete or not a checkpoint), or a format
            version this strom cannot read.
        CheckpointCorruptedError: ``_metadata`` is unparsable or fails its checksum.
    """
    backend, directory = _checkpoint_dir(path)
    try:
        data = backend.read(backend.join(directory, METADATA))
    except FileNotFoundError:
        state = "incomplete (its state files are there but it was never committed)" \
            if backend.exists(directory) else "not there"
        msg = (f"checkpoint {directory}: no {METADATA} file; the checkpoint is {state}. Expected "
               f"a chk-<n> or savepoint directory holding {METADATA}. {restore_hint(directory)}")
        raise CheckpointError(msg, checkpoint=directory) from None
    return LoadedCheckpoint(backend, directory, decode(data, directory))


class CheckpointStorage:
    """One job's checkpoints under ``<base>/<job_id>/``, plus its savepoints.

    Attributes:
        base: the configured checkpoint directory, ``None`` for memory.
        job_id: the job whose checkpoints these are.
        savepoint_dir: where ``begin_savepoint(None, ...)`` writes, if configured.
        job_dir: ``<base>/<job_id>`` (``memory://<job_id>`` for memory storage).
    """

    def __init__(self, base: str | None, job_id: str, savepoint_dir: str | None = None) -> None:
        if not job_id or "/" in job_id or job_id.startswith("."):
            msg = (f"checkpoint storage {base!r}: job id {job_id!r} is not a usable directory "
                   f"name; expected a non-empty name without '/'. Hint: use the job's hex id.")
            raise CheckpointError(msg)
        self.base = base
        self.job_id = job_id
        self.savepoint_dir = savepoint_dir
        root = _fs.MEMORY + job_id if base is None else base
        self._fs, resolved = _fs.resolve(root)
        self.job_dir = resolved if base is None else self._fs.join(resolved, job_id)

    def begin(self, checkpoint_id: int) -> PendingCheckpoint:
        """Start checkpoint ``checkpoint_id`` in ``<base>/<job_id>/chk-<n>``.

        A leftover incomplete directory of the same id (a crash before commit) is cleared.

        Raises:
            CheckpointError: that checkpoint already exists and is complete.
        """
        path = self._fs.join(self.job_dir, f"chk-{checkpoint_id}")
        return self._begin(path, checkpoint_id, "checkpoint")

    def begin_savepoint(self, target: str | None, checkpoint_id: int) -> PendingCheckpoint:
        """Start a savepoint in ``<target>/savepoint-<job_id[:6]>-<12 hex>``.

        Args:
            target: the directory to create it in; ``None`` uses ``savepoint_dir``.
            checkpoint_id: the id recorded in its metadata.

        Raises:
            CheckpointError: neither ``target`` nor a savepoint directory is configured.
        """
        target = target or self.savepoint_dir
        if not target:
            msg = (f"savepoint of job {self.job_id}: no target directory given and no savepoint "
                   f"directory configured. Hint: pass a target (e.g. 's3://bucket/savepoints' "
                   f"or '/var/strom/savepoints') or open the storage with savepoint_dir=....")
            raise CheckpointError(msg)
        backend, resolved = _fs.resolve(target)
        path = backend.join(resolved, f"savepoint-{self.job_id[:6]}-{secrets.token_hex(6)}")
        return self._begin(path, checkpoint_id, "savepoint", backend)

    def _begin(self, path: str, checkpoint_id: int, kind: str,
               backend: _fs.Backend | None = None) -> PendingCheckpoint:
        backend = backend or self._fs
        if not isinstance(checkpoint_id, int) or checkpoint_id < 0:
            msg = (f"{kind} at {path}: expected a non-negative integer id, found "
                   f"{checkpoint_id!r}. Hint: ids come from the checkpoint coordinator.")
            raise CheckpointError(msg, checkpoint=path)
        if backend.exists(backend.join(path, METADATA)):
            msg = (f"{kind} {path} already exists and is complete; expected a new id. Hint: "
                   f"continue numbering after the restored checkpoint's id.")
            raise CheckpointError(msg, checkpoint=path)
        backend.remove_tree(path)
        return PendingCheckpoint(backend, path, self.job_id, checkpoint_id, kind)

    def _chk_dirs(self) -> list[tuple[int, str]]:
        """This job's ``chk-<n>`` directories as (n, path), newest first."""
        found = []
        for name in self._fs.listdir(self.job_dir):
            n = checkpoint_id_of(name)
            if n is not None:
                found.append((n, self._fs.join(self.job_dir, name)))
        return sorted(found, reverse=True)

    def completed(self) -> list[str]:
        """Paths of this job's complete checkpoints (those with ``_metadata``), newest first.

        Only checks that ``_metadata`` exists; ``latest_complete`` verifies contents.
        """
        return [p for _, p in self._chk_dirs() if self._fs.exists(self._fs.join(p, METADATA))]

    def prune(self, retained: int) -> None:
        """Delete complete checkpoints beyond the newest ``retained``, and incomplete ones older
        than the newest complete one (left by crashes or aborted attempts).

        Not called concurrently with ``begin`` of an id lower than the newest complete one.

        Raises:
            CheckpointError: ``retained`` < 1 (that would delete the checkpoint to restore).
        """
        if not isinstance(retained, int) or retained < 1:
            msg = (f"prune of {self.job_dir}: expected retained >= 1, found {retained!r}. "
                   f"Hint: keep at least the latest checkpoint; use discard() to delete one.")
            raise CheckpointError(msg)
        dirs = self._chk_dirs()
        complete = [(n, p) for n, p in dirs if self._fs.exists(self._fs.join(p, METADATA))]
        if not complete:
            return
        newest = complete[0][0]
        keep = {p for _, p in complete[:retained]}
        for n, p in dirs:
            if p not in keep and n <= newest:
                self._fs.remove_tree(p)

    def discard(self, path: str) -> None:
        """Delete one checkpoint or savepoint directory (``chk-<n>`` or ``savepoint-...``).

        Raises:
            CheckpointError: ``path`` does not name a checkpoint or savepoint directory.
        """
        backend, resolved = _checkpoint_dir(path)
        name = resolved.rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]
        if checkpoint_id_of(name) is None and not name.startswith("savepoint-"):
            msg = (f"discard {path!r}: expected a chk-<n> or savepoint-... directory, found "
                   f"{name!r}. Hint: strom never deletes other directories.")
            raise CheckpointError(msg, checkpoint=path)
        backend.remove_tree(resolved)

    def __repr__(self) -> str:
        return f"CheckpointStorage({self.job_dir!r})"


def open_storage(base: str | None, job_id: str, *,
                 savepoint_dir: str | None = None) -> CheckpointStorage:
    """Checkpoint storage for one job.

    Args:
        base: ``None`` for process memory (tests: bytes still round-trip), a local path or
            ``file:///abs/path``, or an fsspec URL such as ``s3://bucket/prefix``.
        job_id: the job's id; its checkpoints go to ``<base>/<job_id>/chk-<n>``.
        savepoint_dir: the default target of ``begin_savepoint``.

    Raises:
        CheckpointError: a bad job id, or an fsspec scheme whose package is missing.
    """
    return CheckpointStorage(base, job_id, savepoint_dir)


def latest_complete(base_or_job_dir: str, job_id: str | None = None
                    ) -> tuple[LoadedCheckpoint | None, list[str]]:
    """The newest checkpoint that fully verifies, falling back to older ones.

    Args:
        base_or_job_dir: a job directory (holding ``chk-<n>``), or the base when ``job_id``
            is given.
        job_id: the job whose checkpoints to search under ``base_or_job_dir``.

    Returns:
        The verified checkpoint (``None`` if none verifies) and one human-readable reason for
        each newer checkpoint directory that was skipped.
    """
    backend, directory = _fs.resolve(base_or_job_dir)
    if job_id is not None:
        directory = backend.join(directory, job_id)
    skipped: list[str] = []
    dirs = sorted(((checkpoint_id_of(name), name) for name in backend.listdir(directory)),
                  key=lambda t: -1 if t[0] is None else t[0], reverse=True)
    for n, name in dirs:
        if n is None:
            continue
        path = backend.join(directory, name)
        if not backend.exists(backend.join(path, METADATA)):
            skipped.append(f"{path}: incomplete (no {METADATA}; the job stopped before it "
                           f"was committed)")
            continue
        try:
            loaded = load_checkpoint(path)
            loaded.verify()
        except CheckpointError as exc:
            skipped.append(str(exc))
            continue
        return loaded, skipped
    return None, skipped
