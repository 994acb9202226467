"""Triggers: when a window's pane (one key, one window) is evaluated and/or purged.

A trigger is stateless configuration shared by all panes; everything per pane lives in state
obtained from ``ctx.get_partitioned_state(descriptor)`` (scoped to the current key and window)
and in timers registered through ``ctx``. The window operator calls ``on_element`` for every
element added to a pane, ``on_event_time``/``on_processing_time`` when a timer of the pane
fires, ``on_merge`` when session windows merge and ``clear`` when the window is disposed of.
Methods are never called concurrently and must not keep per-pane data on ``self``.

Example:
    >>> keyed.window(GlobalWindows.create()).trigger(PurgingTrigger.of(CountTrigger.of(100)))  # doctest: +SKIP
"""
from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from enum import Enum
from typing import Any, Generic, TypeVar

from strom.errors import JobDefinitionError
from strom.state import ReducingStateDescriptor
from strom.time.durations import to_millis
from strom.window.windows import CountWindow, GlobalWindow, TimeWindow, Window

T = TypeVar("T")
"""The element type a trigger sees."""
W = TypeVar("W")
"""The window type a trigger fires."""

__all__ = [
    "ContinuousEventTimeTrigger", "ContinuousProcessingTimeTrigger", "CountTrigger",
    "EventTimeTrigger", "NeverTrigger", "ProcessingTimeTrigger", "PurgingTrigger", "Trigger",
    "TriggerResult",
]



def java_remainder(a: int, b: int) -> int:
    """Java's ``a % b`` on longs: the sign of ``a`` (truncating division), where Python's ``%``
    takes the sign of ``b``. Flink's triggers align timers with it, also for negative times."""
    r = a % b
    return r - b if r and a < 0 < b else r

class TriggerResult(Enum):
    """What to do with a pane: ``(fire, purge)``."""

    CONTINUE = (False, False)
    FIRE_AND_PURGE = (True, True)
    FIRE = (True, False)
    PURGE = (False, True)

    def is_fire(self) -> bool:
        return self.value[0]

    def is_purge(self) -> bool:
        return self.value[1]


class Trigger(ABC, Generic[T, W]):
    """Decides when a pane fires (PyFlink's ``Trigger``)."""

    class TriggerContext(ABC):
        """Timers, times, metrics and pane-scoped state for trigger methods."""

        @abstractmethod
        def get_current_processing_time(self) -> int: ...

        @abstractmethod
        def get_metric_group(self) -> Any: ...

        @abstractmethod
        def get_current_watermark(self) -> int: ...

        @abstractmethod
        def register_processing_time_timer(self, time: int) -> None: ...

        @abstractmethod
        def register_event_time_timer(self, time: int) -> None: ...

        @abstractmethod
        def delete_processing_time_timer(self, time: int) -> None: ...

        @abstractmethod
        def delete_event_time_timer(self, time: int) -> None: ...

        @abstractmethod
        def get_partitioned_state(self, state_descriptor: Any) -> Any: ...

        def current_processing_time(self) -> int:
            return self.get_current_processing_time()

        def current_watermark(self) -> int:
            return self.get_current_watermark()

    class OnMergeContext(TriggerContext):
        """The context of ``on_merge``: can also merge pane state of the merged windows."""

        @abstractmethod
        def merge_partitioned_state(self, state_descriptor: Any) -> None: ...

    @abstractmethod
    def on_element(self, element: Any, timestamp: int | None, window: Any,
                   ctx: Trigger.TriggerContext) -> TriggerResult:
        """Called for every element added to a pane."""

    @abstractmethod
    def on_processing_time(self, time: int, window: Any, ctx: Trigger.TriggerContext) -> TriggerResult:
        """Called when a processing-time timer of the pane fires."""

    @abstractmethod
    def on_event_time(self, time: int, window: Any, ctx: Trigger.TriggerContext) -> TriggerResult:
        """Called when an event-time timer of the pane fires."""

    def can_merge(self) -> bool:
        """Whether ``on_merge`` is implemented (required for session windows)."""
        return False

    def on_merge(self, window: Any, ctx: Trigger.OnMergeContext) -> None:
        """Windows merged into ``window``: re-register timers, merge state."""
        msg = f"{type(self).__name__} does not support merging windows (can_merge() is False)"
        raise JobDefinitionError(msg)

    @abstractmethod
    def clear(self, window: Any, ctx: Trigger.TriggerContext) -> None:
        """The window is disposed of: delete the pane's timers and state."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


CONTINUE, FIRE, PURGE, FIRE_AND_PURGE = (TriggerResult.CONTINUE, TriggerResult.FIRE,
                                         TriggerResult.PURGE, TriggerResult.FIRE_AND_PURGE)


class EventTimeTrigger(Trigger[T, TimeWindow]):
    """Fires once the watermark passes the window's end (and again for each late element)."""

    @staticmethod
    def create() -> EventTimeTrigger:
        return EventTimeTrigger()

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        if window.max_timestamp() <= ctx.get_current_watermark():
            return FIRE  # a late element within the allowed lateness: fire right away
        ctx.register_event_time_timer(window.max_timestamp())
        return CONTINUE

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return FIRE if time == window.max_timestamp() else CONTINUE

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def can_merge(self) -> bool:
        return True

    def on_merge(self, window: Any, ctx: Any) -> None:
        end = window.max_timestamp()
        if end > ctx.get_current_watermark():
            ctx.register_event_time_timer(end)

    def clear(self, window: Any, ctx: Any) -> None:
        ctx.delete_event_time_timer(window.max_timestamp())


