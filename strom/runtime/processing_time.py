"""The task's processing-time service: callbacks that run in the mailbox once the clock passes them.

Timers never run on their own thread: the task checks ``next_deadline`` between input batches
and calls :meth:`fire_due`, so a callback never runs concurrently with record processing
(Flink's mailbox guarantee).
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from strom.time.clock import Clock


class ProcessingTimeService:
    """Schedules callbacks at processing times of one task's clock."""

    __slots__ = ("clock", "_heap", "_seq", "_cancelled", "next_deadline", "quiesced")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[int, int, Callable[[int], None]]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()
        self.next_deadline: int | None = None
        self.quiesced = False

    def now(self) -> int:
        """Current processing time of this task's clock."""
        return self.clock.now()

    def register(self, timestamp: int, callback: Callable[[int], None]) -> int:
        """Call ``callback(timestamp)`` once processing time reaches ``timestamp``; returns a handle."""
        handle = next(self._seq)
        heapq.heappush(self._heap, (timestamp, handle, callback))
        if self.next_deadline is None or timestamp < self.next_deadline:
            self.next_deadline = timestamp
        return handle

    def cancel(self, handle: int) -> None:
        """Cancel a registered callback."""
        self._cancelled.add(handle)

    def fire_due(self, now: int | None = None) -> bool:
        """Run every callback whose time has come; returns True if any ran."""
        if self.quiesced:
            return False
        if now is None:
            now = self.clock.now()
        heap, fired = self._heap, False
        while heap and heap[0][0] <= now:
            ts, handle, callback = heapq.heappop(heap)
            if handle in self._cancelled:
                self._cancelled.discard(handle)
                continue
            fired = True
            callback(ts)
        self.next_deadline = heap[0][0] if heap else None
        return fired

    def quiesce(self) -> None:
        """Stop firing: used when the task ends (Flink does not fire pending processing-time timers then)."""
        self.quiesced = True
        self._heap.clear()
        self.next_deadline = None
