"""Stored checkpoints under failures: local and S3 storage, corrupted checkpoints, and state
that cannot be stored.

A corrupted newest checkpoint (a flipped byte, a truncated or deleted state file, garbage
``_metadata``) is skipped on restart with its reason recorded, and the job restores the one
before it; with no usable checkpoint left it restarts from its initial state. These jobs use a
FileSink that never rolls before the end: falling back past a checkpoint whose files a sink
already committed cannot be exactly once for any sink (Flink's neither), while an in-progress
file is truncated back to the older checkpoint's length.
"""
from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest

from strom.api.watermarks import WatermarkStrategy
from strom.datastream.functions import KeyedProcessFunction
from strom.errors import CheckpointError, JobExecutionError
from strom.state import ValueStateDescriptor
from tests.fault_tolerance_job import (
    RESTORED,
    Count,
    Events,
    Failures,
    build,
    difference,
    environment,
    expected,
    file_sink,
    finished_lines,
)

pytestmark = pytest.mark.in_process("deterministic checkpoints and timers on a ManualClock")

N = 20_000
EXPECTED = expected(N)
EXPECTED_NO_WINDOW = expected(N, window=False)


@pytest.mark.parametrize("storage", ["local", "s3"])
def test_exactly_once_with_checkpoints_in_storage(executor: str, storage: str, tmp_path: Any,
                                                  s3_server: str) -> None:
    base = str(tmp_path / "checkpoints") if storage == "local" else f"{s3_server}/{uuid.uuid4().hex}"
    env, clock = environment(executor, 2, interval_ms=3000)
    env.get_checkpoint_config().set_checkpoint_storage_dir(base)
    failures = Failures(uuid.uuid4().hex, [9_000, 18_000])
    build(env, clock, N, Count(failures), file_sink(str(tmp_path / "out")))
    result = env.execute("stored")
    # both failures fire; at parallelism 2 the source may run ahead of the failing subtask, so
    # both can hit one attempt
    assert failures.fired == {9_000, 18_000} and result.restarts in (1, 2)
    restored = _restored(failures)  # per attempt, per subtask of the counting function
    assert len(restored) == 2 * (result.restarts + 1)
    assert None not in restored[-2:]  # the last restart used a checkpoint
    paths = [c["path"] for c in result.checkpoints["history"] if c["status"] == "COMPLETED"]
    assert paths and all(p.startswith(base.rstrip("/")) for p in paths)
    got = finished_lines(str(tmp_path / "out"))
    assert got == EXPECTED, difference(got, EXPECTED)


def _restored(failures: Failures) -> list[int | None]:
    return RESTORED[failures.token]


def _complete_checkpoints(base: str) -> list[str]:
    """The ``chk-<n>`` directories holding ``_metadata`` under ``base``, newest first."""
    found = []
    for job in os.listdir(base):
        for name in os.listdir(os.path.join(base, job)):
            path = os.path.join(base, job, name)
            if name.startswith("chk-") and os.path.exists(os.path.join(path, "_metadata")):
                found.append((int(name[4:]), path))
    return [p for _, p in sorted(found, reverse=True)]


def _state_file(chk: str) -> str:
    """The largest state file of a checkpoint (the keyed state of the counting function)."""
    files = [f for f in os.listdir(chk) if f.startswith("op-")]
    return max(files, key=lambda f: os.path.getsize(os.path.join(chk, f)))


def corrupt(chk: str, how: str) -> str:
    """Damage checkpoint directory ``chk``; returns the name of the damaged file."""
    name = "_metadata" if how == "garbage-metadata" else _state_file(chk)
    path = os.path.join(chk, name)
    if how == "flip":
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0x01
        open(path, "wb").write(bytes(data))
    elif how == "truncate":
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 2])
    elif how == "delete":
        os.remove(path)
    else:
        open(path, "wb").write(b"\x00garbage{not json")
    return name


def _job(executor: str, tmp_path: Any, on_record: Any, failures: Failures) -> Any:
    env, clock = environment(executor, 1, interval_ms=1000)
    config = env.get_checkpoint_config()
    config.set_checkpoint_storage_dir(str(tmp_path / "checkpoints"))
    config.configure({"execution.checkpointing.num-retained": "2"})
    build(env, clock, N, Count(failures, on_record), file_sink(str(tmp_path / "out"), "never"),
          window=False)
    return env


