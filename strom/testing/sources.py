"""Test sources and sinks for end-to-end jobs: ``ListSource`` with markers and ``CollectSink``.

``ListSource`` is a ``SourceFunction`` that emits a list of items, where special items are
markers: a :class:`~strom.time.watermarks.Watermark` emits that watermark, :data:`IDLE`
marks the source idle, :data:`CRASH` makes ``run`` raise. ``CollectSink`` collects what reaches
it into a list shared by every subtask's copy of the sink, readable after ``execute``.

Example:
    >>> from strom.api.environment import StreamExecutionEnvironment
    >>> env = StreamExecutionEnvironment.get_execution_environment()
    >>> sink = CollectSink()
    >>> src = ListSource.with_timestamps([("a", 1), Watermark(5), ("b", 7)])
    >>> _ = env.add_source(src).map(str.upper).add_sink(sink)
    >>> _ = env.execute()
    >>> sink.values
    ['A', 'B']
    >>> sink.timestamps
    [1, 7]
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from strom.api.functions import SinkFunction, SourceFunction
from strom.runtime import results
from strom.time.watermarks import Watermark

__all__ = ["CRASH", "IDLE", "CollectSink", "ListSource", "Marker", "SourceCrash", "Watermark"]


class Marker:
    """A control item of a :class:`ListSource` (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name  # unpickles to the module-level singleton


IDLE = Marker("IDLE")
"""Mark the source temporarily idle (its watermark stops holding back downstream)."""

CRASH = Marker("CRASH")
"""Make ``ListSource.run`` raise :class:`SourceCrash` at this point."""


class SourceCrash(RuntimeError):
    """Raised by a ListSource at a :data:`CRASH` marker."""


class ListSource(SourceFunction):
    """Emits ``items`` in order, interpreting markers; then ends (or waits to be cancelled).

    Args:
        items: plain values, or markers (``Watermark(ts)``, ``IDLE``, ``CRASH``).
        timestamped: items that are not markers are ``(value, timestamp)`` pairs.
        unbounded: after the items, keep running until ``cancel()`` (a job that never ends
            by itself, for cancellation and processing-time tests).
        stop_when: with ``unbounded``, also end once ``stop_when()`` is true (polled every
            few milliseconds), e.g. ``lambda: len(sink.values) >= 3``.
    """

    def __init__(self, items: Iterable[Any], *, timestamped: bool = False,
                 unbounded: bool = False, stop_when: Callable[[], bool] | None = None) -> None:
        self.items = list(items)
        self.timestamped = timestamped
        self.unbounded = unbounded
        self.stop_when = stop_when
        self._running = True

    @classmethod
    def with_timestamps(cls, items: Iterable[Any], *, unbounded: bool = False,
                        stop_when: Callable[[], bool] | None = None) -> ListSource:
        """A source of ``(value, timestamp)`` pairs (and markers)."""
        return cls(items, timestamped=True, unbounded=unbounded, stop_when=stop_when)

    def run(self, ctx: Any) -> None:
        for item in self.items:
            if not self._running:
                return
            if isinstance(item, Watermark):
                ctx.emit_watermark(item)
            elif item is IDLE:
                ctx.mark_as_temporarily_idle()
            elif item is CRASH:
                raise SourceCrash("ListSource: CRASH marker reached")
            elif self.timestamped:
                value, ts = item
                ctx.collect_with_timestamp(value, ts)
            else:
                ctx.collect(item)
        stop_when = self.stop_when
        while self.unbounded and self._running:
            if stop_when is not None and stop_when():
                return
            time.sleep(0.002)

    def cancel(self) -> None:
        self._running = False


_ids = itertools.count(1)


class CollectSink(SinkFunction):
    """Collects every record into a list shared by all copies of this sink (all subtasks).

    The list lives in a class-level registry keyed by the sink's id, so copies made per
    subtask (by pickling) still write to it. It is safe from several threads. A copy running
    in a TaskManager process sends its records back to the list in the process that made the
    sink (as ``execute_and_collect`` does, :mod:`strom.runtime.results`).

    Attributes:
        values: the collected values, in arrival order.
        timestamps: their timestamps (None where a record had none).
        records: ``(value, timestamp)`` pairs.
    """

    _registry: dict[int, list[tuple[Any, Any]]] = {}
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.sink_id = next(_ids)
        with CollectSink._lock:
            CollectSink._registry[self.sink_id] = []
        self.target = results.register(self._receive)
        self._deliver: Callable[[Any], None] | None = None

    def _receive(self, record: tuple[Any, Any]) -> None:
        with CollectSink._lock:
            CollectSink._registry[self.sink_id].append(record)

    def open(self, runtime_context: Any) -> None:
        resolve = getattr(getattr(runtime_context, "_info", None), "results", None)
        self._deliver = resolve(self.target.sink_id) if resolve is not None else None

    def invoke(self, value: Any, context: Any) -> None:
        ts = context.timestamp() if context is not None else None
        if self._deliver is not None:  # in another process: back to the one that made the sink
            self._deliver((value, ts))
            return
        with CollectSink._lock:
            CollectSink._registry[self.sink_id].append((value, ts))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_deliver": None}

    def _snapshot(self) -> list[tuple[Any, Any]]:
        with CollectSink._lock:
            return list(CollectSink._registry.get(self.sink_id, ()))

    @property
    def records(self) -> list[tuple[Any, Any]]:
        return self._snapshot()

    @property
    def values(self) -> list[Any]:
        return [v for v, _ in self._snapshot()]

    @property
    def timestamps(self) -> list[Any]:
        return [ts for _, ts in self._snapshot()]

    def clear(self) -> None:
        """Forget what was collected."""
        with CollectSink._lock:
            CollectSink._registry[self.sink_id] = []

    def release(self) -> None:
        """Drop this sink's list from the registry (it collects nothing afterwards)."""
        with CollectSink._lock:
            CollectSink._registry.pop(self.sink_id, None)
        results.unregister(self.target)
