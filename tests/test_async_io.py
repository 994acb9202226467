"""Async I/O (``AsyncDataStream``, Flink's ``AsyncWaitOperator``) on every executor.

The fake service is ``await asyncio.sleep(...)`` of a few milliseconds, its latency varying per
element so that calls complete out of order; no test asserts on a duration.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

import pytest

from strom.common import RestartStrategies, Time, WatermarkStrategy
from strom.common.watermark_strategy import TimestampAssigner, Watermark, WatermarkGenerator
from strom.datastream import (
    AsyncDataStream,
    AsyncFunction,
    AsyncRetryStrategy,
    ProcessFunction,
    ResultFuture,
    SinkFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.async_retry_predicates import empty_result_predicate, has_exception_predicate
from strom.datastream.async_retry_strategies import ExponentialBackoffDelayRetryStrategy
from strom.datastream.functions import CheckpointListener
from strom.errors import JobDefinitionError, StromError
from strom.time.clock import ManualClock

N = 60


def latency(value: int) -> float:
    """A few ms, larger for earlier elements of each group of 7: completions come out of order."""
    return (7 - value % 7) * 0.002


class Service(AsyncFunction):
    """Multiplies by 10 after a varying delay; records the most calls in flight at once."""

    stats: ClassVar[dict[str, int]] = {"now": 0, "max": 0}  # class-level: subtasks get copies

    async def async_invoke(self, value: int) -> list:
        stats = Service.stats
        stats["now"] += 1
        stats["max"] = max(stats["max"], stats["now"])
        try:
            await asyncio.sleep(latency(value))
        finally:
            stats["now"] -= 1
        return [value * 10]


def _env(executor: str) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    return env


def _collect(stream: Any) -> list:
    with stream.execute_and_collect() as results:
        return list(results)


def test_ordered_wait_keeps_the_input_order(executor: str) -> None:
    env = _env(executor)
    out = AsyncDataStream.ordered_wait(env.from_collection(list(range(N))), Service(), Time.seconds(30), 8)
    assert _collect(out.map(lambda v: v + 1)) == [v * 10 + 1 for v in range(N)]


def test_unordered_wait_emits_every_result(executor: str) -> None:
    env = _env(executor)
    out = _collect(AsyncDataStream.unordered_wait(env.from_collection(list(range(N))), Service(),
                                                  Time.seconds(30), 8))
    assert sorted(out) == [v * 10 for v in range(N)]


@pytest.mark.in_process("counts calls in flight in a class attribute")
@pytest.mark.parametrize("ordered", [True, False])
def test_capacity_bounds_the_calls_in_flight(executor: str, ordered: bool) -> None:
    Service.stats.update(now=0, max=0)
    env = _env(executor)
    wait = AsyncDataStream.ordered_wait if ordered else AsyncDataStream.unordered_wait
    out = _collect(wait(env.from_collection(list(range(N))), Service(), Time.seconds(30), capacity=4))
    assert sorted(out) == [v * 10 for v in range(N)]
    assert 2 <= Service.stats["max"] <= 4


def test_end_of_input_waits_for_every_call(executor: str) -> None:
    class Slow(AsyncFunction):
        async def async_invoke(self, value: int) -> list:
            await asyncio.sleep(0.03)  # the source ends long before any call completes
            return [value, value]

    env = _env(executor)
    out = _collect(AsyncDataStream.unordered_wait(env.from_collection(list(range(20))), Slow(),
                                                  Time.seconds(30), capacity=100))
    assert sorted(out) == sorted(list(range(20)) * 2)


class ByValue(TimestampAssigner):
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return value


class EveryTenth(WatermarkGenerator):
    """A watermark after every tenth element, at its timestamp."""

    def on_event(self, event: Any, event_timestamp: int, output: Any) -> None:
        if event % 10 == 9:
            output.emit_watermark(Watermark(event_timestamp))


class CheckNotLate(ProcessFunction):
    """Passes on (value, timestamp, watermark seen); a record at or below the watermark is late."""

    def process_element(self, value: Any, ctx: ProcessFunction.Context) -> Any:
        yield value, ctx.timestamp(), ctx.timer_service().current_watermark()


def test_unordered_wait_never_emits_across_a_watermark(executor: str) -> None:
    env = _env(executor)
    strategy = WatermarkStrategy.for_generator(lambda ctx: EveryTenth()).with_timestamp_assigner(ByValue())
    stamped = env.from_collection(list(range(N))).assign_timestamps_and_watermarks(strategy)
    out = _collect(AsyncDataStream.unordered_wait(stamped, Service(), Time.seconds(30), 20)
                   .process(CheckNotLate()))
    assert sorted(v for v, _, _ in out) == [v * 10 for v in range(N)]
    for value, ts, watermark in out:
        assert ts == value // 10  # results keep the input record's timestamp
        assert ts > watermark, f"{value} came out after watermark {watermark}"
    # every group of ten comes out after the watermark closing the group before it
    assert [ts // 10 for _, ts, _ in out] == sorted(ts // 10 for _, ts, _ in out)


def test_ordered_wait_keeps_timestamps_and_watermarks_in_place(executor: str) -> None:
    env = _env(executor)
    strategy = WatermarkStrategy.for_generator(lambda ctx: EveryTenth()).with_timestamp_assigner(ByValue())
    stamped = env.from_collection(list(range(N))).assign_timestamps_and_watermarks(strategy)
    out = _collect(AsyncDataStream.ordered_wait(stamped, Service(), Time.seconds(30), 5)
                   .process(CheckNotLate()))
    assert [v for v, _, _ in out] == [v * 10 for v in range(N)]
    assert all(ts == v // 10 and ts > wm for v, ts, wm in out)


class Hangs(AsyncFunction):
    """Element 3 never answers in time."""

    async def async_invoke(self, value: int) -> list:
        await asyncio.sleep(60 if value == 3 else 0)
        return [value]


def test_timeout_override_supplies_a_fallback(executor: str) -> None:
    class Fallback(Hangs):
        def timeout(self, value: int) -> list:
            return [f"fallback {value}"]

    env = _env(executor)
    out = _collect(AsyncDataStream.ordered_wait(env.from_collection(list(range(6))), Fallback(),
                                                Time.milliseconds(50)))
    assert out == [0, 1, 2, "fallback 3", 4, 5]


def test_default_timeout_fails_naming_the_element_and_the_timeout(executor: str) -> None:
    env = _env(executor)
    out = AsyncDataStream.unordered_wait(env.from_collection(list(range(6))), Hangs(), Time.milliseconds(50))
    with pytest.raises(StromError, match=r"failed on element 3: .*within the timeout of 50 ms"):
        _collect(out)


def test_an_exception_in_the_coroutine_names_the_element(executor: str) -> None:
    class Fails(AsyncFunction):
        async def async_invoke(self, value: int) -> list:
            if value == 4:
                raise ConnectionError("service down")
            return [value]

    env = _env(executor)
    out = AsyncDataStream.ordered_wait(env.from_collection(list(range(8))), Fails(), Time.seconds(30))
    with pytest.raises(StromError, match=r"'async wait operator' failed on element 4: ConnectionError: service down"):
        _collect(out)


def test_a_result_that_is_not_a_list_fails_at_that_element(executor: str) -> None:
    class Scalar(AsyncFunction):
        async def async_invoke(self, value: int) -> Any:
            return value if value == 2 else [value]

    env = _env(executor)
    out = AsyncDataStream.unordered_wait(env.from_collection(list(range(5))), Scalar(), Time.seconds(30))
    with pytest.raises(StromError, match=r"returned 2 \(int\) for element 2; expected a list"):
        _collect(out)


def test_async_invoke_must_be_a_coroutine_function() -> None:
    class NotAsync(AsyncFunction):
        def async_invoke(self, value: int) -> list:  # type: ignore[override]
            return [value]

    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match=r"'async_invoke' .* should be declared as 'async def'"):
        AsyncDataStream.ordered_wait(env.from_collection([1]), NotAsync(), Time.seconds(1))
    with pytest.raises(JobDefinitionError, match="capacity must be a positive int"):
        AsyncDataStream.unordered_wait(env.from_collection([1]), Service(), Time.seconds(1), 0)
    with pytest.raises(JobDefinitionError, match="retry strategy should not be None"):
        AsyncDataStream.ordered_wait_with_retry(env.from_collection([1]), Service(), Time.seconds(1), None)
    strategy = AsyncRetryStrategy.fixed_delay(2, 1, None, has_exception_predicate)
    with pytest.raises(JobDefinitionError, match=r"a timeout \(> 0\) must be configured"):
        AsyncDataStream.unordered_wait_with_retry(env.from_collection([1]), Service(), 0, strategy)


def test_open_and_close_are_called_and_parallel_subtasks_each_get_a_copy(executor: str) -> None:
    class Prefixed(AsyncFunction):
        def open(self, runtime_context: Any) -> None:
            self.prefix = runtime_context.get_index_of_this_subtask()

        async def async_invoke(self, value: int) -> list:
            await asyncio.sleep(latency(value))
            return [(self.prefix, value)]

    env = _env(executor)
    env.set_parallelism(2)
    out = _collect(AsyncDataStream.unordered_wait(env.from_collection(list(range(N))), Prefixed(),
                                                  Time.seconds(30), 4))
    assert sorted(v for _, v in out) == list(range(N))
    assert {p for p, _ in out} == {0, 1}


class Gated(AsyncFunction):
    """Never answers (until cancelled): what is in flight at a checkpoint stays in flight."""

    async def async_invoke(self, value: int) -> list:
        await asyncio.sleep(3600)
        return [value]


class Echo(AsyncFunction):
    async def async_invoke(self, value: int) -> list:
        await asyncio.sleep(latency(value))
        return [value]


@pytest.mark.parametrize("ordered", [True, False])
def test_elements_in_flight_are_checkpointed_and_invoked_again_after_restore(ordered: bool) -> None:
    from strom.runtime.operators.async_wait import AsyncWaitOperator
    from strom.testing import OneInputHarness
    from strom.time.watermarks import Watermark as Mark

    with OneInputHarness(AsyncWaitOperator("async wait operator", Gated(), 0, 10, ordered)) as h:
        h.process_element(1, 10)
        h.process_element(2, 20)
        h.process_watermark(20)
        h.process_element(3, 30)
        snapshot = h.snapshot()
        assert h.output == []  # nothing completed, the watermark waits behind 1 and 2
    restored = OneInputHarness.restore(snapshot, lambda: AsyncWaitOperator("async wait operator", Echo(),
                                                                           0, 10, ordered))
    with restored:
        restored.process_element(4, 40)
        restored.end_input()
        out = restored.output
    assert Mark(20) in out
    mark = out.index(Mark(20))
    assert sorted(r.value for r in out[:mark]) == [1, 2]
    assert sorted((r.value, r.timestamp) for r in out[mark + 1:]) == [(3, 30), (4, 40)]
    if ordered:
        assert [r.value for r in out if not isinstance(r, Mark)] == [1, 2, 3, 4]


RESTORE_RUN: dict[str, Any] = {}


def advance_clock(value: int) -> int:
    """Moves the job's ManualClock 1 ms per record, so checkpoints come every few records."""
    RESTORE_RUN["clock"].advance(1)
    return value


