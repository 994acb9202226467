"""The socket text source: lines (or other delimited records) read from a TCP server.

Flink's ``SocketTextStreamFunction`` (``env.socket_text_stream(host, port)``): connect to
``host:port``, decode the bytes as UTF-8, split at the delimiter (with ``"\\n"``, a trailing
``"\\r"`` is dropped too) and emit each record. When the server closes the connection, retry
``max_retry`` times (``-1``: forever, ``0``: end at once) with 500 ms between attempts; what is
left after the last delimiter is emitted when the source ends. A failure to connect fails the
job (Flink's behaviour).

The socket is opened in ``open`` (on a feeder thread: reads block, so other tasks and this
task's timers keep running), never while the job is defined. The source has no positions: after
a restart it reconnects and reads what the server sends from then on, so what was in flight is
lost or, if the server replays, duplicated; it warns when restored.
"""
from __future__ import annotations

import codecs
import socket
import threading
import warnings

from strom.runtime.operators.sources import ThreadedSourceOperator

RETRY_DELAY_S = 0.5  # Flink's DEFAULT_CONNECTION_RETRY_SLEEP
CONNECT_TIMEOUT_S = 30.0
READ_SIZE = 8192


class SocketSourceOperator(ThreadedSourceOperator):
    """Reads delimited UTF-8 text from ``host:port`` on a feeder thread."""

    def __init__(self, name: str, host: str, port: int, delimiter: str, max_retry: int) -> None:
        super().__init__(name, self._read_socket, self._stop_reading)
        self.host, self.port, self.delimiter, self.max_retry = host, port, delimiter, max_retry
        self._socket: socket.socket | None = None
        self._stopped = threading.Event()

    def open(self) -> None:
        if self.restored_checkpoint_id is not None:
            warnings.warn(
                f"source '{self.name}' cannot resume from checkpoint {self.restored_checkpoint_id}: "
                f"a socket has no positions, so it reconnects to {self.host}:{self.port} and reads "
                "what the server sends from now on; records in flight at the failure may be lost "
                "or, if the server sends them again, duplicated. Hint: read from a replayable "
                "source (files, Kafka) for exactly-once results.", RuntimeWarning, stacklevel=2)
        super().open()

    def _read_socket(self, op: ThreadedSourceOperator) -> None:
        hand_over, delimiter = self.hand_over, self.delimiter
        strip_cr = delimiter == "\n"
        buffer = ""
        attempt = 0
        while not self._stopped.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                raise ConnectionError(
                    f"socket source '{self.name}': cannot connect to {self.host}:{self.port}: "
                    f"{exc}; hint: start the server first (e.g. nc -lk {self.port})") from exc
            sock.settimeout(None)
            self._socket = sock
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            try:
                while not self._stopped.is_set():
                    try:
                        data = sock.recv(READ_SIZE)
                    except OSError:
                        if self._stopped.is_set():
                            break
                        raise
                    if not data:
                        break
                    buffer += decoder.decode(data)
                    *records, buffer = buffer.split(delimiter)
                    for record in records:
                        if strip_cr and record.endswith("\r"):
                            record = record[:-1]
                        hand_over(record, None)
                buffer += decoder.decode(b"", final=True)
            finally:
                self._socket = None
                sock.close()
            if self._stopped.is_set():
                break
            attempt += 1  # the server closed the connection: retry as Flink does
            if self.max_retry == -1 or attempt < self.max_retry:
                self._stopped.wait(RETRY_DELAY_S)
            else:
                break
        if buffer and not self._stopped.is_set():
            hand_over(buffer, None)

    def _stop_reading(self) -> None:
        """Called on cancel (task thread): unblock the read by shutting the socket down."""
        self._stopped.set()
        sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the server or the feeder
