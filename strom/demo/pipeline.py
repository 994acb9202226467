"""The real-time log-analysis job: parse, event time, alerts, per-user metrics, sessions.

:func:`build` wires the analysis onto a stream of JSON log lines and returns its outputs by
name; every output emits plain JSON-serializable dicts whose ``"type"`` is that name:

* ``security_alert``: ``failed_logins`` or more ``login_failed`` of one user within
  ``failed_window_ms`` of event time (:class:`FailedLoginDetector`).
* ``anomaly_alert``: a ``view``/``purchase``/``download`` more than ``stale_login_ms`` after
  the user's last successful ``login`` (:class:`StaleSessionDetector`).
* ``user_metrics``: per user, action counts per tumbling event-time window.
* ``session_metrics``: per user, event-time sessions (inactivity gap ``session_gap_ms``).
* ``dead_letter``: lines that are not valid log JSON, with the reason.
* ``late_events``: events behind the windows' allowed lateness, with the window they missed.

Run it with ``strom run strom/demo/pipeline.py --events 10000 [--output DIR]`` (or
``strom demo``); see ``examples/log_analysis/README.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from strom.common import Duration, Encoder, Time, Types, WatermarkStrategy
from strom.datastream import (
    AggregateFunction,
    DataStream,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    SinkFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.connectors.file_system import BucketAssigner, FileSink, RollingPolicy
from strom.datastream.functions import ProcessWindowFunction
from strom.datastream.state import ListStateDescriptor, ValueStateDescriptor
from strom.datastream.window import EventTimeSessionWindows, TumblingEventTimeWindows
from strom.demo.generator import ACTIONS, GeneratorConfig, LogGenerator

OUTPUTS = ("security_alert", "anomaly_alert", "user_metrics", "session_metrics", "dead_letter",
           "late_events")
SESSION_ACTIONS = frozenset(("view", "purchase", "download"))
DEAD_LETTER = OutputTag("dead_letter", Types.PICKLED_BYTE_ARRAY())
LATE_METRICS = OutputTag("late_user_metrics", Types.PICKLED_BYTE_ARRAY())
LATE_SESSIONS = OutputTag("late_session_metrics", Types.PICKLED_BYTE_ARRAY())
# field -> accepted types (bool is excluded from int separately)
_FIELDS: dict[str, tuple[type, ...]] = {"timestamp": (int,), "user_id": (str,),
                                        "session_id": (str, type(None)), "action": (str,),
                                        "ip": (str,), "user_agent": (str,)}


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """The rules of the analysis (all times in milliseconds of event time).

    Attributes:
        out_of_orderness_ms: the watermark's bound on out-of-order events.
        idleness_ms: processing time after which a silent source stops holding the watermark.
        failed_logins: failures that make a security alert ...
        failed_window_ms: ... when they fall within this span.
        stale_login_ms: an action this long after the last login is an anomaly.
        metrics_window_ms: size of the tumbling per-user metrics windows.
        allowed_lateness_ms: how long fired windows still accept late events (and re-fire).
        session_gap_ms: inactivity that ends a session.
        source_parallelism: parallelism of parsing and watermarking: that of the source (1 for
            the non-parallel LogGenerator), so they chain to it and keep each user's order.
    """

    out_of_orderness_ms: int = 10_000
    idleness_ms: int = 30_000
    failed_logins: int = 5
    failed_window_ms: int = 300_000
    stale_login_ms: int = 86_400_000
    metrics_window_ms: int = 60_000
    allowed_lateness_ms: int = 30_000
    session_gap_ms: int = 1_800_000
    source_parallelism: int = 1


def to_json(record: dict[str, Any]) -> str:
    """One canonical JSON line for ``record`` (sorted keys, no spaces)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def parse_line(line: Any) -> tuple[dict[str, Any] | None, str | None]:
    """``(event, None)`` for a valid log line, else ``(None, reason)``."""
    if not isinstance(line, str):
        return None, f"expected a str line, got {type(line).__name__}"
    try:
        event = json.loads(line)
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(event, dict):
        return None, f"expected a JSON object, got {type(event).__name__}"
    for field, types in _FIELDS.items():
        if field not in event:
            return None, f"missing field {field!r}"
        value = event[field]
        if not isinstance(value, types) or isinstance(value, bool):
            return None, (f"field {field!r} must be {' or '.join(t.__name__ for t in types)}, "
                          f"got {type(value).__name__}")
    if event["action"] not in ACTIONS:
        return None, f"unknown action {event['action']!r}; expected one of {', '.join(ACTIONS)}"
    if not event["user_id"]:
        return None, "empty user_id"
    return event, None


