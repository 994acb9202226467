"""Metrics: counters, gauges, meters and distributions in named groups, PyFlink's MetricGroup API.

Every operator gets a group scoped ``<job>.<task>.<subtask>.<operator>``; the registry keeps
them all so the REST API and the Prometheus endpoint (``strom.cluster.prometheus``) read them
at request time (:meth:`MetricRegistry.values`); nothing is exported per record.

Example:
    >>> group = MetricRegistry().group("job", "map", "0")
    >>> c = group.counter("seen"); c.inc(); c.get_count()
    1
"""
from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import Any, Protocol

# A shared leaf module: it imports nothing from strom's packages (the layering check in
# tests/test_layering.py keeps it so), hence the clock is only duck-typed here.


class Clock(Protocol):
    """What a meter needs of a clock (``strom.time.clock.Clock`` satisfies it)."""

    def now(self) -> int:
        """Milliseconds since the epoch."""
        ...


class _WallClock:
    """The machine's wall clock, used when a registry is made without a clock (as SystemClock)."""

    def now(self) -> int:
        return _time.time_ns() // 1_000_000


class Counter:
    """A count that goes up and down."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def inc(self, n: int = 1) -> None:
        self.count += n

    def dec(self, n: int = 1) -> None:
        self.count -= n

    def get_count(self) -> int:
        return self.count


class Gauge:
    """A value read on demand from a callable."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn

    def get_value(self) -> Any:
        return self._fn()


class Meter:
    """Events per second over a time span (default 60 s), from an injected clock."""

    __slots__ = ("_clock", "_span_ms", "_events", "count")

    def __init__(self, clock: Clock, time_span_in_seconds: int = 60) -> None:
        self._clock = clock
        self._span_ms = time_span_in_seconds * 1000
        self._events: list[tuple[int, int]] = []
        self.count = 0

    def mark_event(self, value: int = 1) -> None:
        self.count += value
        now = self._clock.now()
        events = self._events
        if events and events[-1][0] // 1000 == now // 1000:
            events[-1] = (events[-1][0], events[-1][1] + value)
        else:
            events.append((now, value))
        while events and events[0][0] < now - self._span_ms:
            events.pop(0)

    def get_count(self) -> int:
        return self.count

    def get_rate(self) -> float:
        """Events per second over the span."""
        now = self._clock.now()
        recent = sum(v for t, v in self._events if t >= now - self._span_ms)
        return recent / (self._span_ms / 1000)


class PerSecond:
    """A gauge: how much a total grew per second over the span between two reads at least a
    second apart. ``scale`` 1000 turns ns of time into ms per second (Flink's
    ``...TimeMsPerSecond``, at most 1000), 10**9 turns a count into a count per second
    (``numRecordsInPerSecond``)."""

    def __init__(self, total: Callable[[], int], clock_ns: Callable[[], int],
                 scale: int = 1000) -> None:
        self.total, self.clock_ns, self.scale = total, clock_ns, scale
        self.last_at, self.last_total, self.rate = clock_ns(), total(), 0

    def __call__(self) -> int:
        now, total = self.clock_ns(), self.total()
        if now - self.last_at >= 1_000_000_000:
            rate = (total - self.last_total) * self.scale // (now - self.last_at)
            self.rate = min(1000, rate) if self.scale == 1000 else rate
            self.last_at, self.last_total = now, total
        return self.rate


class Distribution:
    """Count, sum, min and max of updated values."""

    __slots__ = ("count", "sum", "min", "max")

    def __init__(self) -> None:
        self.count, self.sum = 0, 0
        self.min: float | None = None
        self.max: float | None = None

    def update(self, value: float) -> None:
        self.count += 1
        self.sum += value
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)


class MetricGroup:
    """A named scope of metrics (PyFlink's ``MetricGroup``)."""

    def __init__(self, registry: MetricRegistry, scope: tuple[str, ...]) -> None:
        self._registry = registry
        self.scope = scope

    def add_group(self, name: str, extra: str | None = None) -> MetricGroup:
        """A sub-group; ``add_group(key, value)`` makes a key/value group as in PyFlink."""
        parts = (name,) if extra is None else (name, extra)
        return MetricGroup(self._registry, self.scope + parts)

    def _register(self, name: str, metric: Any) -> Any:
        self._registry.metrics[".".join(self.scope + (name,))] = metric
        return metric

    def counter(self, name: str) -> Counter:
        return self._register(name, Counter())

    def gauge(self, name: str, obj: Callable[[], Any]) -> Gauge:
        return self._register(name, Gauge(obj))

    def meter(self, name: str, time_span_in_seconds: int = 60) -> Meter:
        return self._register(name, Meter(self._registry.clock, time_span_in_seconds))

    def distribution(self, name: str) -> Distribution:
        return self._register(name, Distribution())


class MetricRegistry:
    """All metrics of one job, by dotted name."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or _WallClock()
        self.metrics: dict[str, Any] = {}

    def group(self, *scope: str) -> MetricGroup:
        return MetricGroup(self, tuple(scope))

    def value(self, name: str) -> Any:
        """The current value of a metric: a count, a gauge's value or a meter's count."""
        metric = self.metrics[name]
        if isinstance(metric, Gauge):
            return metric.get_value()
        return metric.count

    def values(self, prefix: str = "") -> dict[str, Any]:
        """Every metric whose name starts with ``prefix`` as plain values, by name without the
        prefix: what the REST API shows, TaskManagers report and ``/metrics`` exports.

        A counter gives its count, a gauge its value; a meter its count and, as
        ``<name>_rate``, its events per second; a distribution its count and ``<name>_sum``,
        ``<name>_min``, ``<name>_max`` (None while empty; Flink's REST API names a histogram's
        parts ``<name>_min`` and so on the same way). A gauge whose function raises gives
        the error as text (``<error: Type: message>``) instead of failing the caller.
        """
        out: dict[str, Any] = {}
        for name, metric in list(self.metrics.items()):
            if not name.startswith(prefix):
                continue
            short = name[len(prefix):]
            if isinstance(metric, Gauge):
                try:
                    out[short] = metric.get_value()
                except Exception as exc:  # a user gauge may raise: report it, do not fail
                    out[short] = f"<error: {type(exc).__name__}: {exc}>"
            elif isinstance(metric, Meter):
                out[short] = metric.count
                out[f"{short}_rate"] = metric.get_rate()
            elif isinstance(metric, Distribution):
                out[short] = metric.count
                out[f"{short}_sum"] = metric.sum
                out[f"{short}_min"] = metric.min
                out[f"{short}_max"] = metric.max
            else:
                out[short] = metric.count
        return out
