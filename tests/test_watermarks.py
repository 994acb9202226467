"""Timestamps and watermarks: Flink's formulas, periodic emission, idleness, legacy assigners, ingestion time."""
from __future__ import annotations

import logging
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strom.api.watermarks import as_strategy
from strom.common import Duration, Time, TimeCharacteristic, WatermarkStrategy
from strom.common.watermark_strategy import TimestampAssigner, Watermark, WatermarkGenerator
from strom.datastream import KeyedProcessFunction, SourceFunction, StreamExecutionEnvironment
from strom.datastream.functions import (
    AscendingTimestampExtractor,
    AssignerWithPunctuatedWatermarks,
    BoundedOutOfOrdernessTimestampExtractor,
)
from strom.errors import JobDefinitionError, JobExecutionError
from strom.metrics import MetricRegistry
from strom.runtime.context import TaskInfo
from strom.runtime.operators.timestamps import TimestampsAndWatermarksOperator
from strom.runtime.output import Output
from strom.runtime.processing_time import ProcessingTimeService
from strom.time.clock import ManualClock
from strom.time.valve import WatermarkValve
from strom.time.watermarks import MAX_WATERMARK, MIN_WATERMARK


# --------------------------------------------------------------------------------------------
# Operator-level helper: the real operator on a real processing-time service and ManualClock
# --------------------------------------------------------------------------------------------
class Harness:
    def __init__(self, assigner, interval: int = 200, start_ms: int = 0) -> None:
        self.clock = ManualClock(start_ms)
        self.pts = ProcessingTimeService(self.clock)
        info = TaskInfo("t", 0, 1, 128, self.clock, self.pts, MetricRegistry(self.clock).group("j", "t", "0"))
        self.op = TimestampsAndWatermarksOperator("ts", as_strategy(assigner), interval)
        self.events: list[tuple] = []
        out = Output()
        out.add_main(lambda v, ts: self.events.append(("rec", v, ts)))
        out.add_watermark_target(lambda wm: self.events.append(("wm", wm)),
                                 lambda idle: self.events.append(("idle", idle)))
        self.op.setup(info, out)
        self.op.open()

    def element(self, value, ts=None):
        self.op.process_element(value, ts)

    def advance(self, ms: int) -> None:
        """Move processing time in steps of at most 1 ms-accurate deadlines, firing each due callback."""
        target = self.clock.now() + ms
        while self.pts.next_deadline is not None and self.pts.next_deadline <= target:
            self.clock.set(self.pts.next_deadline)
            self.pts.fire_due()
        self.clock.set(target)

    def watermarks(self):
        return [e[1] for e in self.events if e[0] == "wm"]

    def take(self):
        out, self.events = self.events, []
        return out


def by_field(event, record_ts):
    return event[1]


# --------------------------------------------------------------------------------------------
# Built-in strategies: exact Flink formulas
# --------------------------------------------------------------------------------------------
def test_bounded_out_of_orderness_is_max_minus_bound_minus_one_on_periodic_emit():
    h = Harness(WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(1))
                .with_timestamp_assigner(by_field))
    h.advance(200)  # no record yet: Long.MIN_VALUE, which is never emitted
    assert h.take() == []
    for v in [("a", 1000), ("b", 5000), ("c", 3000)]:
        h.element(v)
    assert h.watermarks() == []  # periodic: nothing until the interval passes
    h.advance(199)
    assert h.watermarks() == []
    h.advance(1)
    assert h.take() == [("rec", ("a", 1000), 1000), ("rec", ("b", 5000), 5000),
                        ("rec", ("c", 3000), 3000), ("wm", 3999)]
    h.advance(1000)  # no new maximum: nothing more (watermarks only go up)
    assert h.take() == []


def test_monotonous_is_max_minus_one_and_never_decreases():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(by_field))
    h.element(("a", 10))
    h.advance(200)
    h.element(("b", 7))
    h.advance(200)
    h.element(("c", 20))
    h.advance(200)
    assert h.watermarks() == [9, 19]


