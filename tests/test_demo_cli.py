"""``strom demo``: JSON lines and summary, exactly-once part files, resume after a kill, the
live view in a pseudo-terminal, and the errors of ``--resume``."""
from __future__ import annotations

import collections
import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from strom.cli import main
from strom.cli.tools import demo_parser
from strom.demo.cli import PIPED_EVENTS, resolve

ROOT = Path(__file__).resolve().parents[1]
TYPES = {"security_alert", "anomaly_alert", "user_metrics", "session_metrics", "dead_letter",
         "late_events"}


def _demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "strom", "demo", *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _summary_counts(text: str) -> dict[str, int]:
    return {m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"^\s+(\w+)\s+([\d,]+)$",
                                                                     text, re.M)}


def _finished_lines(base: Path) -> dict[str, list[str]]:
    """Lines of the finished (visible) part files per output subdirectory."""
    out: dict[str, list[str]] = {}
    for sub in sorted(p for p in base.iterdir() if p.is_dir()):
        lines: list[str] = []
        for part in sorted(sub.iterdir()):
            if not part.name.startswith("."):
                lines.extend(part.read_text(encoding="utf-8").splitlines())
        out[sub.name] = lines
    return out


def test_json_lines_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["demo", "--events", "20000", "--json", "--checkpoint-dir", str(tmp_path / "cp"),
               "--output", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    kinds = collections.Counter(r["type"] for r in records)
    assert kinds["security_alert"] > 0 and kinds["user_metrics"] > 0
    assert set(kinds) <= TYPES
    assert "strom demo done: 20,000 events" in err
    counts = _summary_counts(err)
    assert {k: v for k, v in counts.items() if v} == dict(kinds)
    # --output: the same records, exactly once, in finished part files per type
    files = _finished_lines(tmp_path / "out")
    assert set(files) == TYPES
    for kind in TYPES:
        assert sorted(files[kind]) == sorted(line for line in out.splitlines()
                                             if json.loads(line)["type"] == kind)


def test_resume_after_kill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cp, out = tmp_path / "cp", tmp_path / "out"
    first = subprocess.Popen(_demo("--events", "20000", "--rate", "2000", "--json",
                                   "--checkpoint-dir", str(cp), "--output", str(out)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
    deadline = time.monotonic() + 20
    while not list(cp.glob("*/chk-*/_metadata")) and time.monotonic() < deadline:
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert list(cp.glob("*/chk-*/_metadata")), "no checkpoint within 20 s"
    again = subprocess.run(_demo("--events", "20000", "--json", "--resume",
                                 "--checkpoint-dir", str(cp), "--output", str(out)),
                           capture_output=True, text=True, env=_env(), timeout=60)
    assert again.returncode == 0, again.stderr
    assert re.search(r"resuming from checkpoint \d+ at .*chk-\d+", again.stderr)
    done = re.search(r"strom demo done: ([\d,]+) events", again.stderr)
    assert done, again.stderr
    resumed = int(done[1].replace(",", ""))
    assert 0 < resumed < 20000  # it went on from the checkpoint's position, not from 0
    assert "security_alert" in again.stdout
    # the resumed run finished: the checkpoint it came from is gone, so nothing is left
    assert not list(cp.glob("*/chk-*/_metadata"))
    # exactly once across the kill: the dead letters (a function of the lines alone) are those
    # of a run that was not interrupted, none lost, none twice
    assert main(["demo", "--events", "20000", "--json", "--checkpoint-dir", str(tmp_path / "cp2"),
                 "--output", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    expected = sorted(_finished_lines(tmp_path / "ref")["dead_letter"])
    assert expected and sorted(_finished_lines(out)["dead_letter"]) == expected
    alerts = _finished_lines(out)["security_alert"]
    assert alerts and len(alerts) == len(set(alerts))


def test_resume_without_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["demo", "--resume", "--json", "--checkpoint-dir", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no checkpoint to resume from in" in err and str(tmp_path / "none") in err


def test_live_view_in_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 140, 0, 0))
    env = dict(_env(), TERM="xterm-256color", COLUMNS="140", LINES="50")
    proc = subprocess.Popen(_demo("--events", "5000", "--checkpoint-dir", str(tmp_path / "cp")),
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            screen += data
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(10) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", "replace"))
    assert "\x1b[" in screen.decode("utf-8", "replace")  # drawn, not plain lines
    for heading in ("latest alerts", "top users in the latest window", "watermark",
                    "checkpoint", "dead letters", "late events"):
        assert heading in text
    assert "security" in text
    assert "strom demo done: 5,000 events" in text


def test_defaults_depend_on_the_terminal() -> None:
    parser = demo_parser()
    piped = resolve(parser.parse_args([]), io.StringIO())
    assert piped.json and piped.events == PIPED_EVENTS and piped.rate is None
    rated = resolve(parser.parse_args(["--rate", "50"]), io.StringIO())
    assert rated.events is None and rated.rate == 50


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_defaults() -> None:
    settings = resolve(demo_parser().parse_args([]), _Terminal())
    assert not settings.json and settings.events is None and settings.rate and settings.rate > 0
    bounded = resolve(demo_parser().parse_args(["--events", "10"]), _Terminal())
    assert bounded.rate is None


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--events", "0"])
    assert "expected a number >= 1" in capsys.readouterr().err


def test_ctrl_c_stops_with_a_summary(tmp_path: Path) -> None:
    cp = tmp_path / "cp"
    with open(tmp_path / "out.jsonl", "w+") as stdout:  # a file: a full pipe would stall it
        proc = subprocess.Popen(_demo("--rate", "1000", "--json", "--checkpoint-dir", str(cp)),
                                stdout=stdout, stderr=subprocess.PIPE, text=True, env=_env())
        deadline = time.monotonic() + 20
        while not list(cp.glob("*/chk-*/_metadata")) and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        stdout.seek(0)
        out = stdout.read()
    assert proc.returncode == 0, err
    assert re.search(r"strom demo stopped: [\d,]+ events", err)
    assert "checkpoints completed: " in err and "resume with: strom demo --resume" in err
    assert out.splitlines() and all(json.loads(line)["type"] in TYPES for line in out.splitlines())
    # cancelled, not finished: the last checkpoint is kept for --resume
    assert list(cp.glob("*/chk-*/_metadata"))
