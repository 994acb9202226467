"""Windows: assigners, triggers, evictors, merging, windows and window functions.

A window is assigner + trigger + per-window state + cleanup timer (Flink's decomposition):
:mod:`~strom.window.assigners` put elements into :mod:`~strom.window.windows`,
:mod:`~strom.window.triggers` decide when a pane fires, :mod:`~strom.window.evictors` trim
panes, :mod:`~strom.window.merging` keeps session windows stable across merges and
:mod:`~strom.window.functions` evaluate fired panes. These are pure pieces that use only
``strom.state`` and ``strom.time``; the operator that runs them is a runtime operator, as in
Flink (:mod:`strom.runtime.operators.window`). Users reach windows through
``KeyedStream.window(...)`` (:mod:`strom.api.windowing`) and the PyFlink path
``pyflink.datastream.window``. The names in ``__all__`` are the public surface.
"""
from strom.window.assigners import (
    CountSlidingWindowAssigner,
    CountTumblingWindowAssigner,
    DynamicEventTimeSessionWindows,
    DynamicProcessingTimeSessionWindows,
    EventTimeSessionWindows,
    GlobalWindows,
    MergingWindowAssigner,
    ProcessingTimeSessionWindows,
    SessionWindowTimeGapExtractor,
    SlidingEventTimeWindows,
    SlidingProcessingTimeWindows,
    TumblingEventTimeWindows,
    TumblingProcessingTimeWindows,
    WindowAssigner,
)
from strom.window.evictors import CountEvictor, DeltaEvictor, Evictor, TimeEvictor, TimestampedValue
from strom.window.functions import (
    AllWindowFunction,
    KeyedStateStore,
    ProcessAllWindowFunction,
    ProcessWindowFunction,
    WindowFunction,
)
from strom.window.triggers import (
    ContinuousEventTimeTrigger,
    ContinuousProcessingTimeTrigger,
    CountTrigger,
    EventTimeTrigger,
    NeverTrigger,
    ProcessingTimeTrigger,
    PurgingTrigger,
    Trigger,
    TriggerResult,
)
from strom.window.windows import (
    CountWindow,
    CountWindowSerializer,
    GlobalWindow,
    GlobalWindowSerializer,
    TimeWindow,
    TimeWindowSerializer,
    Window,
)

__all__ = [
    "AllWindowFunction", "ContinuousEventTimeTrigger", "ContinuousProcessingTimeTrigger",
    "CountEvictor", "CountSlidingWindowAssigner", "CountTrigger", "CountTumblingWindowAssigner",
    "CountWindow", "CountWindowSerializer", "DeltaEvictor", "DynamicEventTimeSessionWindows",
    "DynamicProcessingTimeSessionWindows", "EventTimeSessionWindows", "EventTimeTrigger",
    "Evictor", "GlobalWindow", "GlobalWindowSerializer", "GlobalWindows", "KeyedStateStore",
    "MergingWindowAssigner", "NeverTrigger", "ProcessAllWindowFunction", "ProcessWindowFunction",
    "ProcessingTimeSessionWindows", "ProcessingTimeTrigger", "PurgingTrigger",
    "SessionWindowTimeGapExtractor", "SlidingEventTimeWindows", "SlidingProcessingTimeWindows",
    "TimeEvictor", "TimeWindow", "TimeWindowSerializer", "TimestampedValue", "Trigger",
    "TriggerResult", "TumblingEventTimeWindows", "TumblingProcessingTimeWindows", "Window",
    "WindowAssigner", "WindowFunction",
]
