"""TwoPhaseCommitSinkFunction: exactly-once output of a user transactional sink, through real jobs.

The sink below keeps each transaction as a hidden file that becomes visible on commit; the
jobs fail at chosen records and restart from their checkpoints. Visible output must equal a
failure-free run's exactly (no loss, no duplicates), on every executor and parallelism.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from strom.common.restart_strategy import RestartStrategies
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.functions import TwoPhaseCommitSinkFunction
from strom.errors import JobExecutionError
from strom.time.clock import ManualClock

pytestmark = pytest.mark.in_process("deterministic checkpoints and timers on a ManualClock; failure points in a registry of the test's process")

N = 20_000


class FileTransactions(TwoPhaseCommitSinkFunction):
    """A transaction is a hidden file; commit renames it to a visible one (idempotent)."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory
        self.commits = 0

    def begin_transaction(self) -> dict[str, Any]:
        return {"path": os.path.join(self.directory, f".txn-{uuid.uuid4().hex}"), "lines": []}

    def invoke(self, transaction: dict[str, Any], value: Any, context: Any) -> None:
        transaction["lines"].append(str(value))

    def pre_commit(self, transaction: dict[str, Any]) -> None:
        with open(transaction["path"], "w") as f:
            f.write("".join(line + "\n" for line in transaction["lines"]))
        transaction["lines"] = []

    def commit(self, transaction: dict[str, Any]) -> None:
        path = transaction["path"]
        if os.path.exists(path):
            os.replace(path, path.replace("/.txn-", "/txn-"))

    def abort(self, transaction: dict[str, Any]) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(transaction["path"])


def visible_lines(directory: Path) -> list[str]:
    lines: list[str] = []
    for f in sorted(directory.iterdir()):
        if not f.name.startswith("."):
            lines.extend(f.read_text().splitlines())
    return sorted(lines)


class FailAt:
    """A map that raises once at each of the given values (across restarts: state in a file)."""

    def __init__(self, values: list[int], marker: Path) -> None:
        self.values = set(values)
        self.marker = str(marker)

    def __call__(self, value: int) -> int:
        if value in self.values:
            done = set(Path(self.marker).read_text().split()) if os.path.exists(self.marker) else set()
            if str(value) not in done:
                with open(self.marker, "a") as f:
                    f.write(f"{value}\n")
                raise RuntimeError(f"injected failure at {value}")
        return value


def ticking(clock: ManualClock) -> Any:
    """A map advancing the job's ManualClock by 1 ms per record, so checkpoints come every few
    records (a closure: function objects are deep-copied per subtask, closures keep the clock)."""

    def tick(value: int) -> int:
        clock.advance(1)
        return value

    return tick


def run(tmp: Path, executor: str, parallelism: int, fail_at: list[int]) -> tuple[list[str], Any]:
    out = tmp / f"out-{executor}-{parallelism}-{len(fail_at)}"
    out.mkdir()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.set_parallelism(parallelism)
    env.clock = clock = ManualClock(0)
    env.enable_checkpointing(50)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(len(fail_at) + 1, 0))
    (env.from_collection(list(range(N)))
        .map(ticking(clock))
        .map(FailAt(fail_at, tmp / f"failed-{executor}-{parallelism}"))
        .key_by(lambda v: v % 10)
        .reduce(lambda a, b: a + b)
        .add_sink(FileTransactions(str(out))))
    result = env.execute("two-phase commit")
    return visible_lines(out), result


@pytest.mark.parametrize("parallelism", [1, 2])
def test_failures_leave_exactly_the_failure_free_output(tmp_path: Path, executor: str,
                                                        parallelism: int) -> None:
    expected, clean = run(tmp_path, executor, parallelism, [])
    assert clean.restarts == 0 and len(expected) == N
    got, result = run(tmp_path, executor, parallelism, [3_001, 9_999, 15_000])
    # each injected failure happens once; at parallelism 2 on threads two of them may fail the
    # same attempt (the source runs ahead of the failing subtask), so 2 or 3 restarts
    assert result.restarts == 3 or (parallelism == 2 and result.restarts == 2)
    failed = (tmp_path / f"failed-{executor}-{parallelism}").read_text().split()
    assert sorted(failed) == ["15000", "3001", "9999"]
    assert result.checkpoints["counts"]["completed"] > 0
    assert got == expected


def test_without_checkpointing_the_whole_output_commits_when_the_job_ends(tmp_path: Path,
                                                                          executor: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    sink = FileTransactions(str(tmp_path))
    env.from_collection(list(range(100))).add_sink(sink)
    env.execute()
    assert visible_lines(tmp_path) == sorted(str(i) for i in range(100))
    assert len(list(tmp_path.iterdir())) == 1  # one transaction, committed


def test_a_failed_job_leaves_nothing_visible_and_no_open_transaction(tmp_path: Path,
                                                                     executor: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.from_collection(list(range(100))).map(FailAt([50], tmp_path / "m")).add_sink(
        FileTransactions(str(tmp_path)))
    with pytest.raises(JobExecutionError, match="injected failure at 50"):
        env.execute()
    assert [f.name for f in tmp_path.iterdir()] == ["m"]  # the open transaction was aborted
