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

__all__ = ['BroadcastState', 'ReadOnlyBroadcastState', 'AggregatingState', 'AggregatingStateDescriptor', 'AppendingState', 'ListState', 'ListStateDescriptor', 'MapState', 'MapStateDescriptor', 'MergingState', 'ReducingState', 'ReducingStateDescriptor', 'State', 'StateDescriptor', 'StateTtlConfig', 'ValueState', 'ValueStateDescriptor']