class FailOnceAfterACheckpoint(CheckpointListener):
    """Fails at the first record after a checkpoint completed, once per test run."""

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        RESTORE_RUN["checkpointed"] = True

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        pass

    def map(self, value: int) -> int:
        if RESTORE_RUN.get("checkpointed") and not RESTORE_RUN.get("failed"):
            RESTORE_RUN["failed"] = True
            raise RuntimeError("injected failure")
        return value


class Quick(AsyncFunction):
    async def async_invoke(self, value: int) -> list:
        await asyncio.sleep(0.001 * (value % 3))
        return [value]


class Remember(SinkFunction):
    def invoke(self, value: Any, context: Any) -> None:
        RESTORE_RUN["out"].append(value)


@pytest.mark.in_process("deterministic checkpoints and timers on a ManualClock")
@pytest.mark.parametrize("ordered", [True, False])
def test_a_restart_from_a_checkpoint_loses_no_element_in_flight(executor: str, ordered: bool) -> None:
    RESTORE_RUN.clear()
    RESTORE_RUN["out"] = []
    clock = RESTORE_RUN["clock"] = ManualClock(0)
    env = _env(executor)
    env.clock = clock
    env.enable_checkpointing(20)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(1, 0))
    wait = AsyncDataStream.ordered_wait if ordered else AsyncDataStream.unordered_wait
    n = 1000
    source = env.from_collection(list(range(n))).map(advance_clock)
    # at a checkpoint up to 50 calls are in flight: they are in the snapshot, invoked again after it
    (wait(source, Quick(), 0, 50).uid("async").map(FailOnceAfterACheckpoint())
     .add_sink(Remember()))
    result = env.execute("async restore")
    assert RESTORE_RUN.get("failed") and result.restarts == 1
    assert set(RESTORE_RUN["out"]) == set(range(n))