class ProcessingTimeTrigger(Trigger[T, TimeWindow]):
    """Fires once the task's processing time passes the window's end."""

    @staticmethod
    def create() -> ProcessingTimeTrigger:
        return ProcessingTimeTrigger()

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        ctx.register_processing_time_timer(window.max_timestamp())
        return CONTINUE

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return FIRE

    def can_merge(self) -> bool:
        return True

    def on_merge(self, window: Any, ctx: Any) -> None:
        end = window.max_timestamp()
        if end > ctx.get_current_processing_time():
            ctx.register_processing_time_timer(end)

    def clear(self, window: Any, ctx: Any) -> None:
        ctx.delete_processing_time_timer(window.max_timestamp())


class _Continuous(Trigger[T, TimeWindow]):
    """Both continuous triggers: the next fire time of a pane in ``fire-time`` state, one timer
    for it in the trigger's time domain (``_register_timer``/``_delete_timer``)."""

    def __init__(self, interval: int) -> None:
        if not isinstance(interval, int) or interval <= 0:
            raise JobDefinitionError(f"{type(self).__name__}: interval must be > 0 ms, got {interval!r}")
        self.interval = interval
        self.state_desc = ReducingStateDescriptor("fire-time", min)

    @classmethod
    def of(cls, interval: Any) -> Any:
        """Fire every ``interval`` (a Time, Duration or int ms)."""
        return cls(to_millis(interval, f"{cls.__name__}.of"))

    @abstractmethod
    def _register_timer(self, ctx: Any, time: int) -> None: ...

    @abstractmethod
    def _delete_timer(self, ctx: Any, time: int) -> None: ...

    def register_next_fire_timestamp(self, time: int, window: Any, ctx: Any,
                                     fire_timestamp_state: Any) -> None:
        """Record the pane's next fire time (``time`` + interval, at most the window's end)
        in ``fire_timestamp_state`` and register a timer for it."""
        state = fire_timestamp_state
        nxt = min(time + self.interval, window.max_timestamp())
        state.add(nxt)
        self._register_timer(ctx, nxt)

    def _on_timer(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        """A timer of the trigger's domain: fire if it is the pane's next fire time."""
        state = ctx.get_partitioned_state(self.state_desc)
        if state.get() == time:
            state.clear()
            self.register_next_fire_timestamp(time, window, ctx, state)
            return FIRE
        return CONTINUE

    def can_merge(self) -> bool:
        return True

    def on_merge(self, window: Any, ctx: Any) -> None:
        ctx.merge_partitioned_state(self.state_desc)
        nxt = ctx.get_partitioned_state(self.state_desc).get()
        if nxt is not None:
            self._register_timer(ctx, nxt)

    def clear(self, window: Any, ctx: Any) -> None:
        state = ctx.get_partitioned_state(self.state_desc)
        ts = state.get()
        if ts is not None:
            self._delete_timer(ctx, ts)
            state.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.interval})"


