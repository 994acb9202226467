"""Evictors: remove elements from a pane before and/or after the window function runs.

With an evictor the window operator keeps every element of a pane (no incremental
aggregation) as :class:`TimestampedValue`\\ s; ``evict_before`` runs before the window function
sees them and ``evict_after`` after it, both over a mutable list the evictor removes from.

Example:
    >>> keyed.window(GlobalWindows.create()).evictor(CountEvictor.of(3)) \\
    ...     .trigger(CountTrigger.of(1))  # doctest: +SKIP
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from strom.errors import JobDefinitionError, describe
from strom.time.durations import to_millis

__all__ = ["CountEvictor", "DeltaEvictor", "Evictor", "TimeEvictor", "TimestampedValue"]


class TimestampedValue:
    """An element of a pane with its timestamp (``None`` if it has none)."""

    __slots__ = ("value", "timestamp")

    def __init__(self, value: Any, timestamp: int | None = None) -> None:
        self.value = value
        self.timestamp = timestamp

    def get_value(self) -> Any:
        return self.value

    def get_timestamp(self) -> int | None:
        return self.timestamp

    def has_timestamp(self) -> bool:
        return self.timestamp is not None

    def __reduce__(self) -> Any:
        return (TimestampedValue, (self.value, self.timestamp))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TimestampedValue) and other.value == self.value
                and other.timestamp == self.timestamp)

    def __hash__(self) -> int:
        return hash((self.value, self.timestamp))

    def __repr__(self) -> str:
        return f"TimestampedValue({self.value!r}, {self.timestamp!r})"


class Evictor(ABC):
    """Removes elements of a pane (Flink's ``Evictor``).

    ``elements`` is a list of :class:`TimestampedValue`; remove from it in place (``del``,
    ``remove``, slice assignment). ``evictor_context`` offers ``get_current_processing_time()``,
    ``get_current_watermark()`` and ``get_metric_group()``.
    """

    class EvictorContext(ABC):
        @abstractmethod
        def get_current_processing_time(self) -> int: ...

        @abstractmethod
        def get_current_watermark(self) -> int: ...

        @abstractmethod
        def get_metric_group(self) -> Any: ...

    @abstractmethod
    def evict_before(self, elements: list[TimestampedValue], size: int, window: Any,
                     evictor_context: Any) -> None:
        """Called before the window function."""

    @abstractmethod
    def evict_after(self, elements: list[TimestampedValue], size: int, window: Any,
                    evictor_context: Any) -> None:
        """Called after the window function."""


class _BeforeOrAfter(Evictor):
    """The built-in evictors: one eviction rule (``_evict``), applied before the window
    function or, with ``do_evict_after``, after it."""

    do_evict_after: bool

    @abstractmethod
    def _evict(self, elements: list[TimestampedValue], size: int) -> None: ...

    def evict_before(self, elements: list[TimestampedValue], size: int, window: Any, ctx: Any) -> None:
        if not self.do_evict_after:
            self._evict(elements, size)

    def evict_after(self, elements: list[TimestampedValue], size: int, window: Any, ctx: Any) -> None:
        if self.do_evict_after:
            self._evict(elements, size)


class CountEvictor(_BeforeOrAfter):
    """Keeps at most ``max_count`` elements: the most recent ones (by arrival)."""

    def __init__(self, max_count: int, do_evict_after: bool = False) -> None:
        if not isinstance(max_count, int) or max_count < 0:
            raise JobDefinitionError(f"CountEvictor: max_count must be an int >= 0, got {max_count!r}")
        self.max_count = max_count
        self.do_evict_after = do_evict_after

    @staticmethod
    def of(max_count: int, do_evict_after: bool = False) -> CountEvictor:
        return CountEvictor(max_count, do_evict_after)

    def _evict(self, elements: list[TimestampedValue], size: int) -> None:
        if size > self.max_count:
            del elements[: size - self.max_count]

    def __repr__(self) -> str:
        return f"CountEvictor({self.max_count})"


class TimeEvictor(_BeforeOrAfter):
    """Keeps the elements newer than ``window_size`` ms before the pane's largest timestamp."""

    def __init__(self, window_size: int, do_evict_after: bool = False) -> None:
        self.window_size = window_size
        self.do_evict_after = do_evict_after

    @staticmethod
    def of(window_size: Any, do_evict_after: bool = False) -> TimeEvictor:
        return TimeEvictor(to_millis(window_size, "TimeEvictor.of"), do_evict_after)

    def _evict(self, elements: list[TimestampedValue], size: int) -> None:
        if not elements or elements[0].timestamp is None:
            return
        newest = max(e.timestamp for e in elements if e.timestamp is not None)
        cutoff = newest - self.window_size
        elements[:] = [e for e in elements if e.timestamp is None or e.timestamp > cutoff]

    def __repr__(self) -> str:
        return f"TimeEvictor({self.window_size})"


class DeltaEvictor(_BeforeOrAfter):
    """Evicts elements whose ``delta_function(element, last_element)`` is ``>= threshold``.

    ``delta_function`` is a ``DeltaFunction`` (``get_delta(old, new)``) or a plain callable.
    """

    def __init__(self, threshold: float, delta_function: Any, do_evict_after: bool = False) -> None:
        fn = getattr(delta_function, "get_delta", None)
        if not callable(fn):
            if not callable(delta_function):
                raise JobDefinitionError(
                    f"DeltaEvictor: expected a DeltaFunction or a callable, got {describe(delta_function)}")
            fn = delta_function
        self.threshold = threshold
        self.delta_function = delta_function
        self._delta = fn
        self.do_evict_after = do_evict_after

    @staticmethod
    def of(threshold: float, delta_function: Any, do_evict_after: bool = False) -> DeltaEvictor:
        return DeltaEvictor(threshold, delta_function, do_evict_after)

    def _evict(self, elements: list[TimestampedValue], size: int) -> None:
        if not elements:
            return
        last = elements[-1].value
        delta, threshold = self._delta, self.threshold
        elements[:] = [e for e in elements if delta(e.value, last) < threshold]

    def __repr__(self) -> str:
        return f"DeltaEvictor({self.threshold}, {self.delta_function!r})"
