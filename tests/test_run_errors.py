"""What a user sees from `strom run` when things go wrong, tried as a new user would, in a real
subprocess: a failing record prints the job's error line, the user's own frames and a hint
(strom's internal frames only with --verbose or STROM_DEBUG=1), on the embedded runtime and on
TaskManager processes; Ctrl-C cancels the job cleanly (close() runs, one line, exit 130); the
progress line of a bounded job."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FAILING = """\
from pyflink.datastream import StreamExecutionEnvironment


def parse(line):
    return int(line)


env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection(["1", "2", "x"]).map(parse).print()
env.execute("parsing")
"""


def _run(tmp_path: Path, source: str, *options: str, env: dict[str, str] | None = None,
         name: str = "job.py") -> subprocess.CompletedProcess:
    script = tmp_path / name
    script.write_text(source)
    return subprocess.run([sys.executable, "-m", "strom", "run", *options, str(script)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "STROM_DEBUG": "", **(env or {})})


@pytest.mark.parametrize("parallelism", ["1", "2"], ids=["embedded", "taskmanagers"])
def test_a_failing_record_shows_the_error_the_users_frame_and_a_hint(tmp_path,
                                                                     parallelism) -> None:
    done = _run(tmp_path, FAILING, "-D", f"parallelism.default={parallelism}")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("strom run: job 'parsing' failed: operator 'Map'")
    assert "failed on element 'x'" in lines[0] and "ValueError: invalid literal" in lines[0]
    assert f'File "{tmp_path / "job.py"}", line 5, in parse' in done.stderr
    assert "    return int(line)" in lines
    assert lines[-1].startswith("hint: ") and "--verbose" in lines[-1]
    assert "Traceback (most recent call last)" not in done.stderr
    assert f"{os.sep}strom{os.sep}" not in done.stderr.replace(str(tmp_path), "")
    assert len(lines) <= 6


@pytest.mark.parametrize("how", ["--verbose", "STROM_DEBUG=1"])
def test_verbose_or_strom_debug_show_the_internal_frames(tmp_path, how) -> None:
    options, env = (["--verbose"], None) if how == "--verbose" else ([], {"STROM_DEBUG": "1"})
    done = _run(tmp_path, FAILING, *options, env=env)
    assert done.returncode == 1
    assert done.stderr.startswith("strom run: job 'parsing' failed: operator 'Map'")
    assert "Traceback (most recent call last)" in done.stderr
    assert f"strom{os.sep}runtime{os.sep}" in done.stderr
    assert "UserFunctionError" in done.stderr and "ValueError" in done.stderr


def test_an_error_in_the_script_itself_points_at_its_line(tmp_path) -> None:
    done = _run(tmp_path, "import os\n\nprint(undefined_name)\n")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "strom run: NameError: name 'undefined_name' is not defined"
    assert f'File "{tmp_path / "job.py"}", line 3, in <module>' in done.stderr
    assert "runpy" not in done.stderr and "Traceback (most recent" not in done.stderr


def test_a_script_that_does_not_parse_names_file_and_line(tmp_path) -> None:
    done = _run(tmp_path, "x = (1,\n")
    assert done.returncode == 1
    assert "SyntaxError" in done.stderr and "job.py" in done.stderr and "line 1" in done.stderr
    assert "Traceback" not in done.stderr


ENDLESS = """\
import sys
import time

from pyflink.common import WatermarkStrategy
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.number_seq import NumberSequenceSource
from pyflink.datastream.functions import MapFunction

MARK = sys.argv[1]


class Slow(MapFunction):
    def open(self, runtime_context):
        with open(MARK + ".open", "a") as f:
            f.write("opened\\n")

    def map(self, value):
        time.sleep(0.005)
        return value

    def close(self):
        with open(MARK, "a") as f:
            f.write("closed\\n")


env = StreamExecutionEnvironment.get_execution_environment()
env.from_source(NumberSequenceSource(0, 10**12), WatermarkStrategy.no_watermarks(), "numbers") \\
    .map(Slow()).filter(lambda v: False).print()
env.execute("endless")
"""


def _interrupt(tmp_path: Path, args: list[str], ready) -> tuple[int, str]:
    """Start `strom run ARGS`, press Ctrl-C once ``ready()``; its exit status and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "strom", "run", *args], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a shell
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the script did not get ready"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


@pytest.mark.parametrize("parallelism", ["1", "2"], ids=["embedded", "taskmanagers"])
def test_ctrl_c_cancels_the_job_cleanly(tmp_path, parallelism) -> None:
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS)
    mark = tmp_path / "closed"
    opened = Path(f"{mark}.open")
    code, err = _interrupt(
        tmp_path, ["-D", f"parallelism.default={parallelism}", str(script), str(mark)],
        lambda: opened.exists() and len(opened.read_text().splitlines()) == int(parallelism))
    assert code == 130, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [
        "strom run: Ctrl-C: the job 'endless' was cancelled"]
    assert mark.read_text().splitlines() == ["closed"] * int(parallelism)