ATTEMPTS: dict[int, int] = {}  # value -> calls so far (module-level: subtasks get copies)


class Flaky(AsyncFunction):
    """Fails (or, with ``empty``, answers []) on the first two attempts of every element."""

    def __init__(self, empty: bool = False, always: bool = False) -> None:
        self.empty = empty
        self.always = always

    async def async_invoke(self, value: int) -> list:
        ATTEMPTS[value] = ATTEMPTS.get(value, 0) + 1
        await asyncio.sleep(latency(value) / 4)
        if self.always or ATTEMPTS[value] <= 2:
            if self.empty:
                return []
            raise ConnectionError(f"attempt {ATTEMPTS[value]} failed")
        return [value]


@pytest.mark.in_process("counts attempts in a class attribute")
@pytest.mark.parametrize("ordered", [True, False])
def test_retry_on_exceptions_until_a_call_succeeds(executor: str, ordered: bool) -> None:
    ATTEMPTS.clear()
    env = _env(executor)
    wait = AsyncDataStream.ordered_wait_with_retry if ordered else AsyncDataStream.unordered_wait_with_retry
    strategy = AsyncRetryStrategy.fixed_delay(3, 1, None, has_exception_predicate)
    out = _collect(wait(env.from_collection(list(range(20))), Flaky(), Time.seconds(30), strategy, 5))
    assert (out if ordered else sorted(out)) == list(range(20))
    assert ATTEMPTS == {v: 3 for v in range(20)}