def test_bounded_accepts_time_and_millis_and_initial_value_is_min():
    for bound in (Time.seconds(2), 2000, Duration.of_millis(2000)):
        h = Harness(WatermarkStrategy.for_bounded_out_of_orderness(bound).with_timestamp_assigner(by_field))
        h.element(("a", 10_000))
        h.advance(200)
        assert h.watermarks() == [7999]
    gen = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(5)) \
        .create_watermark_generator(None)
    emitted = []

    class Out:
        def emit_watermark(self, wm):
            emitted.append(wm.timestamp)

    gen.on_periodic_emit(Out())
    assert emitted == [MIN_WATERMARK]


def test_default_assigner_keeps_record_timestamp_or_min_value():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps())
    h.element("x", 50)
    h.element("y", None)
    assert h.take() == [("rec", "x", 50), ("rec", "y", MIN_WATERMARK)]


def test_timestamp_assigner_object_gets_previous_timestamp():
    seen = []

    class Assigner(TimestampAssigner):
        def extract_timestamp(self, value, record_timestamp):
            seen.append(record_timestamp)
            return value

    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Assigner()))
    h.element(5, 3)
    h.element(6)
    assert seen == [3, MIN_WATERMARK]


def test_no_watermarks_forwards_only_end_of_input():
    strategy = WatermarkStrategy.no_watermarks()
    assert strategy.is_no_watermarks
    h = Harness(strategy.with_timestamp_assigner(by_field))
    h.element(("a", 100))
    h.advance(1000)
    h.op.process_watermark(50)
    assert h.watermarks() == []
    h.op.process_watermark(MAX_WATERMARK)
    assert h.watermarks() == [MAX_WATERMARK]


def test_upstream_watermarks_and_idleness_are_swallowed_except_max():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(by_field))
    h.op.process_watermark(10**12)
    h.op.process_status(True)
    assert h.take() == []
    h.element(("a", 100))
    h.op.process_watermark(MAX_WATERMARK)
    h.op.finish()  # the final periodic emit is below MAX: nothing
    assert h.watermarks() == [MAX_WATERMARK]


def test_finish_emits_a_final_periodic_watermark():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(by_field))
    h.element(("a", 100))
    h.op.finish()
    assert h.watermarks() == [99]


def test_periodic_interval_zero_disables_periodic_emission():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(by_field), interval=0)
    h.element(("a", 100))
    h.advance(10_000)
    assert h.watermarks() == [] and h.pts.next_deadline is None


def test_for_generator_with_supplier_forms():
    class EveryEvent(WatermarkGenerator):
        def on_event(self, event, event_timestamp, output):
            output.emit_watermark(Watermark(event_timestamp - 10))

    for supplier in (EveryEvent, lambda ctx: EveryEvent(), lambda: EveryEvent()):
        h = Harness(WatermarkStrategy.for_generator(supplier).with_timestamp_assigner(by_field))
        h.element(("a", 100))
        h.element(("b", 50))  # 40 < 90: dropped
        h.element(("c", 200))
        assert h.take() == [("rec", ("a", 100), 100), ("wm", 90), ("rec", ("b", 50), 50),
                            ("rec", ("c", 200), 200), ("wm", 190)]


def test_with_methods_return_new_strategies_and_keep_the_assigner():
    base = WatermarkStrategy.for_monotonous_timestamps()
    with_assigner = base.with_timestamp_assigner(by_field)
    idle = with_assigner.with_idleness(Duration.of_seconds(1))
    aligned = idle.with_watermark_alignment("g", Duration.of_seconds(20), Duration.of_seconds(1))
    assert base._assigner is None and idle._assigner is by_field and aligned._idle_timeout_ms == 1000
    h = Harness(aligned)
    h.element(("a", 42))
    assert h.take() == [("rec", ("a", 42), 42)]


