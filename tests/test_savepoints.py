"""Savepoints: JobClient.trigger_savepoint / stop_with_savepoint, restore (also rescaled) from
them and from retained checkpoints, ``strom run -s``, and recovery after a SIGKILL.

Every comparison is against an uninterrupted run of the same job (tests/savepoint_job.py):
the sorted lines of the FileSink's finished files must be identical (no loss, no duplicates).
"""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time

import pytest

from strom.datastream import StreamExecutionEnvironment
from strom.errors import CheckpointError, JobExecutionError
from strom.runtime.job import JobStatus
from tests.savepoint_job import Events, build, finished_lines

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLOW = 0.002  # s per record: the job runs long enough to be stopped midway


def environment(executor: str, parallelism: int = 2) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.set_parallelism(parallelism)
    return env


def uninterrupted(tmp_path) -> list[str]:
    out = str(tmp_path / "reference")
    env = environment("inline")
    build(env, out, Events())
    env.execute("reference")
    return finished_lines(out)


def stop_midway(executor: str, out: str, savepoints: str, *, drain: bool = False,
                parallelism: int = 2, **job) -> str:
    """Run the slow job, stop it with a savepoint after a while; returns the savepoint path."""
    env = environment(executor, parallelism)
    build(env, out, Events(delay=SLOW), **job)
    client = env.execute_async("savepoint job")
    time.sleep(0.15)
    path = client.stop_with_savepoint(drain, savepoints).result(20)
    assert client.get_job_status().result() is JobStatus.FINISHED
    return path


def restore(executor: str, out: str, path: str, *, parallelism: int = 2, allow: bool = False,
            max_parallelism: int | None = None, **job) -> None:
    env = environment(executor, parallelism)
    if max_parallelism is not None:
        env.set_max_parallelism(max_parallelism)
    env.get_checkpoint_config().restore_path = path
    env.get_checkpoint_config().allow_non_restored_state = allow
    build(env, out, Events(), **job)
    env.execute("restored job")


# -- stop with savepoint, restore ------------------------------------------------------------------

def test_stop_without_drain_emits_nothing_after_the_savepoint_and_restore_completes_it(tmp_path, executor):
    expected = uninterrupted(tmp_path)
    out = str(tmp_path / "out")
    path = stop_midway(executor, out, str(tmp_path / "sp"))
    stopped = finished_lines(out)
    assert not [line for line in stopped if not line.startswith("run ")]  # no timer, no window fired
    assert os.path.isfile(os.path.join(path, "_metadata"))
    restore(executor, out, path)
    assert finished_lines(out) == expected


def test_stop_with_drain_fires_every_event_time_window_and_timer_first(tmp_path, executor):
    out = str(tmp_path / "out")
    stop_midway(executor, out, str(tmp_path / "sp"), drain=True)
    lines = finished_lines(out)
    runs = [line.split() for line in lines if line.startswith("run ")]
    assert 0 < len(runs) < len(Events().all())  # stopped midway
    final = {}  # key -> (count, sum) after its last record read
    for _, key, count, total in runs:
        final[key] = max(final.get(key, (0, 0)), (int(count), int(total)))
    timers = [line.split() for line in lines if line.startswith("timer ")]
    assert {t[1] for t in timers} == set(final)
    assert all((int(t[3]), int(t[4])) == final[t[1]] for t in timers)  # fired at MAX_WATERMARK
    windows = [line.split() for line in lines if line.startswith("window ")]
    per_key: dict[str, int] = {}
    for _, key, _, total in windows:
        per_key[key] = per_key.get(key, 0) + int(total)
    assert per_key == {key: total for key, (_, total) in final.items()}


@pytest.mark.parametrize("new_parallelism", [1, 3])
def test_restore_at_another_parallelism_gives_the_uninterrupted_result(tmp_path, executor, new_parallelism):
    expected = uninterrupted(tmp_path)
    out = str(tmp_path / "out")
    path = stop_midway(executor, out, str(tmp_path / "sp"), parallelism=2)
    restore(executor, out, path, parallelism=new_parallelism)
    assert finished_lines(out) == expected