@pytest.mark.in_process("counts attempts in a class attribute")
def test_retry_on_empty_results_with_exponential_backoff(executor: str) -> None:
    ATTEMPTS.clear()
    env = _env(executor)
    strategy = AsyncRetryStrategy.exponential_backoff(5, 1, 4, 2.0, empty_result_predicate, None)
    out = _collect(AsyncDataStream.ordered_wait_with_retry(
        env.from_collection(list(range(10))), Flaky(empty=True), Time.seconds(30), strategy))
    assert out == list(range(10))
    assert ATTEMPTS == {v: 3 for v in range(10)}


@pytest.mark.in_process("counts attempts in a class attribute")
def test_when_the_retries_run_out_the_last_exception_fails_the_job(executor: str) -> None:
    ATTEMPTS.clear()
    env = _env(executor)
    strategy = AsyncRetryStrategy.fixed_delay(2, 1, None, has_exception_predicate)
    out = AsyncDataStream.unordered_wait_with_retry(env.from_collection([7]), Flaky(always=True),
                                                    Time.seconds(30), strategy)
    with pytest.raises(StromError, match="failed on element 7: ConnectionError: attempt 3 failed"):
        _collect(out)
    assert ATTEMPTS == {7: 3}


def test_exponential_backoff_delays() -> None:
    strategy = ExponentialBackoffDelayRetryStrategy(10, 10, 50, 2.0, None, None)
    assert [strategy.get_backoff_time_millis(a) for a in range(1, 6)] == [10, 20, 40, 50, 50]
    assert strategy.can_retry(10) and not strategy.can_retry(11)
    with pytest.raises(JobDefinitionError, match="max_attempts should be greater than zero"):
        AsyncRetryStrategy.fixed_delay(0, 1, None, None)


class Completes(AsyncFunction):
    """Flink 2.x's form: completes the ResultFuture, some elements from another thread after the
    coroutine returned (as a client library's callback would)."""

    async def async_invoke(self, value: int, result_future: ResultFuture) -> None:
        await asyncio.sleep(latency(value))
        if value % 3 == 0:
            threading.Timer(0.002, result_future.complete, ([value * 10],)).start()
        elif value == 13:
            result_future.complete_exceptionally(ConnectionError("service down"))
        else:
            result_future.complete([value * 10])


def test_a_result_future_completed_explicitly_even_after_the_coroutine_returned(executor: str) -> None:
    env = _env(executor)
    out = _collect(AsyncDataStream.ordered_wait(env.from_collection(list(range(12))), Completes(),
                                                Time.seconds(30), 5))
    assert out == [v * 10 for v in range(12)]


def test_complete_exceptionally_fails_naming_the_element(executor: str) -> None:
    env = _env(executor)
    out = AsyncDataStream.unordered_wait(env.from_collection(list(range(20))), Completes(), Time.seconds(30))
    with pytest.raises(StromError, match=r"failed on element 13: ConnectionError: service down"):
        _collect(out)


def test_a_result_future_completed_with_a_non_list_fails(executor: str) -> None:
    class Scalar(AsyncFunction):
        async def async_invoke(self, value: int, result_future: ResultFuture) -> None:
            result_future.complete(value)

    env = _env(executor)
    out = AsyncDataStream.unordered_wait(env.from_collection([4]), Scalar(), Time.seconds(30))
    with pytest.raises(StromError, match=r"failed on element 4: TypeError: The 'result_future' of "
                                         r"AsyncFunction should be completed with data of list type, got 4"):
        _collect(out)


def test_timeout_completes_its_result_future(executor: str) -> None:
    class Fallback(AsyncFunction):
        async def async_invoke(self, value: int, result_future: ResultFuture) -> None:
            await asyncio.sleep(60 if value == 3 else 0)
            result_future.complete([value])

        def timeout(self, value: int, result_future: ResultFuture) -> None:
            result_future.complete([f"fallback {value}"])

    env = _env(executor)
    out = _collect(AsyncDataStream.ordered_wait(env.from_collection(list(range(6))), Fallback(),
                                                Time.milliseconds(50)))
    assert out == [0, 1, 2, "fallback 3", 4, 5]
