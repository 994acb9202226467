"""What ``strom demo --web`` shows on the dashboard: the pipeline's outputs as they arrive.

:class:`DemoFeed` keeps a count per output and the newest records (a bounded ring, each with a
sequence number); the dashboard polls :meth:`DemoFeed.snapshot` (``GET /demo/feed?since=N``,
``strom.web``) for the records it has not seen yet. :meth:`DemoFeed.wrap` puts the feed
between the pipeline and the demo's own output (live view or JSON lines): every record goes
to both, on the job's thread.

Example:
    >>> feed = DemoFeed()
    >>> feed.add("security_alert", {"user_id": "u1"})
    >>> feed.snapshot(0)["records"][0]["output"]
    'security_alert'
"""
from __future__ import annotations

import collections
import threading
from typing import Any

from strom.api.functions import SinkFunction
from strom.demo.live import ALERT_TYPES, describe_alert

KEEP = 500
"""Records the feed keeps (the newest); a dashboard polling once a second misses none unless
the pipeline emits more than this per second, and then still sees the counts."""


class DemoFeed:
    """The demo's outputs for the dashboard: counts and the newest records, thread-safe."""

    def __init__(self, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._records: collections.deque[tuple[int, str, Any, int | None]] = \
            collections.deque(maxlen=keep)
        self._counts: dict[str, int] = {}
        self._seq = 0

    def add(self, output: str, record: Any, timestamp: int | None = None) -> None:
        """Note one record of output ``output`` with its event time (ms, if it has one);
        called on the job's threads."""
        with self._lock:
            self._seq += 1
            self._counts[output] = self._counts.get(output, 0) + 1
            self._records.append((self._seq, output, record, timestamp))

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """``{"next", "counts", "records"}``: the records numbered above ``since`` (oldest
        first, at most the newest :data:`KEEP`; each with its output, event ``timestamp`` and,
        for an alert, a one-line ``text``), and the number to ask from next time."""
        with self._lock:
            newer = [entry for entry in self._records if entry[0] > since]
            out = {"next": self._seq, "counts": dict(self._counts)}
        records = []
        for seq, output, record, timestamp in newer:
            entry = {"seq": seq, "output": output, "record": record, "timestamp": timestamp}
            if output in ALERT_TYPES and isinstance(record, dict):
                entry["text"] = describe_alert(record)
            records.append(entry)
        return {**out, "records": records}

    def wrap(self, sinks: Any) -> _FeedSinks:
        """``sinks`` (an object with ``sink(name)``) whose sinks also hand records to the feed."""
        return _FeedSinks(sinks, self)


class _FeedSinks:
    def __init__(self, inner: Any, feed: DemoFeed) -> None:
        self.inner = inner
        self.feed = feed

    def sink(self, name: str) -> SinkFunction:
        return _FeedSink(self.inner.sink(name), name, self.feed)


class _FeedSink(SinkFunction):
    """Passes each record to the wrapped sink, then to the feed."""

    def __init__(self, inner: SinkFunction, name: str, feed: DemoFeed) -> None:
        self.inner = inner
        self.name = name
        self.feed = feed

    def __deepcopy__(self, memo: dict[int, Any]) -> _FeedSink:
        import copy

        return _FeedSink(copy.deepcopy(self.inner, memo), self.name, self.feed)  # one feed

    def open(self, runtime_context: Any) -> None:
        self.inner.open(runtime_context)

    def invoke(self, value: Any, context: Any) -> None:
        self.inner.invoke(value, context)
        self.feed.add(self.name, value, context.timestamp())

    def close(self) -> None:
        self.inner.close()


__all__ = ["KEEP", "DemoFeed"]
