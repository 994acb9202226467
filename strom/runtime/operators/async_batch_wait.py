"""Flink's ``AsyncBatchWaitOperator``: an ``AsyncBatchFunction``'s coroutine per batch of records.

Records are buffered until ``batch_size`` of them are there, ``batch_timeout`` ms (processing
time, counted from the batch's first record; <= 0 or None: no such flush) have passed, a
watermark comes, or input ends; the buffer then goes to ``async_invoke_batch(inputs)`` as one
call. Everything else is :class:`~strom.runtime.operators.async_wait.AsyncWaitOperator`'s, with a
batch where it has a record:

* at most ``capacity`` batches are in flight or completed but not yet emitted;
* ordered mode emits each batch's results in input order of the batches; unordered mode as the
  batches complete, never across a watermark (a watermark first flushes the buffer, so a batch
  never spans one);
* a batch's results carry the latest timestamp of its records;
* ``timeout`` ms after a call started, ``timeout_batch(inputs)`` is called (by default it fails
  the job naming the batch); an exception or a result that is not a list fails the job naming
  the batch;
* a checkpoint holds the buffered records and the records of the batches in flight; after a
  restore they are batched and invoked again.
"""
from __future__ import annotations

from typing import Any

from strom.runtime.operators.async_wait import AsyncWaitOperator


class AsyncBatchWaitOperator(AsyncWaitOperator):
    """Runs ``function.async_invoke_batch(inputs)`` (a coroutine returning a list) per batch."""

    INVOKE = "async_invoke_batch"
    ON_TIMEOUT = "timeout_batch"
    WHAT = "batch"

    def __init__(self, name: str, function: Any, timeout_ms: int, batch_size: int,
                 batch_timeout_ms: int, capacity: int, ordered: bool) -> None:
        super().__init__(name, function, timeout_ms, capacity, ordered)
        self.batch_size = batch_size
        self.batch_timeout_ms = batch_timeout_ms
        self.batches = 0  # batches handed to the function
        self._buffer: list[tuple[Any, Any]] = []
        self._flush_at: int | None = None  # when the buffered batch is due (batch_timeout)
        self._restoring = False

    def open(self) -> None:
        self._restoring = True  # restored batches are queued as they were, beyond capacity
        try:
            super().open()
        finally:
            self._restoring = False

    def process_element(self, value: Any, ts: Any) -> None:
        if self._completed:
            self._drain()
        self._buffer_record(value, ts)

    def process_watermark(self, watermark: int) -> None:
        self._flush()
        super().process_watermark(watermark)

    def end_input(self) -> None:
        self._flush()
        super().end_input()

    def snapshot_state(self) -> dict:
        """The queued batches' records, then the buffered records (their input order)."""
        super().snapshot_state()
        if self._buffer:
            self._state.add_all([("record", value, ts) for value, ts in self._buffer])
        return {}

    def _restore(self, kind: str, value: Any, ts: Any) -> None:
        if kind == "watermark":
            self._flush()
            self._add_mark(value)
        else:
            self._buffer_record(value, ts)

    def _buffer_record(self, value: Any, ts: Any) -> None:
        buffer = self._buffer
        buffer.append((value, ts))
        if len(buffer) >= self.batch_size:
            self._flush()
        elif len(buffer) == 1 and self.batch_timeout_ms > 0:
            assert self.info is not None
            due = self._flush_at = self.info.processing_time.now() + self.batch_timeout_ms
            self.info.processing_time.register(due, self._on_batch_timer)

    def _on_batch_timer(self, timestamp: int) -> None:
        if self._flush_at is not None and self._flush_at <= timestamp:
            self._flush()  # else that batch went out already (full, watermark) and this is stale

    def _flush(self) -> None:
        """Hand the buffered records to the function as one batch (waiting for capacity)."""
        parts = self._buffer
        if not parts:
            return
        self._buffer = []
        self._flush_at = None
        if self.queued >= self.capacity and not self._restoring:
            self._wait(lambda: self.queued < self.capacity)
        stamps = [ts for _, ts in parts if ts is not None]
        self.batches += 1
        self._add([value for value, _ in parts], max(stamps) if stamps else None, parts)


__all__ = ["AsyncBatchWaitOperator"]