# --------------------------------------------------------------------------------------------
# Idleness (Flink's IdlenessTimer timing)
# --------------------------------------------------------------------------------------------
def test_idleness_marks_idle_after_strictly_more_than_timeout_since_first_quiet_check():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(by_field)
                .with_idleness(Duration.of_millis(1000)))
    h.element(("a", 100))
    h.advance(200)   # t=200: activity seen -> watermark 99
    h.advance(200)   # t=400: first quiet check starts the countdown
    h.advance(1000)  # t=1400: 1000 elapsed, not > 1000
    assert h.take() == [("rec", ("a", 100), 100), ("wm", 99)]
    h.advance(200)   # t=1600: 1200 > 1000 -> idle, once
    h.advance(2000)
    assert h.take() == [("idle", True)]
    h.element(("b", 300))  # active again at the next watermark it emits
    assert h.take() == [("rec", ("b", 300), 300)]
    h.advance(200)
    assert h.take() == [("idle", False), ("wm", 299)]


def test_idle_without_any_record():
    h = Harness(WatermarkStrategy.for_monotonous_timestamps().with_idleness(Duration.of_millis(300)))
    h.advance(200)  # first quiet check at 200
    h.advance(400)  # 600 - 200 = 400 > 300 at t=600
    assert h.take() == [("idle", True)]


# --------------------------------------------------------------------------------------------
# Legacy assigners (the article's forms)
# --------------------------------------------------------------------------------------------
class Event:
    def __init__(self, value, timestamp):
        self.value, self.timestamp = value, timestamp

    def __repr__(self):
        return f"Event({self.value!r}, {self.timestamp})"


class ArticleTimestampExtractor:  # the article's plain class
    def extract_timestamp(self, element, previous_timestamp):
        return element.timestamp * 1000


class ArticleAscending(AscendingTimestampExtractor):
    def extract_timestamp(self, element, previous_timestamp):
        return element.timestamp * 1000


class ArticleBounded(BoundedOutOfOrdernessTimestampExtractor):
    def __init__(self):
        super().__init__(Time.seconds(10))

    def extract_timestamp(self, element, previous_timestamp):
        return element.timestamp * 1000


def test_legacy_bounded_extractor_watermark_is_max_minus_bound():
    h = Harness(ArticleBounded())
    h.advance(200)
    assert h.watermarks() == []  # MIN_VALUE + bound - bound = MIN_VALUE: not emitted
    h.element(Event("a", 60))
    h.element(Event("b", 30))
    h.advance(200)
    assert h.watermarks() == [50_000]
    assert [e[2] for e in h.events if e[0] == "rec"] == [60_000, 30_000]


def test_legacy_bounded_one_argument_override_and_missing_super_init():
    class JavaStyle(BoundedOutOfOrdernessTimestampExtractor):
        def __init__(self):
            super().__init__(Time.milliseconds(5))

        def extract_timestamp(self, element):
            return element

    h = Harness(JavaStyle())
    h.element(100)
    h.advance(200)
    assert h.watermarks() == [95]

    class Forgot(BoundedOutOfOrdernessTimestampExtractor):
        def __init__(self):
            pass

        def extract_timestamp(self, element, previous_timestamp):
            return 0

    with pytest.raises(JobDefinitionError, match=r"super\(\).__init__"):
        as_strategy(Forgot())


def test_legacy_ascending_extractor_is_last_minus_one_and_logs_violations(caplog):
    h = Harness(ArticleAscending())
    h.element(Event("a", 10))
    h.advance(200)
    with caplog.at_level(logging.WARNING, logger="strom.watermarks"):
        h.element(Event("b", 5))
    assert "Timestamp monotony violated: 5000 < 10000" in caplog.text
    h.element(Event("c", 20))
    h.advance(200)
    assert h.watermarks() == [9_999, 19_999]
    assert [e[2] for e in h.events if e[0] == "rec"] == [10_000, 5_000, 20_000]


