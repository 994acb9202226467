"""The log-analysis demo (strom/demo) end to end, against an independent plain-Python model.

The model (:class:`Reference`) applies the pipeline's rules to the generated lines in arrival
order, with Flink's window semantics (firing when the watermark passes a window's end, allowed
lateness with re-firing, late output, inclusive session merging) and the watermark of a bounded
out-of-orderness generator. Periodic watermarks follow processing time, so a job sees the
watermark of some recent line, not exactly of the previous one: the test input is checked to
give the same output whether the watermark is that of the previous line or up to LAG lines
older, so every schedule the runtime may take gives that output. The jobs tick a ManualClock
one auto-watermark interval per line so that watermarks advance deterministically often.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from strom.common import WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.datastream import SinkFunction, StreamExecutionEnvironment
from strom.demo.generator import GeneratorConfig, LogGenerator
from strom.demo.pipeline import OUTPUTS, PipelineConfig, build, file_sinks, parse_line, to_json
from strom.time.clock import ManualClock

pytestmark = pytest.mark.in_process("a ManualClock paces the job; results and metrics are read in this process")

GEN = GeneratorConfig(users=10, events=6_000, seed=7, mean_gap_ms=500, late=0.01,
                      malformed=0.01, anomalies=0.01)
RULES = PipelineConfig()
LINES = list(LogGenerator(GEN).lines())
LAG = 1_100  # lines: more than a source step (1024) between two periodic watermarks
TICK_MS = 200  # the default auto-watermark interval: a periodic emit is due after every line
MIN = -(2**63)


class Reference:
    """The pipeline's rules in plain Python, fed line by line with a given watermark."""

    def __init__(self, rules: PipelineConfig) -> None:
        self.r = rules
        self.out: list[dict[str, Any]] = []
        self.failures: dict[str, list[int]] = {}
        self.logins: dict[str, tuple[int, bool]] = {}
        self.windows: dict[tuple[str, int], dict[str, Any]] = {}  # (user, start) -> window
        self.sessions: dict[str, list[dict[str, Any]]] = {}
        self.wm = MIN

    def advance(self, wm: int) -> None:
        """The watermark moves to ``wm``: timers fire, windows fire and are purged."""
        if wm <= self.wm:
            return
        self.wm = wm
        r = self.r
        for user, times in self.failures.items():
            self.failures[user] = [f for f in times if f + r.failed_window_ms > wm]
        for key, w in list(self.windows.items()):
            if not w["fired"] and w["end"] - 1 <= wm:
                self._emit_window(key, w)
            if w["end"] - 1 + r.allowed_lateness_ms <= wm:
                del self.windows[key]
        for user, sessions in self.sessions.items():
            for s in sessions:
                if not s["fired"] and s["end"] - 1 <= wm:
                    self._emit_session(user, s)
            sessions[:] = [s for s in sessions if s["end"] - 1 + r.allowed_lateness_ms > wm]

    def _emit_window(self, key: tuple[str, int], w: dict[str, Any]) -> None:
        w["fired"] = True
        counts = dict(sorted(w["counts"].items()))
        self.out.append({"type": "user_metrics", "user_id": key[0], "window_start": key[1],
                         "window_end": w["end"], "counts": counts, "total": sum(counts.values())})

    def _emit_session(self, user: str, s: dict[str, Any]) -> None:
        s["fired"] = True
        self.out.append({"type": "session_metrics", "user_id": user, "session_start": s["first"],
                         "session_end": s["last"], "events": s["n"],
                         "duration_ms": s["last"] - s["first"]})

    def line(self, line: str) -> None:
        event, reason = parse_line(line)
        if event is None:
            self.out.append({"type": "dead_letter", "reason": reason, "line": line})
            return
        self._security(event)
        self._anomaly(event)
        self._window(event)
        self._session(event)

    def _security(self, e: dict[str, Any]) -> None:
        t, user, r = e["timestamp"], e["user_id"], self.r
        if e["action"] != "login_failed" or t <= self.wm:
            return
        times = self.failures.setdefault(user, [])
        times.append(t)
        recent = [f for f in times if t - r.failed_window_ms < f <= t]
        if len(recent) >= r.failed_logins:
            self.out.append({"type": "security_alert", "user_id": user, "failures": len(recent),
                             "first_ms": min(recent), "last_ms": t})
            times[:] = [f for f in times if f > t]

    def _anomaly(self, e: dict[str, Any]) -> None:
        t, user, action = e["timestamp"], e["user_id"], e["action"]
        last = self.logins.get(user)
        if action == "login":
            if last is None or t > last[0]:
                self.logins[user] = (t, False)
        elif action in ("view", "purchase", "download") and last is not None:
            if t - last[0] > self.r.stale_login_ms and not last[1]:
                self.logins[user] = (last[0], True)
                self.out.append({"type": "anomaly_alert", "user_id": user, "action": action,
                                 "ms_since_login": t - last[0]})

    def _late(self, window: str, e: dict[str, Any]) -> None:
        self.out.append({"type": "late_events", "window": window, "event": e})

    def _window(self, e: dict[str, Any]) -> None:
        t, size = e["timestamp"], self.r.metrics_window_ms
        start = t - t % size
        if start + size - 1 + self.r.allowed_lateness_ms <= self.wm:
            self._late("user_metrics", e)
            return
        key = (e["user_id"], start)
        w = self.windows.setdefault(key, {"end": start + size, "counts": {}, "fired": False})
        w["counts"][e["action"]] = w["counts"].get(e["action"], 0) + 1
        if w["end"] - 1 <= self.wm:  # a late element within the allowed lateness: fire again
            self._emit_window(key, w)

    def _session(self, e: dict[str, Any]) -> None:
        t, user = e["timestamp"], e["user_id"]
        sessions = self.sessions.setdefault(user, [])
        new = {"start": t, "end": t + self.r.session_gap_ms, "n": 1, "first": t, "last": t,
               "fired": False}
        touching = [s for s in sessions if s["start"] <= new["end"] and s["end"] >= new["start"]]
        for s in touching:
            sessions.remove(s)
            new = {"start": min(s["start"], new["start"]), "end": max(s["end"], new["end"]),
                   "n": s["n"] + new["n"], "first": min(s["first"], new["first"]),
                   "last": max(s["last"], new["last"]), "fired": False}
        if new["end"] - 1 + self.r.allowed_lateness_ms <= self.wm:
            self._late("session_metrics", e)
            return
        sessions.append(new)
        if new["end"] - 1 <= self.wm:
            self._emit_session(user, new)

    def finish(self) -> list[str]:
        self.advance(2**63 - 1)
        return sorted(to_json(r) for r in self.out)


