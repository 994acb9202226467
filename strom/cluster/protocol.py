"""The control protocol between the JobManager and its TaskManagers.

Messages are tuples whose first item names them, sent as length-prefixed cloudpickle frames
over one TCP connection per TaskManager (loopback by default). TaskManager -> JobManager:
``register``, ``deployed``, ``state``, ``failed``, ``ack``, ``decline``, ``final``, ``closed``,
``heartbeat``. JobManager -> TaskManager: ``deploy``, ``start``, ``trigger``, ``due``,
``notify``, ``cancel``, ``close``, ``shutdown``. Every job message carries the attempt it
belongs to, so messages of an attempt that was restarted are ignored.
"""
from __future__ import annotations

import socket
import struct
import threading
import traceback
from typing import Any, BinaryIO

import cloudpickle

from strom.errors import StromError

LENGTH = struct.Struct("!I")
TASKMANAGER_HEARTBEAT_MS = 1_000  # how often a TaskManager reports (heartbeat + its metrics)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a TaskManager process (its ``__cause__``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class RemoteError(StromError):
    """An exception from a TaskManager that could not be sent as itself (not picklable)."""


class Connection:
    """One control connection: ``send`` from any thread, ``receive`` from one reader thread."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.stream: BinaryIO = sock.makefile("rb", buffering=1 << 16)
        self.lock = threading.Lock()

    def send(self, *message: Any) -> None:
        data = cloudpickle.dumps(message, protocol=5)
        with self.lock:
            self.sock.sendall(LENGTH.pack(len(data)) + data)

    def receive(self) -> tuple | None:
        """The next message, or None when the other side closed the connection."""
        head = self.stream.read(LENGTH.size)
        if len(head) < LENGTH.size:
            return None
        (size,) = LENGTH.unpack(head)
        data = self.stream.read(size)
        if len(data) < size:
            return None
        return cloudpickle.loads(data)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def pack_error(exc: BaseException) -> tuple[list[bytes], str]:
    """An exception as it travels: its cause chain, each pickled (or a RemoteError where one
    cannot be), and the traceback of the innermost one, where the user's frames are (the
    outer ones travel as themselves, so the rebuilt chain prints each message once)."""
    chain: list[bytes] = []
    innermost = exc
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 20:
        seen.add(id(current))
        try:
            data = cloudpickle.dumps(current)
            cloudpickle.loads(data)
        except Exception:
            data = cloudpickle.dumps(RemoteError(f"{type(current).__name__}: {current}"))
        chain.append(data)
        innermost = current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain, "".join(traceback.format_exception(innermost, chain=False))


def unpack_error(packed: tuple[list[bytes], str], where: str) -> BaseException:
    """The exception of :func:`pack_error` with its cause chain rebuilt; the remote traceback
    is the cause of the innermost exception, so it prints last, where the user's frames are."""
    chain, text = packed
    excs = [cloudpickle.loads(data) for data in chain]
    for outer, inner in zip(excs, excs[1:]):
        outer.__cause__ = inner
    excs[-1].__cause__ = RemoteTraceback(f"\n(in {where})\n{text}")
    return excs[0]
