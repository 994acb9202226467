"""The ``remote`` execution target seen from the job's own process: a ``JobClient`` of a job
running on a session cluster takes savepoints and stops it with one, as for a local job."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from strom.cluster.dispatcher import Dispatcher
from strom.cluster.rest import RestServer, create_app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server():
    dispatcher = Dispatcher()
    srv = RestServer(create_app(dispatcher), port=0).start()
    try:
        yield srv
    finally:
        dispatcher.shutdown()
        srv.stop()


def test_job_client_savepoints_of_a_remote_job(server, tmp_path) -> None:
    script = tmp_path / "job.py"
    script.write_text(f"""
import os, time
from strom.api.environment import StreamExecutionEnvironment
from strom.api.sources import NumberSequenceSource
from strom.errors import CheckpointError

def slow(v):
    time.sleep(0.0005)
    return v

env = StreamExecutionEnvironment.get_execution_environment()
env.enable_checkpointing(200)
env.from_source(NumberSequenceSource(0, 10**12), None, "numbers").map(slow) \\
    .key_by(lambda v: v % 4).reduce(lambda a, b: a + b).filter(lambda v: False).print()
client = env.execute_async("remote savepoints")
try:
    client.trigger_savepoint().result(30)
except CheckpointError as exc:
    print("no directory:", "no savepoint directory was given" in str(exc))
path = client.trigger_savepoint({str(tmp_path / "sp")!r}).result(60)
print("savepoint", path, os.path.isfile(os.path.join(path, "_metadata")))
final = client.stop_with_savepoint(False, {str(tmp_path / "final")!r}).result(60)
print("stopped", final, client.get_job_status().result())
""")
    done = subprocess.run([sys.executable, "-m", "strom", "run", "-D", "execution.target=remote",
                           "-D", f"rest.port={server.port}", str(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "no directory: True" in lines
    savepoint = next(line.split() for line in lines if line.startswith("savepoint "))
    assert savepoint[1].startswith(str(tmp_path / "sp")) and savepoint[2] == "True"
    stopped = next(line.split() for line in lines if line.startswith("stopped "))
    assert stopped[1].startswith(str(tmp_path / "final"))
    assert stopped[2] == "JobStatus.FINISHED", stopped
