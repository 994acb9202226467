"""PyFlink's ``pyflink.datastream.state``: re-exports only."""
from strom.api.broadcast import BroadcastState, ReadOnlyBroadcastState
from strom.state import (
    AggregatingState,
    AggregatingStateDescriptor,
    AppendingState,
    ListState,
    ListStateDescriptor,
    MapState,
    MapStateDescriptor,
    MergingState,
    ReducingState,
    ReducingStateDescriptor,
    State,
    StateDescriptor,
    StateTtlConfig,
    ValueState,
    ValueStateDescriptor,
)
from strom.state.operator_state import OperatorStateStore

__all__ = ['OperatorStateStore', 'BroadcastState', 'ReadOnlyBroadcastState', 'AggregatingState', 'AggregatingStateDescriptor', 'AppendingState', 'ListState', 'ListStateDescriptor', 'MapState', 'MapStateDescriptor', 'MergingState', 'ReducingState', 'ReducingStateDescriptor', 'State', 'StateDescriptor', 'StateTtlConfig', 'ValueState', 'ValueStateDescriptor']