def reference(lines: list[str], rules: PipelineConfig, lag: int) -> list[str]:
    """The expected output when the watermark at line i is that of line ``i - lag``."""
    model, ooo = Reference(rules), rules.out_of_orderness_ms
    newest = []  # newest timestamp among the lines before i
    top = None
    for line in lines:
        newest.append(top)
        event, _ = parse_line(line)
        if event is not None:
            top = event["timestamp"] if top is None else max(top, event["timestamp"])
    for i, line in enumerate(lines):
        seen = newest[i - lag] if i - lag >= 0 else None
        model.advance(MIN if seen is None else seen - ooo - 1)
        model.line(line)
    return model.finish()


EXPECTED = reference(LINES, RULES, 0)


def test_the_input_has_every_kind_of_trouble_and_the_output_does_not_depend_on_watermark_timing(
        ) -> None:
    kinds = [json.loads(line)["type"] for line in EXPECTED]
    for kind in OUTPUTS:
        assert kinds.count(kind) >= 2, kind
    assert reference(LINES, RULES, LAG) == EXPECTED
    late = [json.loads(line) for line in EXPECTED if '"late_events"' in line]
    assert {e["window"] for e in late} == {"user_metrics", "session_metrics"}


class Collect(SinkFunction):
    """Appends to a shared list (one subtask; not copied per subtask)."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def __deepcopy__(self, memo: dict) -> Collect:
        return self

    def invoke(self, value: str, context: Any) -> None:
        self.into.append(value)


def ticking(clock: ManualClock) -> Any:
    """A map advancing the job's clock one auto-watermark interval per line (a closure: the
    function is not deep-copied, so it keeps the job's clock)."""

    def tick(line: str) -> str:
        clock.advance(TICK_MS)
        return line

    return tick


