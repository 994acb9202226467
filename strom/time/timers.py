"""Keyed timers: a heap per time domain, deduplicated per (key, namespace, timestamp).

This is Flink's ``InternalTimerService`` without the runtime around it: registering the same
timer twice keeps one; deleting marks it removed; advancing the watermark pops every timer with
``timestamp <= watermark`` in timestamp order. The owning operator sets the current key and
calls the user's ``on_timer`` for each popped timer.

Example:
    >>> timers = TimerHeap()
    >>> timers.register("k", None, 10); timers.register("k", None, 10); timers.register("j", None, 5)
    >>> [(k, t) for k, _, t in timers.pop_until(10)]
    [('j', 5), ('k', 10)]
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator


class TimerHeap:
    """Timers of one time domain, ordered by timestamp, unique per (key, namespace, timestamp)."""

    __slots__ = ("_heap", "_live", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, object, object]] = []
        self._live: set[tuple[object, object, int]] = set()
        self._seq = itertools.count()

    def register(self, key: object, namespace: object, timestamp: int) -> bool:
        """Add a timer; returns False if the same timer was already registered."""
        ident = (key, namespace, timestamp)
        if ident in self._live:
            return False
        self._live.add(ident)
        heapq.heappush(self._heap, (timestamp, next(self._seq), key, namespace))
        return True

    def delete(self, key: object, namespace: object, timestamp: int) -> None:
        """Remove a timer if present (lazily: its heap entry is skipped when popped)."""
        self._live.discard((key, namespace, timestamp))

    def peek(self) -> int | None:
        """The earliest live timer's timestamp, or None."""
        heap = self._heap
        while heap:
            ts, _, key, ns = heap[0]
            if (key, ns, ts) in self._live:
                return ts
            heapq.heappop(heap)
        return None

    def pop_until(self, time: int) -> Iterator[tuple[object, object, int]]:
        """Yield and remove ``(key, namespace, timestamp)`` for every timer with timestamp <= time.

        Timers registered while iterating (by ``on_timer``) with timestamp <= time fire in the
        same pass, as in Flink.
        """
        heap, live = self._heap, self._live
        while heap and heap[0][0] <= time:
            ts, _, key, ns = heapq.heappop(heap)
            ident = (key, ns, ts)
            if ident in live:
                live.discard(ident)
                yield key, ns, ts

    def __len__(self) -> int:
        return len(self._live)

    def timers(self) -> list[tuple[object, object, int]]:
        """All live timers as ``(key, namespace, timestamp)``, sorted by timestamp."""
        return sorted(self._live, key=lambda t: (t[2], repr(t[0])))

    def for_key(self, key: object) -> list[tuple[object, int]]:
        """Live ``(namespace, timestamp)`` pairs of one key."""
        return sorted(((ns, ts) for k, ns, ts in self._live if k == key), key=lambda t: t[1])

    def snapshot(self) -> list[tuple[object, object, int]]:
        """A picklable copy of the live timers."""
        return list(self._live)

    def restore(self, timers: list[tuple[object, object, int]]) -> None:
        """Register every timer of a snapshot (duplicates collapse)."""
        for key, ns, ts in timers:
            self.register(key, ns, ts)
