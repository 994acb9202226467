"""A process's network endpoint: the listener, its connections, and the remote channel ends.

The producer side opens one TCP connection per peer process it sends to (per job attempt) and
writes frames to it; the peer accepts it. Credit flows back on the same connection.
Connections begin with a ``HELLO`` frame naming the attempt: frames of an earlier attempt (a
restart) are never delivered to the channels of a later one.

All reading and writing happens on the thread that runs the tasks, between task steps
(:meth:`NetworkEnvironment.poll`), as Flink's mailbox model does: no reader thread has to win
the interpreter lock from a busy task thread for every frame, and no thread wakes up per frame.
Sockets are never waited on while the tasks have work; when they have none, the loop waits in
:meth:`Wakeup.wait`, which returns when a frame arrives, a stalled send can go on, or another
thread calls :meth:`Wakeup.set`. Sends do not block either: what the kernel does not take yet
waits in the connection's queue (bounded by the channels' credit) and goes out as soon as it
can, so two processes sending to each other never wait on one another.
"""
from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections import deque
from typing import Any

from strom.runtime.channels import DEFAULT_CREDITS
from strom.runtime.network.channels import RemoteInputChannel, RemoteOutputChannel
from strom.runtime.network.frames import (
    BATCH,
    COUNT,
    CREDIT,
    EVENT,
    HELLO,
    MARSHALLED,
    FrameReader,
    encode,
)

_NOWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_DATA = (BATCH, MARSHALLED, EVENT)


class _Connection:
    """One socket; frames the kernel cannot take yet wait in ``pending``, in order."""

    def __init__(self, sock: socket.socket, reader: FrameReader, data: bool) -> None:
        self.sock = sock
        self.reader = reader
        self.data = data  # True: the consumer's end (data in, credit out)
        self.hello: bytes | None = None  # a data connection's first frame, once read
        self.pending: deque = deque()
        self.lock = threading.Lock()  # sends come from the task thread, but tests may use others
        self.closed = False

    def send(self, channel: int, kind: int, payload: bytes) -> None:
        """Queue a frame behind those waiting and send as much as the kernel takes now."""
        frame = encode(channel, kind, payload)
        with self.lock:
            self.pending.append(frame)
        self.write_pending()

    def write_pending(self) -> None:
        """Send what waits, as far as the kernel takes it."""
        with self.lock:
            pending = self.pending
            while pending:
                try:
                    sent = self.sock.send(pending[0], _NOWAIT)
                except BlockingIOError:
                    return
                if sent < len(pending[0]):  # the rest waits, as a view: no copy of it
                    pending[0] = memoryview(pending[0])[sent:]
                    return
                pending.popleft()

    def grant(self, channel: int, n: int) -> None:
        try:
            self.send(channel, CREDIT, COUNT.pack(n))
        except OSError:
            pass  # the producer is gone (its attempt ended): nobody waits for this credit

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class Wakeup:
    """The task loop's wake-up event (``set``/``clear``/``is_set``/``wait`` as a
    :class:`threading.Event`) whose ``wait`` also returns when one of the network's
    connections can be read, or written where a send waits.

    ``set`` is cheap while nobody waits (a flag; the loop's channels call it per batch); only a
    ``set`` during a ``wait`` writes a byte to the wake-up socket.
    """

    def __init__(self, network: NetworkEnvironment) -> None:
        self.network = network
        self._flag = False
        self._waiting = False
        self._recv, self._send = socket.socketpair()
        self._recv.setblocking(False)

    def set(self) -> None:
        self._flag = True
        if self._waiting:
            with contextlib.suppress(OSError):
                self._send.send(b"!", _NOWAIT)

    def clear(self) -> None:
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        """Until set, a connection is ready or ``timeout`` seconds passed; True when set."""
        self._waiting = True
        try:
            if self._flag:  # set before this wait began (or while it was beginning)
                return True
            readers, writers = self.network.watched()
            readers.append(self._recv)
            try:
                select.select(readers, writers, [], timeout)
            except (OSError, ValueError):
                pass  # a connection closed meanwhile: the next poll sees it
            with contextlib.suppress(OSError):  # BlockingIOError once the bytes are read
                while self._recv.recv(4096):
                    pass
        finally:
            self._waiting = False
        return self._flag

    def close(self) -> None:
        self._recv.close()
        self._send.close()


