"""Processing-time clocks: the one place where runtime, time and window code learn the time.

Runtime code never calls ``time.time()``; it asks the clock it was given. Tests use
:class:`ManualClock` to make processing time deterministic.

Example:
    >>> clock = ManualClock(start_ms=1000)
    >>> clock.advance(500)
    >>> clock.now()
    1500
"""
from __future__ import annotations

import threading
import time as _time


class Clock:
    """Processing time in epoch milliseconds, and a way to wait for it."""

    def now(self) -> int:
        """Current processing time in milliseconds since the epoch."""
        raise NotImplementedError

    def sleep_until(self, deadline_ms: int, wakeup: threading.Event | None = None) -> None:
        """Block until ``now() >= deadline_ms`` or ``wakeup`` is set, whichever is first."""
        raise NotImplementedError

    def monotonic_ns(self) -> int:
        """A monotonic reading in nanoseconds, for bounding how long a piece of work runs."""
        raise NotImplementedError


class SystemClock(Clock):
    """The machine's wall clock."""

    def now(self) -> int:
        return _time.time_ns() // 1_000_000

    def monotonic_ns(self) -> int:
        return _time.perf_counter_ns()

    def sleep_until(self, deadline_ms: int, wakeup: threading.Event | None = None) -> None:
        delay = (deadline_ms - self.now()) / 1000.0
        if delay <= 0:
            return
        if wakeup is None:
            _time.sleep(delay)
        else:
            wakeup.wait(delay)


class ManualClock(Clock):
    """A clock that only moves when told to; ``sleep_until`` jumps forward instead of waiting."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._now * 1_000_000

    def advance(self, ms: int) -> None:
        """Move time forward by ``ms`` milliseconds."""
        if ms < 0:
            raise ValueError(f"ManualClock.advance: expected ms >= 0, got {ms}")
        self._now += ms

    def set(self, now_ms: int) -> None:
        """Set the time; it may not go backwards."""
        if now_ms < self._now:
            raise ValueError(f"ManualClock.set: time may not go backwards ({now_ms} < {self._now})")
        self._now = now_ms

    def sleep_until(self, deadline_ms: int, wakeup: threading.Event | None = None) -> None:
        if deadline_ms > self._now:
            self._now = deadline_ms
