"""Operator list state and CheckpointedFunction: redistribution rules, harness snapshots, jobs."""
from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strom.common.restart_strategy import RestartStrategies
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.functions import CheckpointedFunction, MapFunction
from strom.errors import InvalidTypeError, JobExecutionError, StateAccessError
from strom.runtime.operators.stateless import MapOperator
from strom.state import ListStateDescriptor
from strom.state.operator_state import OperatorStateStore, redistribute
from strom.testing import CollectSink, OneInputHarness
from strom.time.clock import ManualClock


def snapshot_of(items: list[Any], mode: str = "split") -> dict:
    store = OperatorStateStore()
    state = (store.get_list_state if mode == "split" else store.get_union_list_state)(
        ListStateDescriptor("s"))
    state.update(items)
    return store.snapshot()


@given(st.lists(st.lists(st.integers(), max_size=6), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=5))
def test_split_state_is_partitioned_and_union_state_is_copied(olds: list[list[int]], new_p: int) -> None:
    everything = sorted(x for items in olds for x in items)
    split = redistribute([snapshot_of(items) for items in olds], new_p)
    parts = [s["states"]["s"]["items"] if "s" in s["states"] else [] for s in split]
    assert sorted(x for p in parts for x in p) == everything  # nothing lost, nothing doubled
    if len(olds) == new_p:
        assert parts == olds  # the same parallelism: every subtask gets its own items back
    else:
        assert max(map(len, parts)) - min(map(len, parts)) <= 1  # evenly
    union = redistribute([snapshot_of(items, "union") for items in olds], new_p)
    for s in union:
        assert sorted(s["states"]["s"]["items"]) == everything


def test_a_state_is_one_mode_and_rejects_none() -> None:
    store = OperatorStateStore()
    state = store.get_list_state(ListStateDescriptor("s"))
    with pytest.raises(StateAccessError, match="None cannot be added"):
        state.add(None)
    with pytest.raises(InvalidTypeError, match="registered as split list state but requested as union"):
        store.get_union_list_state(ListStateDescriptor("s"))
    restored = OperatorStateStore()
    restored.restore(snapshot_of([1], "union"))
    with pytest.raises(InvalidTypeError, match="checkpointed as union list state"):
        restored.get_list_state(ListStateDescriptor("s"))


class CountingMap(MapFunction, CheckpointedFunction):
    """Counts the records it saw (operator state), across restores."""

    def __init__(self) -> None:
        self.count = 0

    def initialize_state(self, context: Any) -> None:
        self.state = context.get_operator_state_store().get_list_state(ListStateDescriptor("count"))
        self.restored = context.is_restored()
        self.count = sum(self.state.get())

    def snapshot_state(self, context: Any) -> None:
        self.state.update([self.count])

    def map(self, value: Any) -> Any:
        self.count += 1
        return (value, self.count)


def counting_operator() -> MapOperator:
    function = CountingMap()
    return MapOperator("count", function, function.map)


def test_a_checkpointed_function_through_the_harness_and_rescaled() -> None:
    h = OneInputHarness(counting_operator())
    for v in range(5):
        h.process_element(v)
    snap = h.snapshot(3)
    assert pickle.loads(snap["operator"])["states"]["count"]["items"] == [5]
    again = OneInputHarness.restore(snap, counting_operator)
    again.process_element("x")
    assert again.records() == [("x", 6)]
    halves = [OneInputHarness.restore(snap, counting_operator, parallelism=2, subtask_index=i)
              for i in range(2)]
    counts = [h.operator.function.count for h in halves]
    assert sorted(counts) == [0, 5]  # the one item went to one subtask (split redistribution)


@pytest.mark.in_process("deterministic checkpoints and timers on a ManualClock")
def test_operator_state_survives_failures_in_a_job(executor: str, tmp_path: Any) -> None:
    marker = tmp_path / "failed"

    def fail_once(value: Any) -> Any:
        if value[0] == 700 and not marker.exists():
            marker.write_text("x")
            raise RuntimeError("injected")
        return value

    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.clock = clock = ManualClock(0)

    def tick(v: int) -> int:
        clock.advance(1)
        return v

    env.enable_checkpointing(20)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(1, 0))
    sink = CollectSink()
    env.from_collection(list(range(1000))).map(tick).map(CountingMap()).map(fail_once).add_sink(sink)
    result = env.execute()
    assert result.restarts == 1
    final = {v: n for v, n in sink.values}
    assert final[999] == 1000  # the count went on from the checkpoint, not from zero


def test_without_a_restart_strategy_the_failure_reaches_the_caller(executor: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.enable_checkpointing(20)
    env.set_restart_strategy(RestartStrategies.no_restart())

    def boom(v: int) -> int:
        raise ValueError("bad record")

    env.from_collection([1]).map(boom).add_sink(CollectSink())
    with pytest.raises(JobExecutionError, match="bad record") as err:
        env.execute()
    assert "restart" not in str(err.value)