def test_legacy_ascending_failing_handler_fails_the_job():
    class Failing(AscendingTimestampExtractor):
        def extract_ascending_timestamp(self, element):
            return element

    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(0)
    extractor = Failing().with_violation_handler(AscendingTimestampExtractor.FailingHandler())
    stream = env.from_collection([5, 3]).assign_timestamps_and_watermarks(extractor)
    with pytest.raises(JobExecutionError, match="Ascending timestamps condition violated"):
        list(stream.execute_and_collect())


def test_article_timestamp_extractor_is_treated_as_monotonous():
    h = Harness(ArticleTimestampExtractor())
    h.element(Event("a", 1640995200))
    h.element(Event("b", 1640995260))
    h.advance(200)
    assert h.watermarks() == [1640995260_000 - 1]


def test_legacy_punctuated_assigner_emits_after_the_record():
    class Punctuated(AssignerWithPunctuatedWatermarks):
        def extract_timestamp(self, element, previous_timestamp):
            return element[1]

        def check_and_get_next_watermark(self, last_element, extracted_timestamp):
            return Watermark(extracted_timestamp) if last_element[0] == "mark" else None

    h = Harness(Punctuated())
    h.element(("x", 5))
    h.element(("mark", 7))
    assert h.take() == [("rec", ("x", 5), 5), ("rec", ("mark", 7), 7), ("wm", 7)]


def test_article_code_runs_end_to_end_with_every_form():
    events = [Event("event1", 1640995200), Event("event2", 1640995260), Event("event3", 1640995320)]
    for assigner in (ArticleTimestampExtractor(), ArticleAscending(), ArticleBounded()):
        env = StreamExecutionEnvironment.get_execution_environment()
        env.clock = ManualClock(0)
        env.set_stream_time_characteristic(TimeCharacteristic.EventTime)
        stream = env.from_collection(events).assign_timestamps_and_watermarks(assigner)
        result = list(stream.key_by(lambda e: 0).process(Observe()).execute_and_collect())
        assert [(r[0], r[1]) for r in result] == [("event1", 1640995200_000), ("event2", 1640995260_000),
                                                  ("event3", 1640995320_000)]


# --------------------------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------------------------
class Observe(KeyedProcessFunction):
    """Emits (value, timestamp, watermark seen) per record and ("timer", ts, watermark) per timer."""

    def __init__(self, timer_offset=None):
        self.timer_offset = timer_offset

    def process_element(self, value, ctx):
        name = getattr(value, "value", value)
        if self.timer_offset is not None:
            ctx.timer_service().register_event_time_timer(ctx.timestamp() + self.timer_offset)
        yield (name, ctx.timestamp(), ctx.timer_service().current_watermark())

    def on_timer(self, timestamp, ctx):
        yield ("timer", timestamp, ctx.timer_service().current_watermark())


def test_end_of_input_max_watermark_fires_event_time_timers():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(0)
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_hours(1)) \
        .with_timestamp_assigner(by_field)
    stream = env.from_collection([("a", 1000), ("b", 2000)]).assign_timestamps_and_watermarks(strategy)
    result = list(stream.key_by(lambda e: e[0]).process(Observe(timer_offset=10**9)).execute_and_collect())
    assert result[:2] == [(("a", 1000), 1000, MIN_WATERMARK), (("b", 2000), 2000, MIN_WATERMARK)]
    assert sorted(result[2:]) == [("timer", 10**9 + 1000, MAX_WATERMARK), ("timer", 10**9 + 2000, MAX_WATERMARK)]


class GatedSource(SourceFunction):
    """Runs ``steps``: a tuple is emitted, a string names a gate to wait for."""

    def __init__(self, *steps):
        self.steps = steps

    def run(self, ctx):
        for step in self.steps:
            if isinstance(step, str):
                GATES[step].wait(10)
            else:
                ctx.collect(step)


GATES: dict[str, threading.Event] = {}


