"""Time: clocks, durations, watermark elements, the watermark valve and timer heaps.

The bottom layer of strom's core: pure pieces that know nothing of tasks or operators, so the
state backends, windows, checkpoints and the runtime can all build on them. ``strom.time``
imports no other strom package except the shared leaf ``strom.errors`` (enforced by the
import-linter contracts run in ``tests/test_layering.py``). Time is injected, never read from
the machine, except by :class:`SystemClock`.

Public surface (``__all__``): the clocks (:class:`Clock`, :class:`SystemClock`,
:class:`ManualClock`), durations (:class:`Duration`, :class:`Time`, :class:`Instant`,
:func:`to_millis`), watermark elements (:data:`MIN_WATERMARK`, :data:`MAX_WATERMARK`,
:class:`Watermark`, :class:`WatermarkStatus`), :class:`WatermarkValve`, and the timers
(:class:`TimerHeap`, :class:`KeyedTimers`).
"""
from strom.time.clock import Clock, ManualClock, SystemClock
from strom.time.durations import Duration, Instant, Time, to_millis
from strom.time.timers import KeyedTimers, TimerHeap
from strom.time.valve import WatermarkValve
from strom.time.watermarks import MAX_WATERMARK, MIN_WATERMARK, Watermark, WatermarkStatus

__all__ = [
    "MAX_WATERMARK", "MIN_WATERMARK", "Clock", "Duration", "Instant", "KeyedTimers", "ManualClock",
    "SystemClock", "Time", "TimerHeap", "Watermark", "WatermarkStatus", "WatermarkValve",
    "to_millis",
]