@pytest.mark.parametrize("how", ["flip", "truncate", "delete", "garbage-metadata"])
def test_a_corrupted_newest_checkpoint_is_skipped(executor: str, how: str, tmp_path: Any) -> None:
    failures = Failures(uuid.uuid4().hex, [12_345])
    damaged: list[tuple[str, str]] = []

    def damage() -> None:
        newest = _complete_checkpoints(str(tmp_path / "checkpoints"))[0]
        damaged.append((newest, corrupt(newest, how)))

    env = _job(executor, tmp_path, lambda i: failures.fire(i, before=damage), failures)
    result = env.execute("corrupted")
    assert result.restarts == 1
    ((chk, name),) = damaged
    skipped = result.checkpoints["skipped_on_restore"]
    assert len(skipped) == 1 and chk in skipped[0] and name in skipped[0], skipped
    newest_id = int(os.path.basename(chk)[4:])
    assert _restored(failures) == [None, newest_id - 1]  # the one before the corrupted one
    got = finished_lines(str(tmp_path / "out"))
    assert got == EXPECTED_NO_WINDOW, difference(got, EXPECTED_NO_WINDOW)


def test_with_no_usable_checkpoint_left_the_job_restarts_from_its_initial_state(
        executor: str, tmp_path: Any) -> None:
    failures = Failures(uuid.uuid4().hex, [5_000, 14_000])

    def on_record(i: int) -> None:
        if i == 5_000:
            failures.fire(i)  # a plain failure: restores the newest checkpoint

        def damage_all() -> None:
            for chk in _complete_checkpoints(str(tmp_path / "checkpoints")):
                corrupt(chk, "flip")

        failures.fire(i, before=damage_all)

    env = _job(executor, tmp_path, on_record, failures)
    result = env.execute("all corrupted")
    assert result.restarts == 2
    restored = _restored(failures)
    assert restored[0] is None and restored[1] is not None
    assert restored[2] is None, restored  # not the first restart's checkpoint: the initial state
    assert len(result.checkpoints["skipped_on_restore"]) == 2  # both retained ones, no more
    got = finished_lines(str(tmp_path / "out"))
    assert got == EXPECTED_NO_WINDOW, difference(got, EXPECTED_NO_WINDOW)


class Remember(KeyedProcessFunction):
    """Keeps something that cannot be pickled in keyed state."""

    def __init__(self, value: str) -> None:
        self.kind = value

    def open(self, runtime_context: Any) -> None:
        self.held = runtime_context.get_state(ValueStateDescriptor("callback", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        self.held.update((lambda: value) if self.kind == "lambda" else threading.Lock())
        yield f"count:{value[1]}"


def _unpicklable(executor: str, kind: str, tmp_path: Any, tolerated: int) -> Any:
    env, clock = environment(executor, 1, interval_ms=1000, restarts=0)
    env.get_checkpoint_config().set_tolerable_checkpoint_failure_number(tolerated)
    (env.from_source(Events(5000, 2, clock), WatermarkStrategy.no_watermarks(), "events")
     .key_by(lambda v: v[0]).process(Remember(kind)).name("remember")
     .sink_to(file_sink(str(tmp_path / "out"))))
    return env


@pytest.mark.parametrize("kind", ["lambda", "lock"])
def test_unpicklable_state_fails_checkpoints_and_the_job_goes_on(executor: str, kind: str,
                                                                 tmp_path: Any) -> None:
    result = _unpicklable(executor, kind, tmp_path, tolerated=1000).execute("unpicklable")
    failed = [c for c in result.checkpoints["history"] if c["status"] == "FAILED"]
    assert failed and not [c for c in result.checkpoints["history"] if c["status"] == "COMPLETED"]
    for c in failed:
        assert "operator 'remember'" in c["failure"] and "'callback'" in c["failure"], c["failure"]
    assert finished_lines(str(tmp_path / "out")) == {f"count:{i}": 1 for i in range(5000)}


def test_unpicklable_state_with_no_failure_tolerated_fails_the_job(executor: str,
                                                                   tmp_path: Any) -> None:
    env = _unpicklable(executor, "lambda", tmp_path, tolerated=0)
    with pytest.raises(JobExecutionError) as info:
        env.execute("unpicklable")
    cause = info.value.__cause__
    assert isinstance(cause, CheckpointError)
    assert "more than the 0 tolerated" in str(cause) and "operator 'remember'" in str(cause)
    assert "'callback'" in str(cause)