def test_idle_source_does_not_hold_back_the_union_and_rejoins_when_it_resumes():
    GATES.clear()
    for name in ("a", "b", "end"):
        GATES[name] = threading.Event()

    class Watch(Observe):
        def process_element(self, value, ctx):
            yield from super().process_element(value, ctx)
            if value[0] == "a":
                GATES["b"].set()  # A is back: now let B (idle since its first record) resume

        def on_timer(self, timestamp, ctx):
            yield from super().on_timer(timestamp, ctx)
            if timestamp == 4999:
                GATES["a"].set()  # B alone advanced the watermark while A was idle: let A resume
            if timestamp == 8999:
                GATES["end"].set()

    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(0)
    strategy = (WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(by_field)
                .with_idleness(Duration.of_millis(500)))
    a = env.add_source(GatedSource("a", ("a", 6000), "end")).assign_timestamps_and_watermarks(strategy)
    b = env.add_source(GatedSource(("b", 5000), "b", ("b", 9000), "end")).assign_timestamps_and_watermarks(strategy)
    out = list(a.union(b).key_by(lambda e: 0).process(Watch(timer_offset=-1)).execute_and_collect())
    wm_at = {r[0]: r[2] for r in out if r[0] != "timer"}
    timers = {r[1]: r[2] for r in out if r[0] == "timer"}
    # A sent nothing and went idle: B's watermark alone (4999) fired the timer before A's record
    assert out.index(("timer", 4999, 4999)) < out.index((("a", 6000), 6000, 4999))
    # A resumed with active watermarks (5999) while B was idle; neither record was late
    assert timers[5999] == 5999
    assert wm_at[("a", 6000)] < 6000 and wm_at[("b", 9000)] < 9000
    # B rejoined: once A went idle again, B's own watermark 8999 (not end-of-input) fired its timer
    assert timers[8999] == 8999


def test_ingestion_time_stamps_processing_time_and_emits_aligned_watermarks():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(1_000_050)
    env.set_stream_time_characteristic(TimeCharacteristic.IngestionTime)
    out = list(env.from_collection([1, 2, 3]).key_by(lambda e: 0).process(Observe()).execute_and_collect())
    # every record stamped with the clock; the first record emitted watermark now - now % 200
    assert [(v, ts) for v, ts, _ in out] == [(1, 1_000_050), (2, 1_000_050), (3, 1_000_050)]
    assert out[1][2] == 1_000_000


def test_event_time_default_has_no_ingestion_timestamps():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(7)
    out = list(env.from_collection([1]).key_by(lambda e: 0).process(Observe()).execute_and_collect())
    assert out == [(1, None, MIN_WATERMARK)]


# --------------------------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    (lambda e, ts: 0, "with_timestamp_assigner"),
    (42, "WatermarkStrategy"),
    ("strategy", "WatermarkStrategy"),
    (ArticleTimestampExtractor, r"instance.*ArticleTimestampExtractor\(\)"),
])
def test_assign_rejects_what_flink_would_not_accept(bad, match):
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match=match) as info:
        env.from_collection([1]).assign_timestamps_and_watermarks(bad)
    assert "assign_timestamps_and_watermarks" in str(info.value)


def test_strategy_builders_validate_their_arguments():
    with pytest.raises(JobDefinitionError, match="cannot be negative"):
        WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(-1))
    with pytest.raises(JobDefinitionError, match="greater than zero"):
        WatermarkStrategy.for_monotonous_timestamps().with_idleness(Duration.of_millis(0))
    with pytest.raises(JobDefinitionError, match="with_timestamp_assigner"):
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(5)
    with pytest.raises(JobDefinitionError, match="Length of time|length of time"):
        WatermarkStrategy.for_bounded_out_of_orderness("5s")

    class Gen(WatermarkGenerator):
        pass

    with pytest.raises(JobDefinitionError, match=r"lambda ctx: Gen\(\)"):
        WatermarkStrategy.for_generator(Gen())
    with pytest.raises(JobDefinitionError, match="cannot be negative"):
        ArticleBoundedNegative()


