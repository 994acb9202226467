"""The two ends of a channel whose producer and consumer run in different processes.

Credit-based flow control as in Flink's network stack: the consumer grants the producer a
number of batches it can buffer (the channel's credits); every batch sent uses one, every
batch the consumer takes off its queue gives one back (in ``CREDIT`` frames of half the window
each). A producer without
credit is not scheduled (``has_credit``), so a slow consumer backpressures its producers and
memory stays bounded on both sides. Events (watermarks, barriers, end of partition) need no
credit: they are few and must never wait behind a full queue of records in the other direction.

Frames are read, and payloads deserialized, on the consumer's task thread (between its
steps and when it polls), so no other thread takes the interpreter lock per frame.
"""
from __future__ import annotations

import marshal
from collections import deque
from collections.abc import Callable
from typing import Any

from strom.runtime.channels import DEFAULT_CREDITS, Channel
from strom.runtime.network.frames import BATCH, EVENT, MARSHALLED, dumps, loads


class RemoteOutputChannel(Channel):
    """The producer's end: serializes what is pushed and sends it on a connection."""

    flush_each_step = False  # the consumer runs meanwhile: fuller batches, fewer frames
    keeps_batches = False  # serialized during push

    __slots__ = ("channel", "send", "name", "sent", "granted", "on_credit", "on_push", "marshal",
                 "bytes_out")

    def __init__(self, channel: int, send: Callable[[int, int, bytes], None], name: str = "",
                 credits: int = DEFAULT_CREDITS) -> None:
        self.channel = channel
        self.send = send
        self.name = name
        self.sent = 0          # batches sent (producer thread only)
        self.granted = credits  # batches the consumer can take
        self.on_credit: Callable[[], None] | None = None
        self.on_push: Callable[[], None] | None = None
        self.marshal = True  # until a batch holds something marshal refuses
        self.bytes_out = 0

    def push(self, item: Any) -> None:
        if type(item) is tuple:
            self.sent += 1
            if self.marshal:
                try:
                    payload = marshal.dumps(item)
                except ValueError:  # not only exact built-in types: pickle from now on
                    self.marshal = False
                else:
                    self.bytes_out += len(payload)
                    self.send(self.channel, MARSHALLED, payload)
                    return
            payload = dumps(item)
            self.bytes_out += len(payload)
            self.send(self.channel, BATCH, payload)
        else:
            payload = dumps(item)
            self.bytes_out += len(payload)
            self.send(self.channel, EVENT, payload)

    def has_credit(self) -> bool:
        return self.granted > self.sent

    def add_credit(self, n: int) -> None:
        """The consumer took ``n`` batches (its credit frame arrived)."""
        blocked = self.granted <= self.sent
        self.granted += n
        if blocked and self.on_credit is not None:
            self.on_credit()

    def poll(self) -> Any:
        raise TypeError(f"channel {self.name}: the producer's end cannot be read")

    def unread(self, item: Any) -> None:
        raise TypeError(f"channel {self.name}: the producer's end cannot be read")


class RemoteInputChannel(Channel):
    """The consumer's end: frames delivered by the network's poll, read in order."""

    __slots__ = ("channel", "name", "queue", "returned", "grant", "on_push", "on_credit",
                 "bytes_in", "taken", "grant_every")

    def __init__(self, channel: int, name: str = "", credits: int = DEFAULT_CREDITS) -> None:
        self.channel = channel
        self.name = name
        # credit goes back in lumps of half the window (one frame, one syscall per lump): the
        # producer can be out of credit only with all of its window here, so a lump is always
        # completed by batches already queued
        self.taken = 0
        self.grant_every = max(1, credits // 2)
        self.queue: deque = deque()
        self.returned: Any = None  # the rest of a batch put back by unread()
        self.grant: Callable[[int, int], None] | None = None  # send credit back (set on delivery)
        self.bytes_in = 0
        self.on_push: Callable[[], None] | None = None
        self.on_credit: Callable[[], None] | None = None

    def deliver(self, kind: int, payload: bytes, grant: Callable[[int, int], None]) -> None:
        """A frame arrived; ``grant(channel, n)`` returns credit to its sender."""
        self.grant = grant
        self.bytes_in += len(payload)
        self.queue.append((kind, payload))
        if self.on_push is not None:
            self.on_push()

    def poll(self) -> Any:
        if self.returned is not None:
            item, self.returned = self.returned, None
            return item
        try:
            kind, payload = self.queue.popleft()
        except IndexError:
            return None
        if kind == MARSHALLED:
            self._took()
            return marshal.loads(payload)
        item = loads(payload)
        if kind == BATCH:
            self._took()
        elif kind != EVENT:
            raise TypeError(f"channel {self.name}: unexpected frame kind {kind}")
        return item

    def _took(self) -> None:
        self.taken += 1
        if self.taken >= self.grant_every:
            self.grant(self.channel, self.taken)  # type: ignore[misc]
            self.taken = 0

    def unread(self, item: Any) -> None:
        self.returned = item

    def has_credit(self) -> bool:
        return True

    def push(self, item: Any) -> None:
        raise TypeError(f"channel {self.name}: the consumer's end cannot be written")

    def __len__(self) -> int:
        return len(self.queue) + (self.returned is not None)
