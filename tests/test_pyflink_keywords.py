"""Keyword calls written for PyFlink work on strom: the parameters carry PyFlink's names.

tests/test_pyflink_surface.py compares the names; these tests make the calls, with keywords and
positionally, and run a job built with keyword calls on every executor.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from strom.common import JobExecutionResult, RestartStrategies, Time, Types, WatermarkStrategy
from strom.datastream import BroadcastStream, StreamExecutionEnvironment
from strom.datastream.state import MapStateDescriptor, StateTtlConfig
from strom.datastream.window import (
    CountTrigger,
    DynamicEventTimeSessionWindows,
    DynamicProcessingTimeSessionWindows,
    EventTimeSessionWindows,
    GlobalWindows,
    ProcessingTimeSessionWindows,
)
from strom.errors import JobDefinitionError
from strom.testing import CollectSink


def test_count_trigger_takes_window_size() -> None:
    assert CountTrigger.of(window_size=3).count == 3
    assert CountTrigger(window_size=4).count == 4
    assert CountTrigger.of(5).count == 5
    with pytest.raises(JobDefinitionError, match="window_size"):
        CountTrigger.of(window_size=0)


@pytest.mark.parametrize("cls", [EventTimeSessionWindows, ProcessingTimeSessionWindows])
def test_session_windows_take_size_and_session_gap(cls: Any) -> None:
    assert cls.with_gap(size=Time.milliseconds(7)).gap == 7
    assert cls.with_gap(Time.milliseconds(8)).gap == 8
    assert cls(session_gap=9).gap == 9
    assert cls(10).gap == 10
    with pytest.raises(JobDefinitionError, match="0 < gap"):
        cls(session_gap=0)


@pytest.mark.parametrize("cls", [DynamicEventTimeSessionWindows,
                                 DynamicProcessingTimeSessionWindows])
def test_dynamic_sessions_take_the_extractor_by_pyflinks_name(cls: Any) -> None:
    def extract(element: Any) -> int:
        return element[1]

    assigner = cls(session_window_time_gap_extractor=extract)
    assert assigner.extractor is extract
    assert cls(extract).extractor is extract


def test_accumulator_result_by_accumulator_name() -> None:
    result = JobExecutionResult("job", 1, {"lines": 3})
    assert result.get_accumulator_result(accumulator_name="lines") == 3
    assert result.get_accumulator_result("missing") is None


def test_restart_strategy_configurations_take_intervals() -> None:
    fixed = RestartStrategies.FixedDelayRestartStrategyConfiguration(
        restart_attempts=3, delay_between_attempts_interval=timedelta(seconds=2))
    assert fixed == RestartStrategies.fixed_delay_restart(3, 2000)
    assert fixed.get_delay_between_attempts_interval() == timedelta(seconds=2)
    rate = RestartStrategies.FailureRateRestartStrategyConfiguration(
        max_failure_rate=2, failure_interval=timedelta(minutes=1),
        delay_between_attempts_interval=500)
    assert rate == RestartStrategies.failure_rate_restart(2, 60_000, 500)
    assert rate.get_failure_interval() == timedelta(minutes=1)
    with pytest.raises(JobDefinitionError, match="restart_attempts"):
        RestartStrategies.FixedDelayRestartStrategyConfiguration(-1, 0)


def test_cleanup_strategies_take_pyflinks_dict() -> None:
    kinds = StateTtlConfig.CleanupStrategies.Strategies
    incremental = StateTtlConfig.CleanupStrategies.IncrementalCleanupStrategy(10, True)
    strategies = StateTtlConfig.CleanupStrategies(
        strategies={kinds.FULL_STATE_SCAN_SNAPSHOT: StateTtlConfig.CleanupStrategies.EMPTY_STRATEGY,
                    kinds.INCREMENTAL_CLEANUP: incremental},
        is_cleanup_in_background=False)
    assert strategies.in_full_snapshot()
    assert strategies.get_incremental_cleanup_strategy() is incremental
    assert strategies.get_rocksdb_compact_filter_cleanup_strategy() is None
    background = StateTtlConfig.CleanupStrategies({}, True)
    assert not background.in_full_snapshot()
    assert background.get_incremental_cleanup_strategy().get_cleanup_size() == 5
    built = (StateTtlConfig.new_builder(Time.seconds(1)).cleanup_full_snapshot().build()
             .get_cleanup_strategies())
    assert built.in_full_snapshot()
    with pytest.raises(JobDefinitionError, match="Strategies"):
        StateTtlConfig.CleanupStrategies({"full": None}, True)


def test_broadcast_stream_takes_input_stream() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    ds = env.from_collection([1])
    rules = MapStateDescriptor("rules", Types.STRING(), Types.STRING())
    stream = BroadcastStream(input_stream=ds, broadcast_state_descriptors=[rules])
    assert stream.get_broadcast_state_descriptors() == [rules]


def test_a_job_built_with_keyword_calls_runs(env: StreamExecutionEnvironment) -> None:
    sink = CollectSink()
    try:
        events = env.from_collection([("a", 1), ("a", 2), ("a", 20), ("b", 3), ("a", 21)],
                                     type_info=Types.TUPLE([Types.STRING(), Types.LONG()]))
        stamped = events.assign_timestamps_and_watermarks(
            WatermarkStrategy.for_monotonous_timestamps()
            .with_timestamp_assigner(lambda e, _ts: e[1]))
        (stamped.key_by(lambda e: e[0])
                .window(EventTimeSessionWindows.with_gap(size=Time.milliseconds(5)))
                .reduce(lambda x, y: (x[0], x[1] + y[1]))
                .add_sink(sink))
        (events.key_by(lambda e: e[0])
               .window(GlobalWindows.create())
               .trigger(CountTrigger.of(window_size=2))
               .reduce(lambda x, y: (x[0], -(abs(x[1]) + abs(y[1]))))
               .add_sink(sink))
        result = env.execute("keywords")
        assert sorted(sink.values) == sorted([("a", 3), ("a", 41), ("b", 3),
                                              ("a", -3), ("a", -44)])  # no purge: the pane keeps its sum
        assert result.get_accumulator_result(accumulator_name="none") is None
    finally:
        sink.release()