class FailOnce:
    """A map that raises once at the given line (across restarts: the marker file says)."""

    def __init__(self, line: str, marker: Path) -> None:
        self.line, self.marker = line, str(marker)

    def __call__(self, line: str) -> str:
        if line == self.line and not os.path.exists(self.marker):
            Path(self.marker).write_text("failed\n")
            raise RuntimeError("injected failure")
        return line


def job(executor: str, parallelism: int) -> tuple[StreamExecutionEnvironment, Any]:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.set_parallelism(parallelism)
    env.clock = clock = ManualClock(0)
    lines = (env.from_source(LogGenerator(GEN), WatermarkStrategy.no_watermarks(), "logs")
             .uid("logs").map(ticking(clock)).set_parallelism(1))
    return env, lines


@pytest.mark.parametrize("parallelism", [1, 2])
def test_outputs_equal_the_reference(executor: str, parallelism: int) -> None:
    env, lines = job(executor, parallelism)
    streams = build(env, lines, RULES)
    assert sorted(streams) == sorted(OUTPUTS)
    got: list[str] = []
    first, *rest = (s.map(to_json) for s in streams.values())
    first.union(*rest).add_sink(Collect(got)).set_parallelism(1)
    client = env.execute_async("log analysis")
    client.wait(timeout=60)
    assert sorted(got) == EXPECTED
    registry = client.metrics
    malformed = sum(registry.value(n) for n in registry.metrics if n.endswith(".malformedLines"))
    assert malformed == sum('"dead_letter"' in line for line in EXPECTED)


def test_a_failure_with_checkpoints_and_file_sinks_gives_the_same_output(
        tmp_path: Path, executor: str) -> None:
    env, lines = job(executor, 2)
    env.enable_checkpointing(100 * TICK_MS)  # every 100 lines
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(2, 0))
    lines = lines.map(FailOnce(LINES[4_000], tmp_path / "failed")).set_parallelism(1)
    out = tmp_path / "out"
    file_sinks(build(env, lines, RULES), str(out))
    result = env.execute("log analysis with a failure")
    assert result.restarts == 1
    got: list[str] = []
    for name in OUTPUTS:
        for part in sorted((out / name).iterdir()):
            if not part.name.startswith("."):
                lines_of = part.read_text().splitlines()
                assert all(json.loads(line)["type"] == name for line in lines_of)
                got.extend(lines_of)
    assert sorted(got) == EXPECTED


def test_malformed_lines_become_dead_letters_with_a_reason() -> None:
    assert parse_line("{")[1].startswith("invalid JSON")
    assert parse_line("[1]")[1] == "expected a JSON object, got list"
    good = json.loads(next(line for line in LINES if parse_line(line)[0] is not None))
    assert parse_line(json.dumps({**good, "timestamp": "1"}))[1] == \
        "field 'timestamp' must be int, got str"
    assert parse_line(json.dumps({**good, "timestamp": True}))[1] == \
        "field 'timestamp' must be int, got bool"
    assert parse_line(json.dumps({**good, "action": "hack"}))[1].startswith("unknown action 'hack'")
    del good["user_id"]
    assert parse_line(json.dumps(good))[1] == "missing field 'user_id'"


def test_the_generator_resumes_at_any_position_and_is_seeded() -> None:
    gen = LogGenerator(GEN)
    assert list(gen.read_split(gen.splits(1)[0], 2_500)) == LINES[2_500:]
    assert list(LogGenerator(GeneratorConfig(events=50, seed=1)).lines()) != LINES[:50]
    with pytest.raises(ValueError, match="late must be a share between 0 and 1, got 2"):
        GeneratorConfig(late=2)
