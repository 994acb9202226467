"""Channels between subtasks, and the writer that fills them in batches.

A channel carries, in order: record batches ``(values, timestamps)`` (two parallel lists) and
events (watermarks, idleness, barriers, end of partition). Its capacity in batches is the
consumer's credit: a producer whose channels are full is not scheduled until they drain
(credit-based backpressure). :class:`LocalChannel` is the in-process implementation; the
process and network transports implement the same interface.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from strom.runtime.fusion import InlineTail, compile_steps
from strom.runtime.keys import key_expression
from strom.time.watermarks import Watermark, WatermarkStatus

DEFAULT_BATCH_SIZE = 1024
DEFAULT_CREDITS = 8


class Channel:
    """One producer subtask -> one consumer subtask. Single producer, single consumer.

    Two hooks let an executor that parks idle tasks wake them: ``on_push`` (called after data
    or an event arrives for the consumer: wake the consumer) and ``on_credit`` (called when
    the channel can take more again after it was full: wake the producer). Both run per batch
    or event, never per record, may run on any thread and must not block. A channel whose two
    ends live in different processes implements only its end's side of the interface.
    """

    on_push: Callable[[], None] | None = None
    on_credit: Callable[[], None] | None = None
    # Whether the producing task ships a partial batch at the end of every step: yes when the
    # consumer runs on the same thread between steps (in-process); a consumer in another
    # process runs meanwhile, so its channel takes partial batches only when the task runs out
    # of work or its buffer timeout passed (besides full batches and before events, as always)
    flush_each_step = True
    # Whether the channel keeps the batch object it is pushed (in-process: the consumer reads
    # it later), so the writer must hand over a copy of its buffers; a channel that serializes
    # during ``push`` gets the buffers themselves (a copy would also make marshal track every
    # record as shared, ~40 % more serialization work)
    keeps_batches = True

    def push(self, item: Any) -> None:
        raise NotImplementedError

    def poll(self) -> Any:
        """The next item, or None when nothing is available."""
        raise NotImplementedError

    def has_credit(self) -> bool:
        """True while the consumer can take more batches."""
        raise NotImplementedError

    def unread(self, item: Any) -> None:
        """Consumer side: put ``item`` back so that the next ``poll`` returns it (the rest of a
        batch whose processing was cut short by a due timer)."""
        raise NotImplementedError


class LocalChannel(Channel):
    """An in-memory deque; thread-safe for one producer and one consumer (deque ops are atomic).

    ``on_push`` runs after every push, ``on_credit`` when a poll brings the channel back below
    its credits (a producer blocked on it can go on).
    """

    __slots__ = ("queue", "credits", "on_push", "on_credit", "name")

    def __init__(self, credits: int = DEFAULT_CREDITS, name: str = "") -> None:
        self.queue: deque = deque()
        self.credits = credits
        self.on_push: Callable[[], None] | None = None
        self.on_credit: Callable[[], None] | None = None
        self.name = name

    def push(self, item: Any) -> None:
        self.queue.append(item)
        if self.on_push is not None:
            self.on_push()

    def poll(self) -> Any:
        try:
            item = self.queue.popleft()
        except IndexError:
            return None
        # Polls take one item at a time, so after a producer saw the channel full, some later
        # poll leaves exactly credits - 1 items (even if it pushed more meanwhile) and wakes it.
        if self.on_credit is not None and len(self.queue) == self.credits - 1:
            self.on_credit()
        return item

    def has_credit(self) -> bool:
        return len(self.queue) < self.credits

    def unread(self, item: Any) -> None:
        self.queue.appendleft(item)

    def __len__(self) -> int:
        return len(self.queue)


# The per-record code of a writer with one channel, and of a key-group writer (the key's cached
# channel; a new key, an unhashable one or a failing key selector takes the full path, which
# raises the error that names the element).
_SINGLE = (
    "{p}vals.append({v})",
    "{p}tss.append(ts)",
    "if len({p}vals) >= {p}size:",
    "    {p}flush(0)",
)
_BY_KEY = (
    "try:",
    "    {p}c = {p}routes[{key}]",
    "except Exception:",
    "    {p}c = {p}select({v})",
    "{p}vals = {p}values[{p}c]",
    "{p}vals.append({v})",
    "{p}timestamps[{p}c].append(ts)",
    "if len({p}vals) >= {p}size:",
    "    {p}flush({p}c)",
)


class RecordWriter:
    """Buffers one producer's records per channel and ships them as batches.

    ``collect(value, ts)`` is built once for the partitioner so the per-record path is a
    selector call and two appends. Buffers are flushed when full, before any event, and by the
    task at the end of each step (so latency is bounded by one step, not by a timer); a
    channel to another process only when its task runs out of work or the buffer timeout
    passed (:attr:`Channel.flush_each_step`).
    """

    def __init__(self, channels: list[Channel], selector: Callable[[Any], int] | None,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.channels = channels
        n = len(channels)
        self.values: list[list] = [[] for _ in range(n)]
        self.timestamps: list[list] = [[] for _ in range(n)]
        self.batch_size = max(1, batch_size)
        self.records_out = 0
        self.collect = self._build_collect(selector)
        self.each_step = [c for c, ch in enumerate(channels) if ch.flush_each_step]
        self.holds_partial = len(self.each_step) < n  # some channel waits for fuller batches

    def _build_collect(self, selector: Callable[[Any], int] | None) -> Callable[[Any, Any], None]:
        values, timestamps, size, flush_one = self.values, self.timestamps, self.batch_size, self._flush_one
        if selector is None:
            n = len(self.channels)

            def broadcast(value: Any, ts: Any) -> None:
                for c in range(n):
                    values[c].append(value)
                    timestamps[c].append(ts)
                    if len(values[c]) >= size:
                        flush_one(c)

            return broadcast
        if len(self.channels) == 1:
            return self._generated(InlineTail(_SINGLE, {
                "vals": values[0], "tss": timestamps[0], "size": size, "flush": flush_one}))
        routes = getattr(selector, "routes", None)
        if routes is not None:  # key groups: the cached channel of the key, inline
            names = {"routes": routes, "select": selector, "values": values,
                     "timestamps": timestamps, "size": size, "flush": flush_one}
            key = key_expression(selector.key_selector, names, "{v}")  # type: ignore[attr-defined]
            return self._generated(InlineTail(tuple(line.replace("{key}", key) for line in _BY_KEY),
                                              names))

        def partitioned(value: Any, ts: Any) -> None:
            c = selector(value)
            vals = values[c]
            vals.append(value)
            timestamps[c].append(ts)
            if len(vals) >= size:
                flush_one(c)

        return partitioned

    @staticmethod
    def _generated(tail: InlineTail) -> Callable[[Any, Any], None]:
        """``collect`` compiled from ``tail``'s code, which a fused chain ending here splices in
        instead of calling it (``collect.inline``)."""
        collect = compile_steps([], tail)
        collect.inline = tail  # type: ignore[attr-defined]
        return collect

    def _flush_one(self, c: int) -> None:
        vals = self.values[c]
        if not vals:
            return
        tss = self.timestamps[c]
        # The buffers are cleared in place so closures keep their references.
        ch = self.channels[c]
        ch.push((vals.copy(), tss.copy()) if ch.keeps_batches else (vals, tss))
        self.records_out += len(vals)
        vals.clear()
        tss.clear()

    def flush(self) -> None:
        """Ship every non-empty buffer."""
        for c in range(len(self.channels)):
            if self.values[c]:
                self._flush_one(c)

    def flush_step(self) -> None:
        """Ship the non-empty buffers of the channels flushed at the end of every step."""
        for c in self.each_step:
            if self.values[c]:
                self._flush_one(c)

    def emit_event(self, event: Any) -> None:
        """Flush, then send ``event`` on every channel (events overtake no record)."""
        self.flush()
        for ch in self.channels:
            ch.push(event)

    def emit_watermark(self, watermark: int) -> None:
        self.emit_event(Watermark(watermark))

    def emit_status(self, idle: bool) -> None:
        self.emit_event(WatermarkStatus(idle))

    def has_credit(self) -> bool:
        """True when every channel can take more."""
        return all(ch.has_credit() for ch in self.channels)
