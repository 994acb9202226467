"""Window assigners: which windows an element belongs to (Flink's ``WindowAssigner``s).

An assigner is plain configuration: it is picklable, holds no per-key state of its own (the
count assigners keep their counter in keyed state, as PyFlink's do) and is called by the
window operator once per element with the element's timestamp (event time) or the current
processing time (processing-time assigners ask ``context.get_current_processing_time()``).

Example:
    >>> from strom.time.durations import Time
    >>> TumblingEventTimeWindows.of(Time.seconds(10)).assign_windows(None, 12_345, None)
    [TimeWindow(start=10000, end=20000)]
    >>> SlidingEventTimeWindows.of(Time.seconds(10), Time.seconds(5)).assign_windows(None, 12_345, None)
    [TimeWindow(start=10000, end=20000), TimeWindow(start=5000, end=15000)]
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable
from typing import Any, Generic, TypeVar

from strom.errors import JobDefinitionError, UserFunctionError, describe
from strom.state import ValueStateDescriptor
from strom.time.durations import Time, to_millis
from strom.window.triggers import (
    CountTrigger,
    EventTimeTrigger,
    NeverTrigger,
    ProcessingTimeTrigger,
    PurgingTrigger,
    Trigger,
)
from strom.window.windows import MIN_LONG, CountWindow, GlobalWindow, TimeWindow

T = TypeVar("T")
"""The element type an assigner sees."""
W = TypeVar("W")
"""The window type an assigner assigns."""

__all__ = [
    "CountSlidingWindowAssigner", "CountTumblingWindowAssigner", "DynamicEventTimeSessionWindows",
    "DynamicProcessingTimeSessionWindows", "EventTimeSessionWindows", "GlobalWindows",
    "MergingWindowAssigner", "ProcessingTimeSessionWindows", "SessionWindowTimeGapExtractor",
    "SlidingEventTimeWindows", "SlidingProcessingTimeWindows", "TumblingEventTimeWindows",
    "TumblingProcessingTimeWindows", "WindowAssigner",
]


def _ms(value: Any, where: str) -> int:
    return to_millis(value, where)


def _no_timestamp(name: str) -> UserFunctionError:
    msg = (f"{name}: the record has no timestamp (event-time windows need one). Hint: call "
           "data_stream.assign_timestamps_and_watermarks(...) before the window, or use a "
           "processing-time window assigner.")
    return UserFunctionError(msg, operator=name)


class WindowAssigner(ABC, Generic[T, W]):
    """Assigns zero or more windows to each element (PyFlink's ``WindowAssigner``)."""

    class WindowAssignerContext(ABC):
        """What an assigner may ask the operator: the processing time and the runtime context."""

        @abstractmethod
        def get_current_processing_time(self) -> int: ...

        @abstractmethod
        def get_runtime_context(self) -> Any: ...

    @abstractmethod
    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> Collection[Any]:
        """The windows ``element`` (with ``timestamp``) belongs to. Called once per element."""

    @abstractmethod
    def get_default_trigger(self, env: Any = None) -> Trigger:
        """The trigger used when ``WindowedStream.trigger`` was not called."""

    @abstractmethod
    def is_event_time(self) -> bool:
        """Whether windows are in event time (lateness, watermarks) or processing time."""

    def get_window_serializer(self) -> None:
        """PyFlink compatibility: strom pickles windows, so there is no serializer to return."""
        return None


class MergingWindowAssigner(WindowAssigner[T, W]):
    """An assigner whose windows can merge (sessions)."""

    class MergeCallback(ABC, Generic[W]):
        @abstractmethod
        def merge(self, to_be_merged: Iterable[Any], merge_result: Any) -> None: ...

    @abstractmethod
    def merge_windows(self, windows: Iterable[Any], callback: Any) -> None:
        """Call ``callback.merge(to_be_merged, merge_result)`` for each group of windows to merge."""


class SessionWindowTimeGapExtractor(ABC):
    """Extracts the session gap (milliseconds) from an element, for dynamic session windows."""

    @abstractmethod
    def extract(self, element: Any) -> int: ...


class _EventTime:
    """Event-time assigners: ``EventTimeTrigger`` by default; lateness and watermarks apply."""

    __slots__ = ()

    def get_default_trigger(self, env: Any = None) -> Trigger:
        return EventTimeTrigger()

    def is_event_time(self) -> bool:
        return True


class _ProcessingTime:
    """Processing-time assigners: ``ProcessingTimeTrigger`` by default."""

    __slots__ = ()

    def get_default_trigger(self, env: Any = None) -> Trigger:
        return ProcessingTimeTrigger()

    def is_event_time(self) -> bool:
        return False


# -- tumbling ---------------------------------------------------------------------------------


class _Tumbling(WindowAssigner[T, TimeWindow]):
    _name = ""

    def __init__(self, size: int, offset: int = 0) -> None:
        if size <= 0 or abs(offset) >= size:
            msg = (f"{self._name}: parameters must satisfy abs(offset) < size and size > 0, got "
                   f"size={size} ms, offset={offset} ms")
            raise JobDefinitionError(msg)
        self.size = size
        self.offset = offset

    @classmethod
    def of(cls, size: Time | Any, offset: Time | Any = None) -> Any:
        """Windows of ``size``, their starts shifted by ``offset`` (e.g. ``Time.hours(-8)``)."""
        return cls(_ms(size, f"{cls._name}.of(size)"),
                   0 if offset is None else _ms(offset, f"{cls._name}.of(offset)"))

    def __repr__(self) -> str:
        return f"{self._name}({self.size}, {self.offset})"

    def __str__(self) -> str:
        return f"{self._name}({self.size})"


class TumblingEventTimeWindows(_EventTime, _Tumbling[T]):
    """Fixed-size, non-overlapping windows of event time.

    Example:
        >>> keyed.window(TumblingEventTimeWindows.of(Time.minutes(1)))  # doctest: +SKIP
    """

    _name = "TumblingEventTimeWindows"

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[TimeWindow]:
        if timestamp is None or timestamp <= MIN_LONG:
            raise _no_timestamp(self._name)
        start = timestamp - (timestamp - self.offset) % self.size
        return [TimeWindow(start, start + self.size)]


class TumblingProcessingTimeWindows(_ProcessingTime, _Tumbling[T]):
    """Fixed-size, non-overlapping windows of the task's processing time."""

    _name = "TumblingProcessingTimeWindows"

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[TimeWindow]:
        now = context.get_current_processing_time()
        start = now - (now - self.offset) % self.size
        return [TimeWindow(start, start + self.size)]


# -- sliding ----------------------------------------------------------------------------------


class _Sliding(WindowAssigner[T, TimeWindow]):
    _name = ""

    def __init__(self, size: int, slide: int, offset: int = 0) -> None:
        if slide <= 0 or abs(offset) >= slide or size <= 0:
            msg = (f"{self._name}: parameters must satisfy abs(offset) < slide and size > 0, got "
                   f"size={size} ms, slide={slide} ms, offset={offset} ms")
            raise JobDefinitionError(msg)
        self.size = size
        self.slide = slide
        self.offset = offset

    @classmethod
    def of(cls, size: Any, slide: Any, offset: Any = None) -> Any:
        """Windows of ``size`` starting every ``slide`` (shifted by ``offset``)."""
        return cls(_ms(size, f"{cls._name}.of(size)"), _ms(slide, f"{cls._name}.of(slide)"),
                   0 if offset is None else _ms(offset, f"{cls._name}.of(offset)"))

    def _windows(self, ts: int) -> list[TimeWindow]:
        size, slide = self.size, self.slide
        start = ts - (ts - self.offset) % slide
        windows = []
        while start > ts - size:
            windows.append(TimeWindow(start, start + size))
            start -= slide
        return windows

    def __repr__(self) -> str:
        return f"{self._name}({self.size}, {self.slide}, {self.offset})"

    def __str__(self) -> str:
        return f"{self._name}({self.size}, {self.slide})"


class SlidingEventTimeWindows(_EventTime, _Sliding[T]):
    """Windows of ``size`` event time starting every ``slide``: an element is in ``size/slide`` of them."""

    _name = "SlidingEventTimeWindows"

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[TimeWindow]:
        if timestamp is None or timestamp <= MIN_LONG:
            raise _no_timestamp(self._name)
        return self._windows(timestamp)


class SlidingProcessingTimeWindows(_ProcessingTime, _Sliding[T]):
    """Sliding windows of the task's processing time."""

    _name = "SlidingProcessingTimeWindows"

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[TimeWindow]:
        return self._windows(context.get_current_processing_time())


# -- sessions ---------------------------------------------------------------------------------


def _gap_function(extractor: Any, name: str) -> Callable[[Any], int]:
    fn = getattr(extractor, "extract", None)
    if not callable(fn):
        if callable(extractor):
            fn = extractor
        else:
            msg = (f"{name}.with_dynamic_gap: expected a SessionWindowTimeGapExtractor or a "
                   f"callable, got {describe(extractor)}")
            raise JobDefinitionError(msg)
    return fn


class _Sessions(MergingWindowAssigner[T, TimeWindow]):
    _name = ""

    def __init__(self, session_gap: int | None = None,
                 session_window_time_gap_extractor: Any = None) -> None:
        gap, extractor = session_gap, session_window_time_gap_extractor
        if extractor is None and (gap is None or gap <= 0):
            raise JobDefinitionError(f"{self._name}: parameters must satisfy 0 < gap, got {gap} ms")
        self.gap = gap
        self.extractor = extractor
        self._extract = None if extractor is None else _gap_function(extractor, self._name)

    @classmethod
    def with_gap(cls, size: Any) -> Any:
        """Sessions closed by ``size`` (a gap) of inactivity."""
        return cls(_ms(size, f"{cls._name}.with_gap"))

    @classmethod
    def with_dynamic_gap(cls, extractor: Any) -> Any:
        """Sessions whose gap is ``extractor.extract(element)`` ms (or ``extractor(element)``)."""
        return cls(None, extractor)

    def _window(self, element: Any, start: int) -> TimeWindow:
        gap = self.gap
        if self._extract is not None:
            gap = self._extract(element)
            if not isinstance(gap, int):
                gap = to_millis(gap, f"{self._name} gap extractor")
            if gap <= 0:
                msg = (f"{self._name}: the dynamic session gap must satisfy 0 < gap, the "
                       f"extractor returned {gap} for {describe(element)}")
                raise UserFunctionError(msg, operator=self._name, element=element)
        return TimeWindow(start, start + gap)  # type: ignore[operator]

    def merge_windows(self, windows: Iterable[TimeWindow], callback: Any) -> None:
        TimeWindow.merge_windows(windows, callback)

    def __repr__(self) -> str:
        return f"{self._name}({self.gap if self.extractor is None else self.extractor!r})"


class EventTimeSessionWindows(_EventTime, _Sessions[T]):
    """Session windows of event time: elements closer than the gap share a session.

    Example:
        >>> keyed.window(EventTimeSessionWindows.with_gap(Time.minutes(5)))  # doctest: +SKIP
    """

    _name = "EventTimeSessionWindows"

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[TimeWindow]:
        if timestamp is None:
            raise _no_timestamp(self._name)
        return [self._window(element, timestamp)]


class ProcessingTimeSessionWindows(_ProcessingTime, _Sessions[T]):
    """Session windows of processing time."""

    _name = "ProcessingTimeSessionWindows"

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[TimeWindow]:
        return [self._window(element, context.get_current_processing_time())]


class _DynamicGap:
    """PyFlink's dynamic-session constructors: ``Dynamic*SessionWindows(extractor)``."""

    __slots__ = ()

    def __init__(self, session_window_time_gap_extractor: Any, _unused: Any = None) -> None:
        extractor = session_window_time_gap_extractor
        if isinstance(extractor, int):  # constructed by with_gap on this class
            super().__init__(extractor)  # type: ignore[call-arg]
        else:
            super().__init__(None, extractor)  # type: ignore[call-arg]

    @classmethod
    def with_dynamic_gap(cls, extractor: Any) -> Any:
        return cls(extractor)


class DynamicEventTimeSessionWindows(_DynamicGap, EventTimeSessionWindows[T]):
    """PyFlink's name for event-time sessions with a gap extractor."""

    _name = "DynamicEventTimeSessionWindows"


class DynamicProcessingTimeSessionWindows(_DynamicGap, ProcessingTimeSessionWindows[T]):
    """PyFlink's name for processing-time sessions with a gap extractor."""

    _name = "DynamicProcessingTimeSessionWindows"


# -- global and count -------------------------------------------------------------------------


class GlobalWindows(WindowAssigner[T, GlobalWindow]):
    """Every element in the one :class:`GlobalWindow`; fires only with a custom trigger."""

    @staticmethod
    def create() -> GlobalWindows:
        return GlobalWindows()

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[GlobalWindow]:
        return [GlobalWindow()]

    def get_default_trigger(self, env: Any = None) -> Trigger:
        return NeverTrigger()

    def is_event_time(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "GlobalWindows()"


class _CountWindows(WindowAssigner[T, CountWindow]):
    """What both count assigners share: the per-key element counter in keyed state, and the
    default trigger (fire and purge once a window holds ``size`` elements)."""

    _window_size: int
    _count_descriptor: ValueStateDescriptor

    def _next_index(self, context: Any) -> int:
        """The 0-based index of the current key's element being assigned (counts it)."""
        state = context.get_runtime_context().get_state(self._count_descriptor)
        count = state.value() or 0
        state.update(count + 1)
        return count

    def get_default_trigger(self, env: Any = None) -> Trigger:
        return PurgingTrigger(CountTrigger(self._window_size))

    def is_event_time(self) -> bool:
        return False


class CountTumblingWindowAssigner(_CountWindows[T]):
    """PyFlink's tumbling count windows: element ``n`` of a key goes to ``CountWindow(n // size)``.

    The per-key counter lives in keyed state. The default trigger fires (and purges, which
    changes nothing visible: a full count window never receives another element) when the
    window holds ``size`` elements; a window that is not full never fires.
    """

    def __init__(self, window_size: int) -> None:
        if not isinstance(window_size, int) or window_size <= 0:
            raise JobDefinitionError(f"count window: size must be an int > 0, got {window_size!r}")
        self._window_size = window_size
        self._count_descriptor = ValueStateDescriptor("tumble-count-assigner")

    @staticmethod
    def of(window_size: int) -> CountTumblingWindowAssigner:
        return CountTumblingWindowAssigner(window_size)

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[CountWindow]:
        return [CountWindow(self._next_index(context) // self._window_size)]

    def __repr__(self) -> str:
        return f"CountTumblingWindowAssigner({self._window_size})"


class CountSlidingWindowAssigner(_CountWindows[T]):
    """PyFlink's sliding count windows: window ``i`` holds elements ``i*slide .. i*slide+size-1``."""

    def __init__(self, window_size: int, window_slide: int) -> None:
        for what, v in (("size", window_size), ("slide", window_slide)):
            if not isinstance(v, int) or v <= 0:
                raise JobDefinitionError(f"count window: {what} must be an int > 0, got {v!r}")
        self._window_size = window_size
        self._window_slide = window_slide
        self._count_descriptor = ValueStateDescriptor("slide-count-assigner")

    @staticmethod
    def of(window_size: int, window_slide: int) -> CountSlidingWindowAssigner:
        return CountSlidingWindowAssigner(window_size, window_slide)

    def assign_windows(self, element: Any, timestamp: int | None, context: Any) -> list[CountWindow]:
        count = self._next_index(context)
        size, slide = self._window_size, self._window_slide
        last_id = count // slide
        windows = []
        while last_id >= 0 and last_id * slide <= count <= last_id * slide + size - 1:
            windows.append(CountWindow(last_id))
            last_id -= 1
        return windows

    def __repr__(self) -> str:
        return f"CountSlidingWindowAssigner({self._window_size}, {self._window_slide})"
