"""Windows: the finite buckets a window operator groups elements into.

A window is also the *namespace* of its per-key state and timers, so every window type is
immutable, hashable, ordered within its type and picklable. :class:`TimeWindow` is a ``tuple``
subclass so that hashing and comparing it (done for every state and timer access) runs in C.

Example:
    >>> w = TimeWindow(0, 10_000)
    >>> w.max_timestamp()
    9999
    >>> TimeWindow.get_window_start_with_offset(-1, 0, 10_000)
    -10000
"""
from __future__ import annotations

import struct
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from strom.errors import InvalidTypeError
from strom.state.type_serializer import TypeSerializer

MAX_LONG = 2**63 - 1
MIN_LONG = -(2**63)

__all__ = ["CountWindow", "CountWindowSerializer", "GlobalWindow", "GlobalWindowSerializer", "MAX_LONG",
           "MIN_LONG", "TimeWindow", "TimeWindowSerializer", "Window"]


class Window:
    """Base of all windows (PyFlink's ``Window``): has a largest timestamp it may contain."""

    __slots__ = ()

    def max_timestamp(self) -> int:
        """The largest timestamp that still belongs to this window."""
        raise NotImplementedError


class TimeWindow(tuple, Window):
    """The interval ``[start, end)`` of event or processing time (Flink's ``TimeWindow``).

    Ordered by ``(start, end)``; equal when start and end are equal.
    """

    __slots__ = ()

    def __new__(cls, start: int, end: int) -> TimeWindow:
        return tuple.__new__(cls, (start, end))

    def __getnewargs__(self) -> tuple[int, int]:  # type: ignore[override]
        return (self[0], self[1])

    @property
    def start(self) -> int:
        """First timestamp of the window (inclusive)."""
        return self[0]

    @property
    def end(self) -> int:
        """End of the window (exclusive)."""
        return self[1]

    def get_start(self) -> int:
        """Java-style accessor."""
        return self[0]

    def get_end(self) -> int:
        """Java-style accessor."""
        return self[1]

    def max_timestamp(self) -> int:
        """``end - 1``: the last millisecond inside the window."""
        return self[1] - 1

    def intersects(self, other: TimeWindow) -> bool:
        """Whether the two windows overlap or touch (Flink's ``intersects``: closed bounds)."""
        return self[0] <= other[1] and self[1] >= other[0]

    def cover(self, other: TimeWindow) -> TimeWindow:
        """The smallest window containing both."""
        return TimeWindow(min(self[0], other[0]), max(self[1], other[1]))

    @staticmethod
    def get_window_start_with_offset(timestamp: int, offset: int, window_size: int) -> int:
        """The start of the window of ``window_size`` (shifted by ``offset``) holding ``timestamp``.

        Flink's formula, correct for negative timestamps too (Python's ``%`` already rounds
        towards negative infinity, which is what Flink's ``remainder < 0`` branch does).
        """
        return timestamp - (timestamp - offset) % window_size

    @staticmethod
    def merge_windows(windows: Iterable[TimeWindow], callback: Any) -> None:
        """Flink's ``TimeWindow.mergeWindows``: merge overlapping windows.

        Sorts the candidates by start, sweeps them into groups of mutually overlapping windows and
        calls ``callback.merge(to_be_merged, merge_result)`` (or ``callback(...)`` if it is a plain
        callable) for each group of more than one window.
        """
        merged: list[tuple[TimeWindow, list[TimeWindow]]] = []
        current: TimeWindow | None = None
        members: list[TimeWindow] = []
        for candidate in sorted(windows):
            if current is None:
                current, members = candidate, [candidate]
            elif current.intersects(candidate):
                current = current.cover(candidate)
                members.append(candidate)
            else:
                merged.append((current, members))
                current, members = candidate, [candidate]
        if current is not None:
            merged.append((current, members))
        merge = getattr(callback, "merge", callback)
        for result, group in merged:
            if len(group) > 1:
                merge(group, result)

    def __repr__(self) -> str:
        return f"TimeWindow(start={self[0]}, end={self[1]})"


class GlobalWindow(Window):
    """The single window of :class:`~strom.window.assigners.GlobalWindows` (a singleton)."""

    __slots__ = ()
    _instance: GlobalWindow | None = None

    def __new__(cls) -> GlobalWindow:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    @staticmethod
    def get() -> GlobalWindow:
        """The singleton (PyFlink name)."""
        return GlobalWindow()

    def max_timestamp(self) -> int:
        return MAX_LONG

    def __reduce__(self) -> Any:
        return (GlobalWindow, ())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobalWindow)

    def __hash__(self) -> int:
        return 0

    def __lt__(self, other: object) -> bool:
        return False

    def __repr__(self) -> str:
        return "GlobalWindow"


class CountWindow(Window):
    """A count window, identified by its sequence number per key (PyFlink's ``CountWindow``)."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:  # noqa: A002 - PyFlink's parameter name
        self.id = id

    def max_timestamp(self) -> int:
        return MAX_LONG

    def __reduce__(self) -> Any:
        return (CountWindow, (self.id,))

    def __eq__(self, other: object) -> bool:
        return type(other) is CountWindow and other.id == self.id

    def __hash__(self) -> int:
        return hash(("CountWindow", self.id))

    def __lt__(self, other: CountWindow) -> bool:
        return self.id < other.id

    def __repr__(self) -> str:
        return f"CountWindow(id={self.id})"


class TimeWindowSerializer(TypeSerializer[TimeWindow]):
    """A ``TimeWindow`` as PyFlink writes it: start and end, big-endian 64-bit (16 bytes)."""

    def serialize(self, element: TimeWindow, stream: BytesIO) -> None:
        stream.write(_TIME_WINDOW.pack(element.start, element.end))

    def deserialize(self, stream: BytesIO) -> TimeWindow:
        start, end = _TIME_WINDOW.unpack(_read(stream, _TIME_WINDOW.size, "TimeWindow"))
        return TimeWindow(start, end)


class CountWindowSerializer(TypeSerializer[CountWindow]):
    """A ``CountWindow`` as PyFlink writes it: its id, big-endian 64-bit (8 bytes)."""

    def serialize(self, element: CountWindow, stream: BytesIO) -> None:
        stream.write(_COUNT_WINDOW.pack(element.id))

    def deserialize(self, stream: BytesIO) -> CountWindow:
        (window_id,) = _COUNT_WINDOW.unpack(_read(stream, _COUNT_WINDOW.size, "CountWindow"))
        return CountWindow(window_id)


class GlobalWindowSerializer(TypeSerializer[GlobalWindow]):
    """The ``GlobalWindow`` as PyFlink writes it: one zero byte."""

    def serialize(self, element: GlobalWindow, stream: BytesIO) -> None:
        stream.write(b"\x00")

    def deserialize(self, stream: BytesIO) -> GlobalWindow:
        _read(stream, 1, "GlobalWindow")
        return GlobalWindow.get()


_TIME_WINDOW = struct.Struct(">qq")
_COUNT_WINDOW = struct.Struct(">q")


def _read(stream: BytesIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise InvalidTypeError(f"{what}Serializer.deserialize: expected {size} bytes but the "
                               f"stream held {len(data)}")
    return data
