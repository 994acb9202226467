"""Keyed state with Flink's semantics: descriptors, state views, TTL, key groups, backends.

Layering: ``strom.state`` imports nothing from ``strom.runtime`` or ``strom.api``; the runtime
creates one :class:`MemoryStateBackend` per keyed subtask, sets ``backend.current_key`` per
record and snapshots/restores it per key group.

Example:
    >>> from strom.state import MemoryStateBackend, ValueStateDescriptor, key_group_range
    >>> from strom.time.clock import ManualClock
    >>> backend = MemoryStateBackend(key_group_range(0, 1, 128), 128, ManualClock())
    >>> total = backend.state(ValueStateDescriptor("total", None))
    >>> backend.current_key = "a"
    >>> total.update(5)
    >>> backend.num_entries()
    1
"""
from strom.state.api import (
    VOID_NAMESPACE,
    AggregatingState,
    AppendingState,
    ListState,
    MapState,
    MergingState,
    ReducingState,
    State,
    ValueState,
)
from strom.state.backend import SNAPSHOT_FORMAT, KeyedStateBackend
from strom.state.descriptors import (
    AggregatingStateDescriptor,
    ListStateDescriptor,
    MapStateDescriptor,
    ReducingStateDescriptor,
    StateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
)
from strom.state.factory import create_keyed_backend
from strom.state.key_groups import (
    DEFAULT_MAX_PARALLELISM,
    KeyGroupRouter,
    assign_key_group,
    key_group_range,
    operator_index,
    stable_hash,
)
from strom.state.memory import MemoryStateBackend

__all__ = [
    "DEFAULT_MAX_PARALLELISM",
    "SNAPSHOT_FORMAT",
    "VOID_NAMESPACE",
    "AggregatingState",
    "AggregatingStateDescriptor",
    "AppendingState",
    "KeyGroupRouter",
    "KeyedStateBackend",
    "ListState",
    "ListStateDescriptor",
    "MapState",
    "MapStateDescriptor",
    "MemoryStateBackend",
    "MergingState",
    "ReducingState",
    "ReducingStateDescriptor",
    "State",
    "StateDescriptor",
    "StateTtlConfig",
    "ValueState",
    "ValueStateDescriptor",
    "assign_key_group",
    "create_keyed_backend",
    "key_group_range",
    "operator_index",
    "stable_hash",
]
