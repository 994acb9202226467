"""The `strom` command line (strom.cli): help on every command, exit codes, options after the
script passed to it, clear one-line errors, and the `remote` execution target attached (result
and the cluster's traceback) against an in-process REST server."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from strom.cli import main
from strom.cluster.dispatcher import Dispatcher
from strom.cluster.rest import RestServer, create_app

REPO = Path(__file__).resolve().parent.parent

COMMANDS = (["run"], ["list"], ["cancel"], ["savepoint"], ["stop"], ["info"], ["cluster"],
            ["cluster", "start"], ["cluster", "stop"], ["cluster", "status"], ["checkpoints"],
            ["alias"])


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: strom " + " ".join(command) in " ".join(out.split())


def test_top_level_help_lists_the_commands(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("run", "list", "cancel", "savepoint", "stop", "info", "cluster",
                 "checkpoints", "alias", "demo"):
        assert name in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("strom ")


def test_demo_help_is_the_demo_parsers(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--help"])
    assert exit_.value.code == 0
    assert "--events" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys, tmp_path) -> None:
    assert main(["no-such-command"]) == 2
    assert main(["run"]) == 2
    assert main(["run", str(tmp_path / "missing.py")]) == 2
    assert "no such job script" in capsys.readouterr().err
    script = tmp_path / "job.py"
    script.write_text("")
    assert main(["run", "-D", "novalue", str(script)]) == 2
    assert "-D expects key=value" in capsys.readouterr().err
    assert main(["run", "-d", "--web", str(script)]) == 2
    assert "choose one" in capsys.readouterr().err
    assert main(["cluster", "start", "--taskmanagers", "0"]) == 2


def test_a_malformed_jobmanager_address_is_one_line(capsys) -> None:
    assert main(["list", "-m", "localhost"]) == 1
    err = capsys.readouterr().err
    assert "expects HOST:PORT" in err and len(err.strip().splitlines()) == 1


def test_arguments_after_the_script_belong_to_the_script(tmp_path) -> None:
    script = tmp_path / "args.py"
    script.write_text("import sys; print(sys.argv[1:])\n")
    done = subprocess.run([sys.executable, "-m", "strom", "run", str(script), "--input", "x",
                           "-x", "--", "-s", "y", "-d", "--web"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['--input', 'x', '-x', '-s', 'y', '-d', '--web']"


@pytest.mark.parametrize("option", ["-D", "-Dparallelism.default=2", "--web", "-d", "-s",
                                    "--verbose", "--from-savepoint=x"])
def test_an_option_of_strom_run_after_the_script_is_refused(option, tmp_path, capsys) -> None:
    script = tmp_path / "args.py"
    script.write_text("raise SystemExit('the script must not run')\n")
    assert main(["run", str(script), "--input", "x", option, "parallelism.default=2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"{option} comes after the script's name" in err and "before FILE" in err
    assert "after --" in err


def test_run_usage_marks_only_the_script_as_required(capsys) -> None:
    assert main(["run"]) == 2
    usage = " ".join(capsys.readouterr().err.split())
    assert "strom run [OPTIONS] {FILE} [SCRIPT ARGS]..." in usage
    assert "Missing argument 'FILE'" in usage


@pytest.fixture
def server():
    dispatcher = Dispatcher()
    srv = RestServer(create_app(dispatcher), port=0).start()
    try:
        yield srv
    finally:
        dispatcher.shutdown()
        srv.stop()


def test_remote_target_attached_returns_the_result(server, tmp_path) -> None:
    out = tmp_path / "out.txt"
    script = tmp_path / "job.py"
    script.write_text(f"""
from strom.api.environment import StreamExecutionEnvironment

def write(v):
    with open({str(out)!r}, "a") as f:
        f.write(f"{{v}}\\n")
    return v

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection([1, 2, 3]).map(lambda v: v * 2).map(write).filter(lambda v: False).print()
result = env.execute("attached")
print("done", result.get_job_id())
""")
    done = subprocess.run([sys.executable, "-m", "strom", "run", "-D", "execution.target=remote",
                           "-D", f"rest.port={server.port}", str(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "waiting for it to end" in done.stderr
    assert done.stdout.split()[0] == "done" and len(done.stdout.split()[1]) == 32
    assert sorted(out.read_text().split()) == ["2", "4", "6"]


def test_remote_target_failure_carries_the_cluster_traceback(server, tmp_path) -> None:
    script = tmp_path / "job.py"
    script.write_text("""
from strom.api.environment import StreamExecutionEnvironment

def explode(v):
    raise RuntimeError(f"bad element {v}")

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection([7]).map(explode).name("exploder").print()
env.execute("failing remotely")
""")
    done = subprocess.run([sys.executable, "-m", "strom", "run", "-D", "execution.target=remote",
                           "-D", f"rest.port={server.port}", str(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "failed on the cluster" in done.stderr and "bad element 7" in done.stderr
    assert "exploder" in done.stderr and "the cluster's traceback" in done.stderr


def test_an_unpicklable_function_fails_strom_run_d_naming_it(server, tmp_path) -> None:
    script = tmp_path / "job.py"
    script.write_text("""
import threading
from strom.api.environment import StreamExecutionEnvironment

lock = threading.Lock()

def guarded(v):
    with lock:
        return v

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection([1]).map(guarded).print()
env.execute("unpicklable")
""")
    done = subprocess.run([sys.executable, "-m", "strom", "run", "-d", "-D",
                           f"rest.port={server.port}", str(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "function guarded" in err and "global lock" in err and "cannot be pickled" in err


def test_modules_next_to_the_script_travel_with_the_job(server, tmp_path) -> None:
    (tmp_path / "job_helpers.py").write_text("def triple(v):\n    return v * 3\n")
    out = tmp_path / "out.txt"
    script = tmp_path / "job.py"
    script.write_text(f"""
from job_helpers import triple
from strom.api.environment import StreamExecutionEnvironment

def write(v):
    with open({str(out)!r}, "a") as f:
        f.write(f"{{v}}\\n")
    return v

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection([1, 2]).map(triple).map(write).filter(lambda v: False).print()
env.execute("with a helper module")
""")
    assert "job_helpers" not in sys.modules  # the cluster (this process) cannot import it
    done = subprocess.run([sys.executable, "-m", "strom", "run", "-D", "execution.target=remote",
                           "-D", f"rest.port={server.port}", str(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(out.read_text().split()) == ["3", "6"]


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
