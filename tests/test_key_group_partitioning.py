"""key_by routes every key to exactly one subtask: the owner of its key group (Flink's rule)."""
from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strom.api.environment import StreamExecutionEnvironment
from strom.api.functions import KeyedProcessFunction
from strom.runtime.executors import EXECUTORS
from strom.state import ValueStateDescriptor, assign_key_group, operator_index

MAXP = 128
KEYS = st.one_of(
    st.text(max_size=4),
    st.integers(-10**6, 10**6),
    st.tuples(st.sampled_from("xyz"), st.integers(0, 3)),
)


class Where(KeyedProcessFunction):
    """Emits (subtask, key, running count of the key)."""

    def open(self, ctx: Any) -> None:
        self.subtask = ctx.get_index_of_this_subtask()
        self.count = ctx.get_state(ValueStateDescriptor("count", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        n = (self.count.value() or 0) + 1
        self.count.update(n)
        yield self.subtask, ctx.get_current_key(), n


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(KEYS, max_size=40), parallelism=st.integers(1, 8),
       executor=st.sampled_from(sorted(EXECUTORS)))
def test_each_key_is_processed_by_its_key_group_owner(keys: list, parallelism: int,
                                                      executor: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.set_parallelism(parallelism)
    rows = env.from_collection(keys).key_by(lambda k: k).process(Where()) \
        .execute_and_collect(limit=10**9)

    expected_counts = Counter(keys)
    assert len(rows) == len(keys)
    subtasks_of: dict[Any, set[int]] = {}
    final: dict[Any, int] = {}
    for subtask, key, n in rows:
        subtasks_of.setdefault(key, set()).add(subtask)
        final[key] = max(final.get(key, 0), n)
    for key, subtasks in subtasks_of.items():
        assert subtasks == {operator_index(assign_key_group(key, MAXP), parallelism, MAXP)}
    assert final == dict(expected_counts)
    # each key's running counts are 1..n in order (one source subtask keeps per-key order)
    per_key: dict[Any, list[int]] = {}
    for _, key, n in rows:
        per_key.setdefault(key, []).append(n)
    assert all(ns == list(range(1, len(ns) + 1)) for ns in per_key.values())
