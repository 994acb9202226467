"""Keyed timers: a heap per time domain, deduplicated per (key, namespace, timestamp).

This is Flink's ``InternalTimerService`` without the runtime around it: registering the same
timer twice keeps one; deleting marks it removed; advancing the watermark pops every timer with
``timestamp <= watermark`` in timestamp order. :class:`KeyedTimers` pairs an event-time and a
processing-time heap for one keyed operator: it sets the current key and calls the owner's
``on_timer`` for each popped timer.

Example:
    >>> timers = TimerHeap()
    >>> timers.register("k", None, 10); timers.register("k", None, 10); timers.register("j", None, 5)
    True
    False
    True
    >>> [(k, t) for k, _, t in timers.pop_until(10)]
    [('j', 5), ('k', 10)]
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from typing import Any

__all__ = ["KeyedTimers", "TimerHeap"]


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


class KeyedTimers:
    """Event-time and processing-time timers of one keyed operator (Flink's InternalTimerService).

    Event-time timers fire when :meth:`advance_watermark` passes them; processing-time timers are
    woken through ``processing_time_service``. ``on_timer(key, namespace, ts, domain)`` is the
    owner's callback; ``key_context.current_key`` (the keyed state backend) is set to the timer's
    key before it is called. Not thread-safe: the owning task calls it from its mailbox only.

    Args:
        key_context: anything with a writable ``current_key`` attribute (the keyed state backend).
        processing_time_service: wakes processing-time timers; used only through
            ``register(timestamp, callback) -> handle`` and ``cancel(handle)`` (the task's
            ``ProcessingTimeService``, or any object with those two methods).
        on_timer: ``on_timer(key, namespace, timestamp, domain)``, ``domain`` being
            :attr:`EVENT_TIME` or :attr:`PROCESSING_TIME`.

    Example:
        >>> class Key: current_key = None
        >>> fired = []
        >>> timers = KeyedTimers(Key(), None, lambda k, ns, ts, d: fired.append((k, ts)))
        >>> timers.register_event_time("a", None, 7)
        >>> timers.advance_watermark(10)
        >>> fired
        [('a', 7)]
    """

    EVENT_TIME, PROCESSING_TIME = 0, 1

    def __init__(self, key_context: Any, processing_time_service: Any, on_timer: Any) -> None:
        self.key_context = key_context
        self.processing_time_service = processing_time_service
        self.event = TimerHeap()
        self.processing = TimerHeap()
        self._on_timer = on_timer
        self._wakeup: tuple[int, Any] | None = None  # (timestamp, handle)

    def register_event_time(self, key: Any, namespace: Any, ts: int) -> None:
        self.event.register(key, namespace, ts)

    def delete_event_time(self, key: Any, namespace: Any, ts: int) -> None:
        self.event.delete(key, namespace, ts)

    def register_processing_time(self, key: Any, namespace: Any, ts: int) -> None:
        if self.processing.register(key, namespace, ts):
            self._schedule()

    def delete_processing_time(self, key: Any, namespace: Any, ts: int) -> None:
        self.processing.delete(key, namespace, ts)

    def _schedule(self) -> None:
        nxt = self.processing.peek()
        if nxt is None:
            return
        if self._wakeup is not None and self._wakeup[0] <= nxt:
            return
        service = self.processing_time_service
        if self._wakeup is not None:
            service.cancel(self._wakeup[1])
        self._wakeup = (nxt, service.register(nxt, self._on_processing_time))

    def _on_processing_time(self, time: int) -> None:
        self._wakeup = None
        key_context = self.key_context
        for key, ns, ts in self.processing.pop_until(time):
            key_context.current_key = key
            self._on_timer(key, ns, ts, self.PROCESSING_TIME)
        self._schedule()

    def advance_watermark(self, watermark: int) -> None:
        """Fire every event-time timer at or before ``watermark``."""
        key_context = self.key_context
        for key, ns, ts in self.event.pop_until(watermark):
            key_context.current_key = key
            self._on_timer(key, ns, ts, self.EVENT_TIME)

    def snapshot(self) -> dict:
        """The live timers of both domains, picklable."""
        return {"event": self.event.snapshot(), "processing": self.processing.snapshot()}

    def restore(self, snap: dict) -> None:
        """Register the timers of a :meth:`snapshot` and schedule the earliest processing-time one."""
        self.event.restore(snap.get("event", []))
        self.processing.restore(snap.get("processing", []))
        self._schedule()