def test_ctrl_c_while_no_job_runs_says_so(tmp_path) -> None:
    script = tmp_path / "waits.py"
    script.write_text("import pathlib, sys, time\npathlib.Path(sys.argv[1]).touch()\n"
                      "time.sleep(60)\n")
    ready = tmp_path / "ready"
    code, err = _interrupt(tmp_path, [str(script), str(ready)], ready.exists)
    assert code == 130
    assert err.strip() == "strom run: Ctrl-C: interrupted (no job was running)"


BOUNDED = """\
from pyflink.datastream import StreamExecutionEnvironment

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection(list(range(3000))).map(lambda v: v * 2).filter(lambda v: False).print()
env.execute("bounded")
"""


def test_progress_shows_records_and_rate_only_when_asked_or_on_a_terminal(tmp_path) -> None:
    shown = _run(tmp_path, BOUNDED, "--progress")
    assert shown.returncode == 0, shown.stderr
    summary = [line for line in shown.stderr.splitlines() if "source records" in line]
    assert len(summary) == 1 and "job 'bounded' finished: 3,000 source records" in summary[0]
    assert "/s)" in summary[0]
    quiet = _run(tmp_path, BOUNDED)  # stderr is a pipe here, not a terminal
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.parametrize(("returned", "named"), [
    ("'late'", "returned 'late' of type str"),
    ("None", "returned None of type NoneType"),
    ("1.5", "returned 1.5 of type float"),
    ("True", "returned True of type bool"),
])
def test_a_timestamp_assigner_returning_no_int_fails_at_the_assigner(env, returned,
                                                                    named) -> None:
    from strom.api.watermarks import WatermarkStrategy
    from strom.datastream.window import TumblingEventTimeWindows
    from strom.errors import JobExecutionError, UserFunctionError, find_cause

    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
        eval(f"lambda value, previous: {returned}"))  # noqa: S307 - the parametrized literal
    env.from_collection([1, 2, 3]).assign_timestamps_and_watermarks(strategy).name("stamp") \
        .key_by(lambda v: v % 2).window(TumblingEventTimeWindows.of(1000)) \
        .reduce(lambda a, b: a + b).print()
    with pytest.raises(JobExecutionError) as failed:
        env.execute("stamped")
    cause = find_cause(failed.value, UserFunctionError)
    assert cause is not None and cause.operator == "stamp" and cause.element == 1
    message = str(cause)
    assert "operator 'stamp'" in message and named in message
    assert "expected an int (milliseconds since the epoch)" in message and "Hint:" in message
    assert "has no timestamp" not in str(failed.value)


def test_an_integral_timestamp_of_another_type_is_taken_as_an_int(env) -> None:
    from strom.api.functions import ProcessFunction
    from strom.api.watermarks import WatermarkStrategy

    class Millis(int):
        """An integral number that is not an int (as numpy's int64 is)."""

    class Stamps(ProcessFunction):
        def process_element(self, value, ctx):
            yield value, type(ctx.timestamp()).__name__, ctx.timestamp()

    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
        lambda value, previous: Millis(value * 1000))
    got = list(env.from_collection([1, 2]).assign_timestamps_and_watermarks(strategy)
               .process(Stamps()).execute_and_collect())
    assert sorted(got) == [(1, "int", 1000), (2, "int", 2000)]


def _on_a_terminal(tmp_path: Path, source: str) -> str:
    """What `strom run` writes to a terminal (stdout and stderr both on one pty)."""
    import pty

    script = tmp_path / "job.py"
    script.write_text(source)
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes strom run on the pty
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "strom", "run", str(script)])
    out = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the pty
            break
        if not data:
            break
        out += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_on_a_terminal_the_progress_line_shows_and_gives_way_to_printed_output(tmp_path):
    quiet_job = _on_a_terminal(tmp_path, BOUNDED)
    assert " records " in quiet_job and "/s" in quiet_job  # the live line
    assert "job 'bounded' finished: 3,000 source records" in quiet_job
    printing = BOUNDED.replace(".filter(lambda v: False)", "")
    printed = _on_a_terminal(tmp_path, printing)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", printed).replace("\r\n", "\n")
    numbers = [line.lstrip("\r") for line in shown.split("\n") if line.lstrip("\r").isdigit()]
    assert numbers == [str(v * 2) for v in range(3000)]  # every line whole, none redrawn over
    assert printed.count("\x1b[2K") <= 4  # the live line stopped at the first printed line
