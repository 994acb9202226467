"""The wire format of channels between processes: length-prefixed frames.

A frame is a 9-byte header (payload length, channel number, kind) and its payload:

- ``BATCH``: a batch of records ``(values, timestamps)``, serialized once per batch;
- ``EVENT``: a watermark, idleness status, checkpoint barrier or end of partition;
- ``CREDIT``: the consumer can take that many more batches (payload: the count);
- ``HELLO``: the first frame of a connection: which job attempt it belongs to.

Batches are pickled (protocol 5): for the lists of Python objects a batch holds, pickle's C
implementation is the fastest general serializer available (see bench/network.py).
"""
from __future__ import annotations

import pickle
import struct
from typing import Any, BinaryIO

HEADER = struct.Struct("!IIB")
BATCH, EVENT, CREDIT, HELLO = 0, 1, 2, 3
COUNT = struct.Struct("!I")


def encode(channel: int, kind: int, payload: bytes) -> bytes:
    """One frame."""
    return HEADER.pack(len(payload), channel, kind) + payload


def dumps(item: Any) -> bytes:
    """A batch or an event, serialized."""
    return pickle.dumps(item, protocol=5)


loads = pickle.loads


def read_frame(stream: BinaryIO) -> tuple[int, int, bytes] | None:
    """``(channel, kind, payload)`` of the next frame, or None at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    size, channel, kind = HEADER.unpack(header)
    payload = stream.read(size) if size else b""
    if len(payload) < size:
        return None
    return channel, kind, payload