class ParseLogLine(ProcessFunction):
    """JSON line -> event dict; anything else goes to the ``dead_letter`` side output and is
    counted in the ``malformedLines`` metric (the job never fails on bad input)."""

    def open(self, runtime_context: Any) -> None:
        self.malformed = runtime_context.get_metrics_group().counter("malformedLines")

    def process_element(self, value: Any, ctx: Any) -> Iterator[Any]:
        event, reason = parse_line(value)
        if event is not None:
            yield event
        else:
            self.malformed.inc()
            yield DEAD_LETTER, {"type": "dead_letter", "reason": reason, "line": str(value)}


class FailedLoginDetector(KeyedProcessFunction):
    """Per user: ``failed_logins`` or more ``login_failed`` within ``failed_window_ms``.

    On each failure at ``t`` the failures in ``(t - failed_window_ms, t]`` are counted; at the
    threshold one alert is emitted and the failures up to ``t`` are forgotten, so one burst
    alerts once (a continuing attack alerts again after ``failed_logins`` more failures). The
    failure times live in ListState; each failure registers an event-time timer at
    ``t + failed_window_ms`` that drops it, so the state holds at most one window of failures.
    A failure at or behind the current watermark is not evaluated (the failures it would pair
    with may already be dropped): it is counted in the ``lateFailedLogins`` metric.
    """

    def __init__(self, config: PipelineConfig) -> None:
        self.threshold = config.failed_logins
        self.window = config.failed_window_ms

    def open(self, runtime_context: Any) -> None:
        self.failures = runtime_context.get_list_state(ListStateDescriptor("failures", Types.LONG()))
        self.late = runtime_context.get_metrics_group().counter("lateFailedLogins")

    def process_element(self, value: dict[str, Any], ctx: Any) -> Iterator[dict[str, Any]]:
        if value["action"] != "login_failed":
            return
        t = value["timestamp"]
        timers = ctx.timer_service()
        if t <= timers.current_watermark():
            self.late.inc()
            return
        times = list(self.failures.get() or ())
        times.append(t)
        recent = [f for f in times if t - self.window < f <= t]
        if len(recent) >= self.threshold:
            yield {"type": "security_alert", "user_id": value["user_id"],
                   "failures": len(recent), "first_ms": min(recent), "last_ms": t}
            times = [f for f in times if f > t]
        self.failures.update(times)
        timers.register_event_time_timer(t + self.window)

    def on_timer(self, timestamp: int, ctx: Any) -> Iterable[Any]:
        times = [f for f in self.failures.get() or () if f > timestamp - self.window]
        if times:
            self.failures.update(times)
        else:
            self.failures.clear()
        return ()


class StaleSessionDetector(KeyedProcessFunction):
    """Per user: a ``view``/``purchase``/``download`` more than ``stale_login_ms`` after the
    user's last successful ``login`` (ValueState of its time; an older login arriving out of
    order does not move it back). One alert per login: later actions on the same stale login
    do not alert again. Actions of a user with no login seen are not judged (the session may
    predate the stream); they are counted in the ``actionsWithoutLogin`` metric."""

    def __init__(self, config: PipelineConfig) -> None:
        self.stale = config.stale_login_ms

    def open(self, runtime_context: Any) -> None:
        self.last_login = runtime_context.get_state(ValueStateDescriptor("last-login", Types.LONG()))
        self.alerted = runtime_context.get_state(ValueStateDescriptor("alerted", Types.BOOLEAN()))
        self.unknown = runtime_context.get_metrics_group().counter("actionsWithoutLogin")

    def process_element(self, value: dict[str, Any], ctx: Any) -> Iterator[dict[str, Any]]:
        action, t = value["action"], value["timestamp"]
        last = self.last_login.value()
        if action == "login":
            if last is None or t > last:
                self.last_login.update(t)
                self.alerted.update(False)
        elif action in SESSION_ACTIONS:
            if last is None:
                self.unknown.inc()
            elif t - last > self.stale and not self.alerted.value():
                self.alerted.update(True)
                yield {"type": "anomaly_alert", "user_id": value["user_id"], "action": action,
                       "ms_since_login": t - last}


