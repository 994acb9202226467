"""The job the fault-tolerance tests run, the output it must produce, and failure injection.

The job reads ``n`` events ``(key, i, timestamp)`` from a split source that advances the
job's ``ManualClock`` by 1 ms per record read (so checkpoints, every ``interval`` ms of
processing time, fall between records deterministically on the inline executor). Events are
out of order by up to 39 ms under a 50 ms bounded out-of-orderness, so none is late. From the
keyed stream:

* a KeyedProcessFunction counts per key in ValueState and writes ``count:<key>:<n>`` per
  event, and registers an event-time timer at the end of the event's second, which writes
  ``timer:<key>:<time>``. Whatever the order events of a key arrive in, the multiset of lines
  is the same; a lost or replayed state update, or a timer lost or fired twice, changes it;
* a 1 s tumbling event-time window sums ``i`` per key: ``win:<key>:<second>:<sum>``.

Both go to one FileSink. ``expected(n)`` is the output computed in plain Python.

Failures are injected by :class:`Failures`: a record index (or checkpoint id) fails once per
test, remembered in a module-level registry because the runtime copies user functions per
subtask and per attempt.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from strom.api.sources import Source
from strom.api.watermarks import TimestampAssigner, WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.common.serialization import Encoder
from strom.common.time import Duration, Time
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.connectors.file_system import BucketAssigner, FileSink, RollingPolicy
from strom.datastream.functions import KeyedProcessFunction
from strom.datastream.window import TumblingEventTimeWindows
from strom.state import ValueStateDescriptor
from strom.time.clock import ManualClock

KEYS = 50
JITTER = 40
OUT_OF_ORDERNESS_MS = 50

_FIRED: dict[str, set[Any]] = {}
"""Failure points already fired, per test token (user functions are copied, this is not)."""
RESTORED: dict[str, list[int | None]] = {}
"""Per test token: the checkpoint id each attempt of the counting function restored (None: fresh)."""


class InjectedFailure(RuntimeError):
    """The failure a test injects (a user function raising)."""


class Failures:
    """Points at which a job fails once each: ``fire(point)`` raises the first time only."""

    def __init__(self, token: str, points: Any = ()) -> None:
        self.token = token
        self.points = frozenset(points)
        _FIRED[token] = set()
        RESTORED[token] = []

    def due(self, point: Any) -> bool:
        return point in self.points and point not in _FIRED[self.token]

    def fire(self, point: Any, before: Callable[[], None] | None = None) -> None:
        if self.due(point):
            _FIRED[self.token].add(point)
            if before is not None:
                before()
            raise InjectedFailure(f"injected failure at {point!r}")

    @property
    def fired(self) -> set[Any]:
        return set(_FIRED[self.token])


def ts_of(i: int) -> int:
    return i - (i * 7919) % JITTER


class Events(Source):
    """``n`` events over ``num_splits`` splits; the clock moves 1 ms per record read."""

    def __init__(self, n: int, num_splits: int, clock: ManualClock) -> None:
        self.n, self.num_splits, self.clock = n, num_splits, clock

    def splits(self, parallelism: int) -> list[tuple[int, int]]:
        n, k = self.n, self.num_splits
        return [(n * s // k, n * (s + 1) // k) for s in range(k)]

    def read_split(self, split: tuple[int, int], position: int) -> Iterator[tuple[int, int, int]]:
        advance = self.clock.advance
        for i in range(split[0] + position, split[1]):
            advance(1)
            yield i % KEYS, i, ts_of(i)


class EventTime(TimestampAssigner):
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return value[2]


class Count(KeyedProcessFunction):
    """Counts per key (ValueState), one event-time timer per key and second; fails on cue.

    ``on_record(i)`` runs before record ``i`` is counted (failure injection)."""

    def __init__(self, failures: Failures, on_record: Callable[[int], None] | None = None) -> None:
        self.failures = failures
        self.on_record = on_record

    def initialize_state(self, context: Any) -> None:
        RESTORED[self.failures.token].append(context.get_restored_checkpoint_id())

    def snapshot_state(self, context: Any) -> None:
        """Nothing of its own to store (it records what each attempt restored)."""

    def open(self, runtime_context: Any) -> None:
        self.count = runtime_context.get_state(ValueStateDescriptor("count", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        i = value[1]
        if self.on_record is not None:
            self.on_record(i)
        else:
            self.failures.fire(i)
        n = (self.count.value() or 0) + 1
        self.count.update(n)
        ctx.timer_service().register_event_time_timer((value[2] // 1000 + 1) * 1000)
        yield f"count:{value[0]}:{n}"

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        yield f"timer:{ctx.get_current_key()}:{timestamp}"


def _sum(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    return a[0], a[1] + b[1], max(a[2], b[2])


def file_sink(out: str, rolling: str = "checkpoint", sink_class: type = FileSink) -> FileSink:
    """A FileSink into ``out``: ``rolling`` "checkpoint" rolls at every checkpoint (so every
    checkpoint has pending files to commit), "never" keeps one in-progress file per subtask
    and attempt until the end of the job."""
    policy = (RollingPolicy.on_checkpoint_rolling_policy() if rolling == "checkpoint"
              else RollingPolicy.default_rolling_policy(1 << 40, 1 << 40, 1 << 40))
    sink = (FileSink.for_row_format(out, Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_rolling_policy(policy).build())
    if sink_class is not FileSink:
        sink.__class__ = sink_class
    return sink


def environment(executor: str, parallelism: int, interval_ms: int = 2000,
                restarts: int = 10) -> tuple[StreamExecutionEnvironment, ManualClock]:
    clock = ManualClock(0)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.clock = clock
    env.set_parallelism(parallelism)
    env.enable_checkpointing(interval_ms)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(restarts, 0))
    return env, clock


def build(env: StreamExecutionEnvironment, clock: ManualClock, n: int, count: Count,
          sink: FileSink, window: bool = True, pre: Any = None) -> None:
    """The job: events -> (pre map) -> key by -> Count, and the window sums -> sink."""
    strategy = (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(OUT_OF_ORDERNESS_MS))
                .with_timestamp_assigner(EventTime()))
    events = env.from_source(Events(n, 4, clock), strategy, "events")
    if pre is not None:
        events = events.map(pre).name("pre")
    keyed = events.key_by(lambda v: v[0])
    counted = keyed.process(count).name("count").uid("count")
    if window:
        sums = (keyed.window(TumblingEventTimeWindows.of(Time.milliseconds(1000)))
                .reduce(_sum).uid("window")
                .map(lambda v: f"win:{v[0]}:{v[2] // 1000}:{v[1]}"))
        counted = counted.union(sums)
    counted.sink_to(sink).uid("sink")


def expected(n: int, window: bool = True) -> Counter[str]:
    lines: Counter[str] = Counter()
    counts: Counter[int] = Counter()
    timers: set[tuple[int, int]] = set()
    sums: Counter[tuple[int, int]] = Counter()
    for i in range(n):
        key, ts = i % KEYS, ts_of(i)
        counts[key] += 1
        lines[f"count:{key}:{counts[key]}"] += 1
        timers.add((key, (ts // 1000 + 1) * 1000))
        sums[key, ts // 1000] += i
    lines.update(f"timer:{k}:{t}" for k, t in timers)
    if window:
        lines.update(f"win:{k}:{s}:{total}" for (k, s), total in sums.items())
    return lines


def finished_lines(out: str) -> Counter[str]:
    """Every line of the finished (visible) part files under ``out``."""
    lines: Counter[str] = Counter()
    for root, _, files in os.walk(out):
        for name in files:
            if not name.startswith("."):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    lines.update(f.read().splitlines())
    return lines


def difference(got: Counter[str], want: Counter[str]) -> str:
    """A short account of lost and duplicated lines, for assertion messages."""
    lost, extra = want - got, got - want
    return (f"{sum(lost.values())} lost (e.g. {sorted(lost)[:5]}), "
            f"{sum(extra.values())} extra (e.g. {sorted(extra)[:5]})")