class ArticleBoundedNegative(BoundedOutOfOrdernessTimestampExtractor):
    def __init__(self):
        super().__init__(Time.milliseconds(-1))


def test_assigner_failure_names_operator_and_element():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(0)
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(lambda e, ts: e["ts"])
    stream = env.from_collection([{"ts": 1}, {"nots": 2}]).assign_timestamps_and_watermarks(strategy)
    with pytest.raises(JobExecutionError, match=r"Timestamps/Watermarks.*nots.*KeyError"):
        list(stream.execute_and_collect())


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
valve_events = st.lists(st.tuples(st.sampled_from(["wm", "idle", "active", "finish"]),
                                  st.integers(0, 3), st.integers(-5, 50)), max_size=60)


@given(st.integers(1, 4), valve_events)
@settings(max_examples=300)
def test_valve_never_decreases_and_is_the_min_over_active_aligned_channels(n, events):
    """Model of Flink's StatusWatermarkValve: aligned = active and caught up with the output."""
    valve = WatermarkValve(n)
    wm = [MIN_WATERMARK] * n
    active = [True] * n
    aligned = [True] * n
    finished = [False] * n
    output = MIN_WATERMARK
    for kind, c, w in events:
        c %= n
        if finished[c]:
            continue
        # Flink drops an idle channel's watermark and one that does not advance its channel
        ignored = kind == "wm" and (not active[c] or w <= wm[c])
        if kind == "wm":
            got = valve.input_watermark(c, w)
            if active[c] and w > wm[c]:
                wm[c] = w
                if not aligned[c] and w >= output:
                    aligned[c] = True
        elif kind in ("idle", "active"):
            got, _ = valve.input_status(c, kind == "idle")
            if active[c] != (kind == "active"):
                active[c] = kind == "active"
                aligned[c] = active[c] and wm[c] >= output
        else:
            got = valve.finish(c)
            finished[c], active[c], aligned[c] = True, False, False
        candidates = [wm[i] for i in range(n) if active[i] and aligned[i]]
        expected = max(output, min(candidates)) if candidates else output
        if kind == "active" or ignored:
            # Flink's StatusWatermarkValve re-aligns a reactivated channel but recomputes the
            # output only on the next watermark of an active channel or idleness change.
            expected = output
        assert valve.current == expected
        assert got == (expected if expected > output else None)
        assert valve.current >= output  # never decreases
        for i in range(n):  # never ahead of an active, aligned channel
            if active[i] and aligned[i]:
                assert valve.current <= wm[i]
        output = expected
        if not any(finished):  # finishing a channel ends its input; idleness is not announced for it
            assert valve.idle == (not any(active))


@given(st.lists(st.integers(0, 10_000), max_size=40), st.lists(st.integers(0, 10_000), max_size=40),
       st.integers(0, 500), st.sampled_from([1, 2]))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_watermark_seen_downstream_never_decreases_for_any_interleaving(ts1, ts2, bound, parallelism):
    class PerEvent(WatermarkGenerator):
        def on_event(self, event, event_timestamp, output):
            output.emit_watermark(Watermark(event_timestamp - bound))

    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(0)
    env.set_parallelism(parallelism)
    s1 = env.from_collection([("x", t) for t in ts1]).assign_timestamps_and_watermarks(
        WatermarkStrategy.for_generator(lambda ctx: PerEvent()).with_timestamp_assigner(by_field))
    s2 = env.from_collection([("y", t) for t in ts2]).assign_timestamps_and_watermarks(
        WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(bound)).with_timestamp_assigner(by_field))
    out = list(s1.union(s2).key_by(lambda e: e[1] % 3).process(Observe()).execute_and_collect())
    assert len(out) == len(ts1) + len(ts2)
    seen_per_key: dict[int, list[int]] = {}
    for value, _ts, wm in out:
        seen_per_key.setdefault(value[1] % 3, []).append(wm)
    for wms in seen_per_key.values():
        assert wms == sorted(wms)