def test_trigger_savepoint_keeps_the_job_running(tmp_path, executor):
    env = environment(executor)
    env.get_checkpoint_config().savepoint_dir = str(tmp_path / "configured")
    out = str(tmp_path / "out")
    build(env, out, Events(delay=SLOW))
    client = env.execute_async("savepoint job")
    time.sleep(0.05)
    path = client.trigger_savepoint().result(20)
    assert path.startswith(str(tmp_path / "configured"))
    client.wait(30)
    assert client.get_job_status().result() is JobStatus.FINISHED
    assert finished_lines(out) == uninterrupted(tmp_path)
    with pytest.raises(CheckpointError, match="FINISHED, not running"):
        client.trigger_savepoint(str(tmp_path)).result(5)


def test_savepoint_without_a_directory_fails_naming_the_setting(tmp_path, executor):
    env = environment(executor)
    build(env, str(tmp_path / "out"), Events(delay=SLOW))
    client = env.execute_async("savepoint job")
    with pytest.raises(CheckpointError, match="execution.checkpointing.savepoint-dir"):
        client.trigger_savepoint().result(5)
    client.cancel().result(10)


# -- savepoints that do not fit the job ------------------------------------------------------------

def test_state_of_a_removed_operator_fails_unless_allowed(tmp_path, executor):
    out = str(tmp_path / "out")
    path = stop_midway(executor, out, str(tmp_path / "sp"))
    # the removed window is named; its formatting map held no state and does not count
    with pytest.raises(JobExecutionError, match=r"operator 'Window\(.*\)' \(id 'window-sum'\) which "
                       "this job does not have"):
        restore(executor, out, path, with_window=False)
    restore(executor, out, path, with_window=False, allow=True)
    assert any(line.startswith("timer ") for line in finished_lines(out))


def test_state_that_changed_its_kind_fails_naming_the_state(tmp_path, executor):
    out = str(tmp_path / "out")
    path = stop_midway(executor, out, str(tmp_path / "sp"))
    with pytest.raises(JobExecutionError, match=r"operator '.*' \(id 'running-sum'\): state 'sum' "
                       "is value state .* as list state"):
        restore(executor, out, path, list_state=True)


def test_a_changed_max_parallelism_fails_clearly(tmp_path, executor):
    out = str(tmp_path / "out")
    path = stop_midway(executor, out, str(tmp_path / "sp"))
    with pytest.raises(JobExecutionError, match="max parallelism 128 but the job now has 64"):
        restore(executor, out, path, max_parallelism=64)


# -- the command line -----------------------------------------------------------------------------

def strom_run(*args: str, delay: float = 0.0) -> subprocess.Popen:
    env = dict(os.environ, STROM_TEST_DELAY=str(delay))
    return subprocess.Popen([sys.executable, "-m", "strom", "run", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_then_restore_from_the_checkpoint_dir_loses_and_duplicates_nothing(tmp_path):
    expected = uninterrupted(tmp_path)
    out, checkpoints = str(tmp_path / "out"), str(tmp_path / "checkpoints")
    job = strom_run("tests/savepoint_job.py", out, checkpoints, delay=0.01)
    deadline = time.monotonic() + 10
    while not glob.glob(os.path.join(checkpoints, "*", "chk-*", "_metadata")):
        assert job.poll() is None, job.communicate()
        assert time.monotonic() < deadline, "no checkpoint completed within 10 s"
        time.sleep(0.01)
    os.kill(job.pid, signal.SIGKILL)
    job.communicate()
    assert job.returncode == -signal.SIGKILL
    assert finished_lines(out) != expected
    again = strom_run("-s", checkpoints, "tests/savepoint_job.py", out, str(tmp_path / "second"))
    stdout, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    assert "restoring from" in stderr and "the newest complete one under" in stderr
    assert finished_lines(out) == expected


def test_run_from_a_missing_savepoint_is_one_clear_message(tmp_path):
    job = strom_run("-s", str(tmp_path / "nothing"), "tests/savepoint_job.py", str(tmp_path / "out"))
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 2
    assert "no such file or directory" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_run_from_a_savepoint_that_does_not_fit_is_one_clear_message(tmp_path):
    path = stop_midway("inline", str(tmp_path / "first"), str(tmp_path / "sp"))
    job = strom_run("-s", os.path.join(path, "_metadata"), "-D", "pipeline.max-parallelism=64",
                    "tests/savepoint_job.py", str(tmp_path / "out"))
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 1
    assert "Traceback" not in stderr
    assert "max parallelism 128 but the job now has 64" in stderr.strip().splitlines()[-1]


def test_run_with_a_malformed_dynamic_property_says_what_it_expects(tmp_path):
    job = strom_run("-D", "nonsense", "tests/savepoint_job.py", str(tmp_path / "out"))
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 2 and "-D expects key=value" in stderr
