"""Minimal cases where strom once differed from Java Flink 2.3 (the reference), now as tests.

Each case gives Java's output, worked out from Flink's source and checked by running Java
Flink on it. Events carry a watermark after each one (bounded out-of-orderness 0: Flink's
generator emits ``max timestamp - 1``), as the differential runs that found them did.
"""
from __future__ import annotations

from typing import Any

import pytest

from strom.common.time import Time
from strom.datastream import OutputTag, StreamExecutionEnvironment
from strom.datastream.functions import AggregateFunction, ProcessWindowFunction
from strom.datastream.state import ValueStateDescriptor
from strom.datastream.window import (
    ContinuousEventTimeTrigger,
    CountEvictor,
    EventTimeSessionWindows,
    SlidingEventTimeWindows,
    TumblingEventTimeWindows,
)
from strom.errors import JobExecutionError, UnsupportedError
from strom.testing import CollectSink, ListSource, Watermark


def per_event_watermarks(events: list[tuple[str, int, int]]) -> ListSource:
    """``(key, ts, value)`` events, each followed by the watermark ``ts - 1`` (if it advances)."""
    items: list[Any] = []
    wm = None
    for key, ts, value in events:
        items.append(((key, ts, value), ts))
        if wm is None or ts - 1 > wm:
            wm = ts - 1
            items.append(Watermark(wm))
    return ListSource.with_timestamps(items)


class Sum(AggregateFunction):
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: Any, accumulator: int) -> int:
        return accumulator + value[2]

    def get_result(self, accumulator: int) -> int:
        return accumulator

    def merge(self, a: int, b: int) -> int:
        return a + b


class Elements(ProcessWindowFunction):
    def process(self, key: Any, context: Any, elements: Any) -> Any:
        window = context.window()
        yield (key, window.start, window.end, [e[2] for e in elements])


def env_for(executor: str) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    return env


def test_sliding_gap_elements_are_dropped_not_late(executor: str) -> None:
    """Sliding size 2, slide 5: an element at 3 is in no window but not late (watermark 0)."""
    env = env_for(executor)
    late = OutputTag("late")
    sink, late_sink = CollectSink(), CollectSink()
    windowed = (env.add_source(per_event_watermarks([("a", 1, 10), ("a", 3, 7)]))
                .key_by(lambda e: e[0])
                .window(SlidingEventTimeWindows.of(Time.milliseconds(2), Time.milliseconds(5)))
                .side_output_late_data(late)
                .aggregate(Sum()))
    windowed.add_sink(sink)
    windowed.get_side_output(late).add_sink(late_sink)
    env.execute()
    assert sink.values == [10]
    assert late_sink.values == []


def test_continuous_event_time_trigger_aligns_negative_times_as_java(executor: str) -> None:
    """Java aligns the first fire time with its truncating %: -300 -> -297 + 11 = -286."""
    env = env_for(executor)
    sink = CollectSink()
    (env.add_source(per_event_watermarks([("a", -300, 1), ("a", -270, 2)]))
        .key_by(lambda e: e[0])
        .window(TumblingEventTimeWindows.of(Time.milliseconds(20)))
        .trigger(ContinuousEventTimeTrigger.of(Time.milliseconds(11)))
        .process(Elements())
        .add_sink(sink))
    env.execute()
    fired = [(start, end) for _key, start, end, _values in sink.values]
    assert sorted(fired) == [(-300, -280), (-300, -280), (-280, -260)]


def test_evictors_work_on_merging_windows(executor: str) -> None:
    """Session windows with a CountEvictor: the merged session's last two elements."""
    env = env_for(executor)
    sink = CollectSink()
    (env.add_source(per_event_watermarks([("a", 1, 1), ("a", 5, 5), ("a", 8, 8), ("a", 40, 40)]))
        .key_by(lambda e: e[0])
        .window(EventTimeSessionWindows.with_gap(Time.milliseconds(10)))
        .evictor(CountEvictor.of(2))
        .process(Elements())
        .add_sink(sink))
    env.execute()
    assert sink.values == [("a", 1, 18, [5, 8]), ("a", 40, 50, [40])]


class PerWindowState(ProcessWindowFunction):
    def process(self, key: Any, context: Any, elements: Any) -> Any:
        seen = context.window_state().get_state(ValueStateDescriptor("seen", None))
        seen.update(len(list(elements)))
        yield key


def test_per_window_state_with_merging_windows_fails_naming_the_operator(executor: str) -> None:
    env = env_for(executor)
    (env.add_source(per_event_watermarks([("a", 1, 1), ("a", 5, 5)]))
        .key_by(lambda e: e[0])
        .window(EventTimeSessionWindows.with_gap(Time.milliseconds(10)))
        .process(PerWindowState())
        .name("sessions")
        .add_sink(CollectSink()))
    with pytest.raises(JobExecutionError, match="operator 'sessions': per-window state") as err:
        env.execute()
    assert isinstance(err.value.__cause__, UnsupportedError)


def test_count_window_all_with_slide_follows_java(executor: str) -> None:
    """Java's countWindowAll(3, 2): every 2 elements, the last (up to) 3."""
    env = env_for(executor)
    out = (env.from_collection([1, 2, 3, 4, 5]).count_window_all(3, 2)
           .apply(lambda window, values: [list(values)]).execute_and_collect(limit=10))
    assert out == [[1, 2], [2, 3, 4]]
