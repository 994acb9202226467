"""The session cluster from the command line, as a user runs it: `strom cluster start`, `strom
run -d`, `strom list`, `strom info`, `strom savepoint`, `strom cancel`, `strom stop`, `strom
cluster status/stop`, each a subprocess, on a free port and a private cluster file; the cluster
is stopped (killed if need be) even when an assertion fails."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

JOB = """
import time
from strom.api.environment import StreamExecutionEnvironment
from strom.api.sources import NumberSequenceSource

def slow(v):
    time.sleep(0.0005)
    return v

env = StreamExecutionEnvironment.get_execution_environment()
env.enable_checkpointing(200)
env.from_source(NumberSequenceSource(0, 10**12), None, "numbers").map(slow) \\
    .key_by(lambda v: v % 4).reduce(lambda a, b: a + b).filter(lambda v: False).print()
env.execute("endless on the cluster")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster_env(tmp_path):
    """Environment variables pointing every `strom` subprocess at a private cluster file and a
    fresh clone of the repository (its committed code, no state from earlier runs); whatever
    the test does, a cluster started there is stopped afterwards."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPO), str(clone)], check=True,
                   capture_output=True, timeout=60)
    env = dict(os.environ)
    env["STROM_CLUSTER_FILE"] = str(tmp_path / "cache" / "cluster.json")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(clone)
    env.pop("STROM_REST_TOKEN", None)
    try:
        yield env
    finally:
        try:
            info = json.loads(Path(env["STROM_CLUSTER_FILE"]).read_text())
        except (OSError, ValueError):
            info = None
        if info:
            subprocess.run([sys.executable, "-m", "strom", "cluster", "stop", "--timeout", "10"],
                           env=env, capture_output=True, timeout=30)
            try:
                os.kill(info["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass


def strom(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "strom", *args], env=env,
                          cwd=env["PYTHONPATH"],
                          capture_output=True, text=True, timeout=timeout)


def _state(env: dict[str, str], jid: str) -> str:
    done = strom(env, "list", "--all", "--json")
    assert done.returncode == 0, done.stderr
    return next(j["state"] for j in json.loads(done.stdout) if j["jid"] == jid)


def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


@pytest.mark.parametrize("executor", ["threads", "local"])
def test_session_cluster_round_trip(cluster_env, tmp_path, executor) -> None:
    env = cluster_env
    port = _free_port()
    job = tmp_path / "job.py"
    job.write_text(JOB)

    assert strom(env, "cluster", "status").returncode == 1  # nothing runs yet
    started = strom(env, "cluster", "start", "--port", str(port), "--slots", "2",
                    "--executor", executor)
    assert started.returncode == 0, started.stderr
    assert f"http://127.0.0.1:{port}" in started.stdout
    version = strom(env, "--version")
    assert version.returncode == 0
    probe = subprocess.run([sys.executable, "-c", "import strom; print(strom.__file__)"],
                           env=env, cwd=env["PYTHONPATH"], capture_output=True, text=True)
    assert probe.stdout.startswith(env["PYTHONPATH"])  # the clone's code, not the work tree
    again = strom(env, "cluster", "start", "--port", str(port))
    assert again.returncode == 1 and "already running" in again.stderr

    status = strom(env, "cluster", "status", "--json")
    assert status.returncode == 0, status.stderr
    overview = json.loads(status.stdout)["overview"]
    assert overview["slots-total"] == 2 and overview["jobs-running"] == 0

    submitted = strom(env, "run", "-d", str(job))
    assert submitted.returncode == 0, submitted.stderr
    match = re.search(r"Job has been submitted with JobID ([0-9a-f]{32})", submitted.stdout)
    assert match, submitted.stdout
    jid = match.group(1)

    listed = strom(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert jid in listed.stdout and "endless on the cluster" in listed.stdout
    assert "RUNNING" in listed.stdout
    info = strom(env, "info", jid[:8])  # a unique prefix is enough
    assert info.returncode == 0, info.stderr
    assert "endless on the cluster" in info.stdout and "PARALLELISM" in info.stdout

    savepoint = strom(env, "savepoint", jid, str(tmp_path / "savepoints"))
    assert savepoint.returncode == 0, savepoint.stderr
    path = savepoint.stdout.split("Path: ")[1].strip()
    assert path.startswith(str(tmp_path / "savepoints")) and os.path.isdir(path)
    listing = strom(env, "checkpoints", path)
    assert listing.returncode == 0, listing.stderr

    cancelled = strom(env, "cancel", jid)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Cancelled job {jid}." in cancelled.stdout
    assert _state(env, jid) == "CANCELED"
    assert jid not in strom(env, "list").stdout  # running jobs only
    assert strom(env, "list").stdout.strip() == "No running jobs."

    # restore the savepoint on the cluster, then stop with a savepoint
    resumed = strom(env, "run", "-d", "-s", path, str(job))
    assert resumed.returncode == 0, resumed.stderr
    jid2 = re.search(r"JobID ([0-9a-f]{32})", resumed.stdout).group(1)
    _until(lambda: _state(env, jid2) == "RUNNING")
    stopped = strom(env, "stop", "--savepoint-path", str(tmp_path / "final"), jid2)
    assert stopped.returncode == 0, stopped.stderr
    assert str(tmp_path / "final") in stopped.stdout
    _until(lambda: _state(env, jid2) == "FINISHED")

    down = strom(env, "cluster", "stop")
    assert down.returncode == 0, down.stderr
    assert not Path(env["STROM_CLUSTER_FILE"]).exists()
    assert strom(env, "cluster", "status").returncode == 1
    assert strom(env, "cluster", "stop").returncode == 1


def test_cluster_commands_without_a_cluster_fail_clearly(cluster_env, tmp_path) -> None:
    env = dict(cluster_env)
    port = _free_port()
    job = tmp_path / "job.py"
    job.write_text(JOB)
    for args in (("list",), ("cancel", "0" * 32), ("savepoint", "0" * 32),
                 ("run", "-d", "-D", f"rest.port={port}", str(job))):
        if args[0] != "run":
            args = (*args, "-m", f"127.0.0.1:{port}")
        done = strom(env, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert "cannot reach the cluster" in done.stderr and "strom cluster start" in done.stderr
        assert "Traceback" not in done.stderr


def test_unknown_job_is_one_line_with_a_hint(cluster_env) -> None:
    env = cluster_env
    port = _free_port()
    assert strom(env, "cluster", "start", "--port", str(port)).returncode == 0
    for args in (("cancel", "f" * 32), ("info", "f" * 32), ("savepoint", "f" * 32),
                 ("stop", "f" * 32)):
        done = strom(env, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "no job" in done.stderr and "strom list --all" in done.stderr
        assert "Traceback" not in done.stderr
    assert strom(env, "cluster", "stop").returncode == 0


def test_a_taken_port_fails_start_with_the_reason(cluster_env) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = strom(cluster_env, "cluster", "start", "--port", str(port))
    assert done.returncode == 1
    assert "exited with status 1" in done.stderr and "is the port in use?" in done.stderr
    assert not Path(cluster_env["STROM_CLUSTER_FILE"]).exists()


def test_a_cluster_with_a_token_refuses_clients_without_it(cluster_env) -> None:
    env = cluster_env
    port = _free_port()
    started = strom(env, "cluster", "start", "--port", str(port), "--token", "s3cret")
    assert started.returncode == 0, started.stderr
    refused = strom(env, "list")
    assert refused.returncode == 1 and "(401)" in refused.stderr
    assert "STROM_REST_TOKEN" in refused.stderr and "Traceback" not in refused.stderr
    assert strom(env, "list", "--token", "wrong").returncode == 1
    assert strom({**env, "STROM_REST_TOKEN": "s3cret"}, "list").returncode == 0
    assert strom(env, "cluster", "status", "--token", "s3cret").returncode == 0
    assert strom(env, "cluster", "stop").returncode == 0