class CountActions(AggregateFunction):
    """Action -> count, incrementally per window."""

    def create_accumulator(self) -> dict[str, int]:
        return {}

    def add(self, value: dict[str, Any], accumulator: dict[str, int]) -> dict[str, int]:
        accumulator[value["action"]] = accumulator.get(value["action"], 0) + 1
        return accumulator

    def get_result(self, accumulator: dict[str, int]) -> dict[str, int]:
        return dict(sorted(accumulator.items()))

    def merge(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        for action, n in b.items():
            a[action] = a.get(action, 0) + n
        return a


class UserMetrics(ProcessWindowFunction):
    """The counts of one user's window as a ``user_metrics`` record."""

    def process(self, key: str, context: Any, elements: Iterable[dict[str, int]]) -> Iterator[Any]:
        window = context.window()
        for counts in elements:
            yield {"type": "user_metrics", "user_id": key, "window_start": window.start,
                   "window_end": window.end, "counts": counts, "total": sum(counts.values())}


class SessionSpan(AggregateFunction):
    """``[events, first_ms, last_ms]`` of a session (mergeable, as session windows need)."""

    def create_accumulator(self) -> list[int | None]:
        return [0, None, None]

    def add(self, value: dict[str, Any], acc: list[Any]) -> list[Any]:
        t = value["timestamp"]
        acc[0] += 1
        acc[1] = t if acc[1] is None else min(acc[1], t)
        acc[2] = t if acc[2] is None else max(acc[2], t)
        return acc

    def get_result(self, acc: list[Any]) -> tuple[int, int, int]:
        return acc[0], acc[1], acc[2]

    def merge(self, a: list[Any], b: list[Any]) -> list[Any]:
        if b[0] == 0:
            return a
        if a[0] == 0:
            return list(b)
        return [a[0] + b[0], min(a[1], b[1]), max(a[2], b[2])]


class SessionMetrics(ProcessWindowFunction):
    """A session's span as a ``session_metrics`` record (first to last event)."""

    def process(self, key: str, context: Any, elements: Iterable[tuple[int, int, int]]
                ) -> Iterator[Any]:
        for events, first, last in elements:
            yield {"type": "session_metrics", "user_id": key, "session_start": first,
                   "session_end": last, "events": events, "duration_ms": last - first}


def _late(window: str) -> Any:
    def wrap(event: dict[str, Any]) -> dict[str, Any]:
        return {"type": "late_events", "window": window, "event": event}
    return wrap


def build(env: StreamExecutionEnvironment, lines: DataStream,
          config: PipelineConfig = PipelineConfig()) -> dict[str, DataStream]:
    """Wire the analysis onto ``lines`` (JSON log lines); return its outputs by name.

    Parsing and watermarking run at ``config.source_parallelism`` (chained to the source);
    the keyed operators at the environment's parallelism. Stateful operators have uids
    (``parse``, ``watermarks``, ``security-alerts``, ``anomaly-alerts``, ``user-metrics``,
    ``session-metrics``), so savepoints match across versions of the job.
    """
    if not isinstance(config, PipelineConfig):
        msg = f"build: config must be a PipelineConfig, got {type(config).__name__}"
        raise TypeError(msg)
    p = config.source_parallelism
    parsed = lines.process(ParseLogLine()).name("parse").uid("parse").set_parallelism(p)
    strategy = (WatermarkStrategy
                .for_bounded_out_of_orderness(Duration.of_millis(config.out_of_orderness_ms))
                .with_timestamp_assigner(_event_time)
                .with_idleness(Duration.of_millis(config.idleness_ms)))
    events = parsed.assign_timestamps_and_watermarks(strategy).uid("watermarks").set_parallelism(p)
    by_user = events.key_by(_user_of, Types.STRING())
    security = (by_user.process(FailedLoginDetector(config))
                .name("security-alerts").uid("security-alerts"))
    anomaly = (by_user.process(StaleSessionDetector(config))
               .name("anomaly-alerts").uid("anomaly-alerts"))
    lateness = Time.milliseconds(config.allowed_lateness_ms)
    metrics = (by_user.window(TumblingEventTimeWindows.of(Time.milliseconds(config.metrics_window_ms)))
               .allowed_lateness(lateness).side_output_late_data(LATE_METRICS)
               .aggregate(CountActions(), UserMetrics()).name("user-metrics").uid("user-metrics"))
    sessions = (by_user.window(EventTimeSessionWindows.with_gap(Time.milliseconds(config.session_gap_ms)))
                .allowed_lateness(lateness).side_output_late_data(LATE_SESSIONS)
                .aggregate(SessionSpan(), SessionMetrics())
                .name("session-metrics").uid("session-metrics"))
    late = metrics.get_side_output(LATE_METRICS).map(_late("user_metrics")).union(
        sessions.get_side_output(LATE_SESSIONS).map(_late("session_metrics")))
    return {"security_alert": security, "anomaly_alert": anomaly, "user_metrics": metrics,
            "session_metrics": sessions, "dead_letter": parsed.get_side_output(DEAD_LETTER),
            "late_events": late}


def _event_time(event: dict[str, Any], record_timestamp: int) -> int:
    return event["timestamp"]


def _user_of(event: dict[str, Any]) -> str:
    return event["user_id"]


def file_sinks(streams: dict[str, DataStream], directory: str) -> None:
    """Write each output as JSON lines, exactly once, under ``directory/<output name>/``
    (part files become visible when a checkpoint completes, and at the end of a bounded job)."""
    for name, stream in streams.items():
        sink = (FileSink.for_row_format(os.path.join(directory, name), Encoder.simple_string_encoder())
                .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
                .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy())
                .build())
        stream.map(to_json, Types.STRING()).name(f"json-{name}").sink_to(sink).uid(f"sink-{name}")