class NetworkEnvironment:
    """Listens for peers' connections and makes the remote ends of this process's channels.

    The thread running the tasks calls :meth:`poll` between steps and waits in
    :attr:`wakeup`.

    Args:
        host: the address to listen on (and that peers connect to).
        on_error: called (from :meth:`poll`) with an exception when a connection breaks
            unexpectedly (the peer died): the owner fails the attempt.
    """

    def __init__(self, host: str = "127.0.0.1", on_error: Any = None) -> None:
        self.host = host
        self.on_error = on_error
        self.attempt: Any = None
        self.inputs: dict[int, RemoteInputChannel] = {}
        self.outputs: dict[int, RemoteOutputChannel] = {}
        self._peers: dict[tuple[str, int], _Connection] = {}
        self._conns: list[_Connection] = []  # every connection of this attempt, both kinds
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._closing = False
        self.wakeup = Wakeup(self)
        threading.Thread(target=self._accept, name="strom network acceptor", daemon=True).start()

    # -- per attempt ----------------------------------------------------------------------------

    def reset(self, attempt: Any) -> None:
        """Start a new attempt: drop every connection and channel of the previous one."""
        with self._lock:
            self.attempt = attempt
            conns = self._conns
            self._peers, self._conns = {}, []
            self.inputs, self.outputs = {}, {}
        for conn in conns:
            conn.close()

    def input_channel(self, channel: int, name: str,
                      credits: int = DEFAULT_CREDITS) -> RemoteInputChannel:
        """The consumer's end of ``channel``; ``credits`` is its producer's window."""
        ch = RemoteInputChannel(channel, name, credits)
        self.inputs[channel] = ch
        return ch

    def output_channel(self, channel: int, name: str, peer: tuple[str, int],
                       credits: int = DEFAULT_CREDITS) -> RemoteOutputChannel:
        """The producer's end of ``channel``; the connection to ``peer`` opens on first use
        (when every process of the attempt has registered its input channels)."""
        peer = (peer[0], int(peer[1]))
        attempt = self.attempt

        def send(ch: int, kind: int, payload: bytes) -> None:
            conn = self._peers.get(peer)
            if conn is None:
                conn = self._connect(peer, attempt)
            conn.send(ch, kind, payload)

        ch = RemoteOutputChannel(channel, send, name, credits)
        self.outputs[channel] = ch
        return ch

    # -- the task thread ------------------------------------------------------------------------

    def poll(self) -> bool:
        """Deliver every frame that has arrived (to input channels; credit to output
        channels) and send what waits; never blocks. True when nothing waits to be sent."""
        for conn in list(self._conns):
            if conn.pending:
                self._guard(conn, conn.write_pending)
            while True:
                try:
                    frames = conn.reader.ready()
                except OSError as exc:
                    self._broken(conn, exc)
                    break
                if not frames:
                    if frames is None:
                        self._broken(conn, ConnectionError("the peer closed the connection"))
                    break
                self._guard(conn, self._deliver, conn, frames)
                if conn.closed:
                    break
        return not any(c.pending for c in self._conns if not c.closed)

    def watched(self) -> tuple[list, list]:
        """The sockets a waiting loop watches: every connection for reading, those with
        frames waiting to go out for writing."""
        conns = [c for c in self._conns if not c.closed]
        return [c.sock for c in conns], [c.sock for c in conns if c.pending]

    def _deliver(self, conn: _Connection, frames: list) -> None:
        if conn.data:
            if conn.hello is None:  # the first frame says which attempt this connection is of
                channel, kind, payload = frames.pop(0)
                if kind != HELLO or payload != repr(self.attempt).encode():
                    self._drop(conn)  # a connection of another attempt
                    return
                conn.hello = payload
            inputs, grant = self.inputs, conn.grant
            for channel, kind, payload in frames:
                if kind not in _DATA:
                    raise ValueError(f"unexpected frame kind {kind} on a data connection")
                inputs[channel].deliver(kind, payload, grant)
        else:
            outputs = self.outputs
            for channel, kind, payload in frames:
                if kind != CREDIT:
                    raise ValueError(f"unexpected frame kind {kind} on a credit connection")
                outputs[channel].add_credit(COUNT.unpack(payload)[0])

    def _guard(self, conn: _Connection, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except (OSError, ValueError, KeyError) as exc:
            self._broken(conn, exc)

    def _broken(self, conn: _Connection, exc: BaseException) -> None:
        was_open = not conn.closed
        self._drop(conn)
        if was_open and not self._closing and (conn.hello is not None or not conn.data):
            self._fail(exc)

    def _drop(self, conn: _Connection) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        if not conn.closed:
            conn.close()

    # -- connections ----------------------------------------------------------------------------

    def _connect(self, peer: tuple[str, int], attempt: Any) -> _Connection:
        with self._lock:
            conn = self._peers.get(peer)
            if conn is not None:
                return conn
            if attempt != self.attempt:
                raise ConnectionError(f"attempt {attempt!r} is over")
            sock = socket.create_connection(peer)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(sock, FrameReader(sock, 1 << 12, _NOWAIT), data=False)
            conn.send(0, HELLO, repr(self.attempt).encode())
            self._peers[peer] = conn
            self._conns.append(conn)
            return conn

    def _accept(self) -> None:
        while not self._closing:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.append(_Connection(sock, FrameReader(sock, 1 << 20, _NOWAIT), data=True))
            self.wakeup.set()  # a waiting loop watches the new connection from now on

    def _fail(self, exc: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(exc)

    def close(self) -> None:
        self._closing = True
        self.reset(None)
        with contextlib.suppress(OSError):
            self._listener.close()
        self.wakeup.close()