class ContinuousEventTimeTrigger(_Continuous[T]):
    """Fires every ``interval`` of event time within the window, and at its end."""

    def _register_timer(self, ctx: Any, time: int) -> None:
        ctx.register_event_time_timer(time)

    def _delete_timer(self, ctx: Any, time: int) -> None:
        ctx.delete_event_time_timer(time)

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        if window.max_timestamp() <= ctx.get_current_watermark():
            return FIRE
        ctx.register_event_time_timer(window.max_timestamp())
        state = ctx.get_partitioned_state(self.state_desc)
        if state.get() is None:
            ts = timestamp if timestamp is not None else 0
            self.register_next_fire_timestamp(ts - java_remainder(ts, self.interval), window, ctx, state)
        return CONTINUE

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        if time == window.max_timestamp():
            return FIRE
        return self._on_timer(time, window, ctx)

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE


class ContinuousProcessingTimeTrigger(_Continuous[T]):
    """Fires every ``interval`` of processing time (aligned to multiples of it) within the window."""

    def _register_timer(self, ctx: Any, time: int) -> None:
        ctx.register_processing_time_timer(time)

    def _delete_timer(self, ctx: Any, time: int) -> None:
        ctx.delete_processing_time_timer(time)

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        state = ctx.get_partitioned_state(self.state_desc)
        now = ctx.get_current_processing_time()
        if state.get() is None:
            self.register_next_fire_timestamp(now - java_remainder(now, self.interval), window, ctx, state)
        return CONTINUE

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return self._on_timer(time, window, ctx)

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE


class CountTrigger(Trigger[T, CountWindow]):
    """Fires when the pane holds ``count`` elements (then counts again from zero)."""

    def __init__(self, window_size: int) -> None:
        if not isinstance(window_size, int) or window_size <= 0:
            raise JobDefinitionError(
                f"CountTrigger: window_size must be an int > 0, got {window_size!r}")
        self.count = window_size
        self.state_desc = ReducingStateDescriptor("count", operator.add)

    @staticmethod
    def of(window_size: int) -> CountTrigger:
        """A trigger that fires once the pane holds ``window_size`` elements."""
        return CountTrigger(window_size)

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        state = ctx.get_partitioned_state(self.state_desc)
        state.add(1)
        if state.get() >= self.count:
            state.clear()
            return FIRE
        return CONTINUE

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def can_merge(self) -> bool:
        return True

    def on_merge(self, window: Any, ctx: Any) -> None:
        ctx.merge_partitioned_state(self.state_desc)

    def clear(self, window: Any, ctx: Any) -> None:
        ctx.get_partitioned_state(self.state_desc).clear()

    def __repr__(self) -> str:
        return f"CountTrigger({self.count})"


class PurgingTrigger(Trigger[T, Window]):
    """Turns every FIRE of the nested trigger into FIRE_AND_PURGE."""

    def __init__(self, nested_trigger: Trigger) -> None:
        self.nested_trigger = nested_trigger

    @staticmethod
    def of(nested_trigger: Trigger) -> PurgingTrigger:
        return PurgingTrigger(nested_trigger)

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        r = self.nested_trigger.on_element(element, timestamp, window, ctx)
        return FIRE_AND_PURGE if r.value[0] else r

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        r = self.nested_trigger.on_event_time(time, window, ctx)
        return FIRE_AND_PURGE if r.value[0] else r

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        r = self.nested_trigger.on_processing_time(time, window, ctx)
        return FIRE_AND_PURGE if r.value[0] else r

    def can_merge(self) -> bool:
        return self.nested_trigger.can_merge()

    def on_merge(self, window: Any, ctx: Any) -> None:
        self.nested_trigger.on_merge(window, ctx)

    def clear(self, window: Any, ctx: Any) -> None:
        self.nested_trigger.clear(window, ctx)

    def __repr__(self) -> str:
        return f"PurgingTrigger({self.nested_trigger!r})"


class NeverTrigger(Trigger[T, GlobalWindow]):
    """Never fires: the default trigger of :class:`GlobalWindows`."""

    def on_element(self, element: Any, timestamp: int | None, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def on_event_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def on_processing_time(self, time: int, window: Any, ctx: Any) -> TriggerResult:
        return CONTINUE

    def can_merge(self) -> bool:
        return True

    def on_merge(self, window: Any, ctx: Any) -> None:
        pass

    def clear(self, window: Any, ctx: Any) -> None:
        pass
