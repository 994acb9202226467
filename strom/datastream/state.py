"""PyFlink's ``pyflink.datastream.state``: re-exports only."""
from strom.state import (  # noqa: F401
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

__all__ = ['# noqa: F401', 'AggregatingState', 'AggregatingStateDescriptor', 'AppendingState', 'ListState', 'ListStateDescriptor', 'MapState', 'MapStateDescriptor', 'MergingState', 'ReducingState', 'ReducingStateDescriptor', 'State', 'StateDescriptor', 'StateTtlConfig', 'ValueState', 'ValueStateDescriptor']