class PrintLines(SinkFunction):
    """Writes each str record as one line on stdout."""

    def invoke(self, value: str, context: Any) -> None:
        sys.stdout.write(value + "\n")


def stdout_sink(streams: dict[str, DataStream]) -> None:
    """Print every output's records as JSON lines on stdout (one subtask, at least once)."""
    first, *rest = streams.values()
    merged = first.union(*rest) if rest else first
    merged.map(to_json, Types.STRING()).name("json").add_sink(PrintLines()).set_parallelism(1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of :func:`main`."""
    parser = argparse.ArgumentParser(prog="strom run strom/demo/pipeline.py",
                                     description="Real-time log analysis on generated logs.")
    parser.add_argument("--events", type=int, default=10_000,
                        help="lines to generate (0: unbounded; default 10000)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=None, help="lines per second (default: max)")
    parser.add_argument("--parallelism", type=int, default=None)
    parser.add_argument("--output", default=None,
                        help="write JSON lines to DIR/<output>/ with exactly-once FileSinks")
    parser.add_argument("--checkpoint-interval", type=int, default=5_000, metavar="MS",
                        help="checkpoint interval with --output (default 5000)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Generator -> :func:`build` -> JSON lines on stdout, or FileSinks with ``--output``."""
    args = parse_args(argv)
    env = StreamExecutionEnvironment.get_execution_environment()
    if args.parallelism is not None:
        env.set_parallelism(args.parallelism)
    generator = LogGenerator(GeneratorConfig(users=args.users, events=args.events or None,
                                             seed=args.seed, rate=args.rate))
    lines = env.from_source(generator, WatermarkStrategy.no_watermarks(), "log-generator")
    streams = build(env, lines.uid("log-generator"))
    if args.output:
        env.enable_checkpointing(args.checkpoint_interval)
        file_sinks(streams, args.output)
    else:
        stdout_sink(streams)
    env.execute("log-analysis")


if __name__ == "__main__":
    main()
