"""Testing utilities: operator harnesses on real backends, and test sources and sinks.

Unit-test an operator through a harness (no job, no threads, deterministic time), and run
end-to-end jobs with :class:`ListSource` (markers for watermarks, idleness, crashes) and
:class:`CollectSink`.

Example:
    >>> from strom.testing import KeyedOneInputHarness
    >>> from strom.api.functions import KeyedProcessFunction
    >>> class Echo(KeyedProcessFunction):
    ...     def process_element(self, value, ctx):
    ...         yield value * 2
    >>> h = KeyedOneInputHarness.for_function(Echo(), lambda v: v % 2)
    >>> h.process_element(21, timestamp=3)
    >>> h.records()
    [42]
"""
from strom.testing.harness import (
    KeyedOneInputHarness,
    KeyedTwoInputHarness,
    OneInputHarness,
    Record,
    TwoInputHarness,
)
from strom.testing.sources import CRASH, IDLE, CollectSink, ListSource, Marker, SourceCrash
from strom.time.watermarks import MAX_WATERMARK, MIN_WATERMARK, Watermark, WatermarkStatus

__all__ = [
    "CRASH",
    "IDLE",
    "MAX_WATERMARK",
    "MIN_WATERMARK",
    "CollectSink",
    "KeyedOneInputHarness",
    "KeyedTwoInputHarness",
    "ListSource",
    "Marker",
    "OneInputHarness",
    "Record",
    "SourceCrash",
    "TwoInputHarness",
    "Watermark",
    "WatermarkStatus",
]
