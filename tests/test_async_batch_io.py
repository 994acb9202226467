"""Batched async I/O (``AsyncDataStream.*_wait_batch``, Flink's ``AsyncBatchWaitOperator``).

The fake service answers each batch after ``await asyncio.sleep(...)`` of a few milliseconds, its
latency varying with the batch's first element so that batches complete out of order. Every
result says which batch it was in, so the batching is observed on every executor (no shared
counters); no test asserts on a duration.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from strom.common import RestartStrategies, Time, WatermarkStrategy
from strom.datastream import (
    AsyncBatchFunction,
    AsyncDataStream,
    SourceFunction,
    StreamExecutionEnvironment,
)
from strom.errors import JobDefinitionError, StromError
from strom.runtime.operators.async_batch_wait import AsyncBatchWaitOperator
from strom.testing import OneInputHarness
from strom.time.clock import ManualClock
from strom.time.watermarks import Watermark as Mark
from tests.test_async_io import (
    RESTORE_RUN,
    ByValue,
    CheckNotLate,
    EveryTenth,
    FailOnceAfterACheckpoint,
    Remember,
    advance_clock,
    latency,
)


class Batched(AsyncBatchFunction):
    """Answers (value * 10, first element of its batch, batch length) per input."""

    async def async_invoke_batch(self, inputs: list) -> list:
        await asyncio.sleep(latency(inputs[0]))
        return [(v * 10, inputs[0], len(inputs)) for v in inputs]


def _env(executor: str) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    return env


def _collect(stream: Any) -> list:
    with stream.execute_and_collect() as results:
        return list(results)


def _batches(out: list) -> dict[int, list[int]]:
    """first element -> the values of its batch, from the results' tags."""
    batches: dict[int, list[int]] = {}
    for value, first, size in out:
        batches.setdefault(first, []).append(value // 10)
        assert len(batches[first]) <= size
    return batches


@pytest.mark.parametrize("ordered", [True, False])
def test_a_full_batch_goes_out_and_the_end_of_input_flushes_the_rest(executor: str, ordered: bool) -> None:
    env = _env(executor)
    wait = AsyncDataStream.ordered_wait_batch if ordered else AsyncDataStream.unordered_wait_batch
    out = _collect(wait(env.from_collection(list(range(23))), Batched(), Time.seconds(30), batch_size=5,
                        capacity=3))
    assert _batches(out) == {f: list(range(f, min(f + 5, 23))) for f in range(0, 23, 5)}
    assert all(size == (3 if first == 20 else 5) for _, first, size in out)
    values = [v for v, _, _ in out]
    if ordered:
        assert values == [v * 10 for v in range(23)]
    else:
        assert sorted(values) == [v * 10 for v in range(23)]


class Pausing(SourceFunction):
    """0, 1, 2, then a pause far longer than the batch timeout, then 3, 4, 5."""

    def run(self, ctx: Any) -> None:
        for v in range(6):
            if v == 3:
                time.sleep(0.5)
            ctx.collect(v)

    def cancel(self) -> None:
        pass


def test_the_batch_timeout_flushes_a_partial_batch(executor: str) -> None:
    env = _env(executor)
    out = _collect(AsyncDataStream.unordered_wait_batch(
        env.add_source(Pausing()), Batched(), Time.seconds(30), batch_size=100,
        batch_timeout=Time.milliseconds(50)))
    batches = _batches(out)
    assert sorted(v for vs in batches.values() for v in vs) == list(range(6))
    # a batch never spans the pause: the timer flushed what came before it
    assert all(max(vs) < 3 or min(vs) >= 3 for vs in batches.values()), batches


def test_batch_timeout_on_the_operators_processing_time_clock() -> None:
    op = AsyncBatchWaitOperator("async batch wait operator", Batched(), 30_000, 10, 100, 5, True)
    with OneInputHarness(op, clock=ManualClock(0)) as h:
        h.process_element(1, None)
        h.set_processing_time(60)
        h.process_element(2, None)
        assert op.batches == 0
        h.set_processing_time(100)  # 100 ms after the batch's first element
        assert op.batches == 1
        h.process_element(3, None)
        h.end_input()
        assert h.records() == [(10, 1, 2), (20, 1, 2), (30, 3, 1)]


def test_a_watermark_flushes_the_batch_and_results_are_never_late(executor: str) -> None:
    env = _env(executor)
    strategy = WatermarkStrategy.for_generator(lambda ctx: EveryTenth()).with_timestamp_assigner(ByValue())
    stamped = env.from_collection(list(range(40))).assign_timestamps_and_watermarks(strategy)
    out = _collect(AsyncDataStream.unordered_wait_batch(stamped, Batched(), Time.seconds(30), batch_size=4)
                   .process(CheckNotLate()))
    batches = _batches([r for r, _, _ in out])
    assert all(min(vs) // 10 == max(vs) // 10 for vs in batches.values()), batches  # none spans a watermark
    for (_, first, _), ts, watermark in out:
        assert ts == max(batches[first]) and ts > watermark  # the batch's latest timestamp


class Fails(AsyncBatchFunction):
    async def async_invoke_batch(self, inputs: list) -> list:
        if 4 in inputs:
            raise ConnectionError("service down")
        return inputs


def test_an_exception_names_the_batch(executor: str) -> None:
    env = _env(executor)
    out = AsyncDataStream.ordered_wait_batch(env.from_collection(list(range(8))), Fails(), Time.seconds(30), 3)
    with pytest.raises(StromError, match=r"'async batch wait operator \(ordered\)' failed on batch "
                                         r"\[3, 4, 5\]: ConnectionError: service down"):
        _collect(out)


class Hangs(AsyncBatchFunction):
    """The batch holding 3 never answers in time."""

    async def async_invoke_batch(self, inputs: list) -> list:
        await asyncio.sleep(60 if 3 in inputs else 0)
        return inputs


def test_timeout_batch_supplies_a_fallback(executor: str) -> None:
    class Fallback(Hangs):
        def timeout_batch(self, inputs: list) -> list:
            return [f"fallback {v}" for v in inputs]

    env = _env(executor)
    out = _collect(AsyncDataStream.ordered_wait_batch(env.from_collection(list(range(6))), Fallback(),
                                                      Time.milliseconds(100), batch_size=2))
    assert out == [0, 1, "fallback 2", "fallback 3", 4, 5]


def test_the_default_timeout_fails_naming_the_batch(executor: str) -> None:
    env = _env(executor)
    out = AsyncDataStream.unordered_wait_batch(env.from_collection(list(range(6))), Hangs(),
                                               Time.milliseconds(100), batch_size=2)
    with pytest.raises(StromError, match=r"failed on batch \[2, 3\]: async_invoke_batch did not complete "
                                         r"within the timeout of 100 ms"):
        _collect(out)


@pytest.mark.parametrize(("result", "message"), [
    (42, r"returned 42 \(int\) for batch \[0, 1\]; expected a list"),
    (None, r"returned None \(NoneType\) for batch \[0, 1\]; the result cannot be none"),
])
def test_a_result_that_is_not_a_list_fails_at_that_batch(executor: str, result: Any, message: str) -> None:
    class Scalar(AsyncBatchFunction):
        async def async_invoke_batch(self, inputs: list) -> Any:
            return result

    env = _env(executor)
    out = AsyncDataStream.unordered_wait_batch(env.from_collection([0, 1]), Scalar(), Time.seconds(30), 2)
    with pytest.raises(StromError, match=message):
        _collect(out)


def test_the_batch_forms_are_checked_at_job_build() -> None:
    class NotAsync(AsyncBatchFunction):
        def async_invoke_batch(self, inputs: list) -> list:  # type: ignore[override]
            return inputs

    env = StreamExecutionEnvironment.get_execution_environment()
    ds = env.from_collection([1])
    with pytest.raises(JobDefinitionError, match=r"'async_invoke_batch' .* should be declared as 'async def'"):
        AsyncDataStream.ordered_wait_batch(ds, NotAsync(), Time.seconds(1), 2)
    with pytest.raises(JobDefinitionError, match="batch_size must be a positive int"):
        AsyncDataStream.unordered_wait_batch(ds, Batched(), Time.seconds(1), -1)
    with pytest.raises(JobDefinitionError, match="timeout must be positive"):
        AsyncDataStream.unordered_wait_batch(ds, Batched(), 0, 2)
    with pytest.raises(JobDefinitionError, match="batch_timeout cannot be negative"):
        AsyncDataStream.unordered_wait_batch(ds, Batched(), Time.seconds(1), 2, -5)
    with pytest.raises(JobDefinitionError, match="capacity must be a positive int"):
        AsyncDataStream.ordered_wait_batch(ds, Batched(), Time.seconds(1), 2, capacity=0)


class Gated(AsyncBatchFunction):
    """Never answers (until cancelled): what is in flight at a checkpoint stays in flight."""

    async def async_invoke_batch(self, inputs: list) -> list:
        await asyncio.sleep(3600)
        return inputs


@pytest.mark.parametrize("ordered", [True, False])
def test_buffered_and_in_flight_elements_are_checkpointed_and_invoked_again(ordered: bool) -> None:
    def make(function: AsyncBatchFunction) -> AsyncBatchWaitOperator:
        return AsyncBatchWaitOperator("async batch wait operator", function, 30_000, 2, 0, 10, ordered)

    with OneInputHarness(make(Gated())) as h:
        for v in (1, 2, 3):  # [1, 2] in flight, 3 buffered
            h.process_element(v, v * 10)
        h.process_watermark(30)  # flushes [3]
        h.process_element(4, 40)  # buffered
        snapshot = h.snapshot()
        assert h.output == []
    with OneInputHarness.restore(snapshot, lambda: make(Batched())) as restored:
        restored.process_element(5, 50)
        restored.end_input()
        out = restored.output
    mark = out.index(Mark(30))
    assert sorted(r.value for r in out[:mark]) == [(10, 1, 2), (20, 1, 2), (30, 3, 1)]
    assert sorted((r.value, r.timestamp) for r in out[mark + 1:]) == [((40, 4, 2), 50), ((50, 4, 2), 50)]
    if ordered:
        assert [r.value[0] for r in out if not isinstance(r, Mark)] == [10, 20, 30, 40, 50]


class QuickBatch(AsyncBatchFunction):
    async def async_invoke_batch(self, inputs: list) -> list:
        await asyncio.sleep(0.001 * (inputs[0] % 3))
        return inputs


@pytest.mark.in_process("deterministic checkpoints and timers on a ManualClock")
@pytest.mark.parametrize("ordered", [True, False])
def test_a_restart_from_a_checkpoint_loses_no_buffered_or_in_flight_element(executor: str,
                                                                             ordered: bool) -> None:
    RESTORE_RUN.clear()
    RESTORE_RUN["out"] = []
    clock = RESTORE_RUN["clock"] = ManualClock(0)
    env = _env(executor)
    env.clock = clock
    env.enable_checkpointing(20)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(1, 0))
    wait = AsyncDataStream.ordered_wait_batch if ordered else AsyncDataStream.unordered_wait_batch
    n = 1000
    source = env.from_collection(list(range(n))).map(advance_clock)
    # at a checkpoint up to 10 batches of 7 are in flight and up to 6 records buffered
    (wait(source, QuickBatch(), Time.seconds(30), batch_size=7, capacity=10).uid("async batch")
     .map(FailOnceAfterACheckpoint()).add_sink(Remember()))
    result = env.execute("async batch restore")
    assert RESTORE_RUN.get("failed") and result.restarts == 1
    assert set(RESTORE_RUN["out"]) == set(range(n))
