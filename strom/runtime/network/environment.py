"""A process's network endpoint: the listener, its connections, and the remote channel ends.

The producer side opens one TCP connection per peer process it sends to (per job attempt) and
writes frames to it; the peer accepts it and runs a reader thread that hands each frame to the
input channel it names. Credit flows back on the same connection, read by a reader thread on
the producer side. Connections begin with a ``HELLO`` frame naming the attempt: frames of an
earlier attempt (a restart) are never delivered to the channels of a later one.
"""
from __future__ import annotations

import contextlib
import socket
import threading
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


class _Connection:
    """One socket, written under a lock (several tasks, credit from several consumers)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.closed = False

    def send(self, channel: int, kind: int, payload: bytes) -> None:
        frame = encode(channel, kind, payload)
        with self.lock:
            self.sock.sendall(frame)

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


class NetworkEnvironment:
    """Listens for peers' connections and makes the remote ends of this process's channels.

    Args:
        host: the address to listen on (and that peers connect to).
        on_error: called with an exception when a connection breaks unexpectedly (the peer
            died): the owner fails the attempt.
    """

    def __init__(self, host: str = "127.0.0.1", on_error: Any = None) -> None:
        self.host = host
        self.on_error = on_error
        self.attempt: Any = None
        self.inputs: dict[int, RemoteInputChannel] = {}
        self.outputs: dict[int, RemoteOutputChannel] = {}
        self._peers: dict[tuple[str, int], _Connection] = {}
        self._accepted: list[_Connection] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._closing = False
        threading.Thread(target=self._accept, name="strom network acceptor", daemon=True).start()

    # -- per attempt ----------------------------------------------------------------------------

    def reset(self, attempt: Any) -> None:
        """Start a new attempt: drop every connection and channel of the previous one."""
        with self._lock:
            self.attempt = attempt
            conns = list(self._peers.values()) + self._accepted
            self._peers, self._accepted = {}, []
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

    # -- connections ----------------------------------------------------------------------------

    def _connect(self, peer: tuple[str, int], attempt: Any) -> _Connection:
        with self._lock:
            conn = self._peers.get(peer)
            if conn is not None:
                return conn
            if attempt != self.attempt:
                raise ConnectionError(f"attempt {attempt!r} is over")
            conn = self._open(peer)
            self._peers[peer] = conn
            return conn

    def _open(self, peer: tuple[str, int]) -> _Connection:
        sock = socket.create_connection(peer)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(sock)
        conn.send(0, HELLO, repr(self.attempt).encode())
        threading.Thread(target=self._read_credit, args=(conn, self.attempt), daemon=True,
                         name="strom network credit reader").start()
        return conn

    def _accept(self) -> None:
        while not self._closing:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._read_data, args=(_Connection(sock),), daemon=True,
                             name="strom network reader").start()

    def _read_data(self, conn: _Connection) -> None:
        """Consumer side: deliver frames to this attempt's input channels."""
        reader = FrameReader(conn.sock)
        try:
            frames = reader.frames()
            if not frames or frames[0][1] != HELLO or frames[0][2] != repr(self.attempt).encode():
                conn.close()  # a connection of another attempt
                return
            with self._lock:
                self._accepted.append(conn)
            inputs, grant = self.inputs, conn.grant
            del frames[0]
            while frames is not None:
                for channel, kind, payload in frames:
                    if kind == BATCH or kind == MARSHALLED or kind == EVENT:
                        inputs[channel].deliver(kind, payload, grant)
                    else:
                        raise ValueError(f"unexpected frame kind {kind} on a data connection")
                frames = reader.frames()
        except (OSError, ValueError, KeyError) as exc:
            if not conn.closed and not self._closing:
                self._fail(exc)

    def _read_credit(self, conn: _Connection, attempt: Any) -> None:
        """Producer side: credit announcements from the consumer process."""
        reader = FrameReader(conn.sock, 1 << 12)
        outputs = self.outputs
        try:
            while (frames := reader.frames()) is not None:
                for channel, kind, payload in frames:
                    if kind != CREDIT:
                        raise ValueError(f"unexpected frame kind {kind} on a credit connection")
                    outputs[channel].add_credit(COUNT.unpack(payload)[0])
        except (OSError, ValueError, KeyError) as exc:
            if not conn.closed and not self._closing and attempt == self.attempt:
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(exc)

    def close(self) -> None:
        self._closing = True
        self.reset(None)
        with contextlib.suppress(OSError):
            self._listener.close()
