"""Source operators: the head of a source task, pulling records into the chain.

``emit_next(budget)`` emits up to ``budget`` records and says whether more may come now
(:data:`MORE`), nothing is available right now (:data:`NOTHING`), or the input ended
(:data:`END`). Sources that may block (a Python generator, a ``SourceFunction.run`` loop) run
on a feeder thread that hands records over through a bounded deque; everything else runs
inline on the task's own thread.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from strom.errors import UserFunctionError
from strom.runtime.operators.base import StreamOperator
from strom.time.watermarks import Watermark

MORE, NOTHING, END = 0, 1, 2
_CONTROL = object()  # timestamp slot marker of a control item in the hand-over deque


class SourceOperator(StreamOperator):
    """Base of source heads."""

    def emit_next(self, budget: int) -> int:
        raise NotImplementedError

    def cancel(self) -> None:
        """Stop producing (unbounded sources end at the next ``emit_next``)."""


class IteratorSourceOperator(SourceOperator):
    """Emits from what ``make_iterator(subtask, parallelism)`` returns: a sequence (range, list,
    tuple: read by slicing) or any iterator (read in chunks)."""

    def __init__(self, name: str, make_iterator: Callable[[int, int], Iterator]) -> None:
        super().__init__(name)
        self.make_iterator = make_iterator
        self._it: Iterator | None = None
        self._seq: range | list | tuple | None = None
        self._pos = 0
        self._cancelled = False
        self.records_emitted = 0
        self.loop: Callable[[Iterable], None] | None = None  # set by the task: source + fused chain

    def open(self) -> None:
        info = self.info
        try:
            source = self.make_iterator(info.subtask_index, info.parallelism)
            if isinstance(source, (range, list, tuple)):
                self._seq = source
            else:
                self._it = iter(source)
        except Exception as exc:
            raise self.fail(exc, None, "creating the source iterator") from exc

    def emit_next(self, budget: int) -> int:
        if self._cancelled:
            return END
        try:
            if self._seq is not None:
                chunk = self._seq[self._pos:self._pos + budget]
                self._pos += len(chunk)
            else:
                chunk = list(islice(self._it, budget))
        except Exception as exc:
            raise self.fail(exc, None, f"reading the records after #{self.records_emitted} of") from exc
        if self.loop is not None:
            self.loop(chunk)
        else:
            collect = self.output.collect
            for value in chunk:
                collect(value, None)
        n = len(chunk)
        self.records_emitted += n
        return MORE if n == budget else END

    def cancel(self) -> None:
        self._cancelled = True


class SourceFunctionContext:
    """``ctx`` of ``SourceFunction.run(ctx)``: collect, timestamps, watermarks, idleness."""

    def __init__(self, feeder: ThreadedSourceOperator) -> None:
        self._feeder = feeder

    def collect(self, element: Any) -> None:
        self._feeder.hand_over(element, None)

    def collect_with_timestamp(self, element: Any, timestamp: int) -> None:
        self._feeder.hand_over(element, timestamp)

    def emit_watermark(self, watermark: Watermark | int) -> None:
        ts = watermark.timestamp if isinstance(watermark, Watermark) else int(watermark)
        self._feeder.hand_over(("watermark", ts), _CONTROL)

    def mark_as_temporarily_idle(self) -> None:
        self._feeder.hand_over(("idle", True), _CONTROL)

    def get_checkpoint_lock(self) -> threading.RLock:
        return self._feeder.checkpoint_lock

    def close(self) -> None:
        """Nothing to release."""


class ThreadedSourceOperator(SourceOperator):
    """Runs a blocking producer on its own thread; the task drains the hand-over deque.

    ``produce(operator)`` is called on the feeder thread and must call ``hand_over`` per record;
    ``stop()`` asks it to end (``SourceFunction.cancel``).
    """

    def __init__(self, name: str, produce: Callable[[ThreadedSourceOperator], None],
                 stop: Callable[[], None] | None = None, capacity: int = 8192) -> None:
        super().__init__(name)
        self._produce = produce
        self._stop = stop
        self.capacity = capacity
        self.queue: deque = deque()
        self.checkpoint_lock = threading.RLock()
        self._space = threading.Event()
        self._space.set()
        self._done = False
        self._error: BaseException | None = None
        self._cancelled = False
        self.wakeup: Callable[[], None] = lambda: None
        self._thread: threading.Thread | None = None
        self._idle = False

    def open(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"source {self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._produce(self)
        except BaseException as exc:  # reported to the task, which fails the job
            self._error = exc
        finally:
            self._done = True
            self.wakeup()

    def hand_over(self, value: Any, ts: Any) -> None:
        """Called on the feeder thread: queue one record (or control item); blocks when full."""
        if self._cancelled:
            raise _Cancelled()
        q = self.queue
        q.append((value, ts))
        size = len(q)
        # Append first, then look: a queue of exactly one means the task may have drained it
        # (and gone to sleep) just before this append, so wake it. Checking before appending
        # would miss the case where the task empties the queue between the check and the append.
        if size == 1:
            self.wakeup()
        elif size >= self.capacity:
            self._space.clear()
            while len(q) >= self.capacity and not self._cancelled:
                self._space.wait(0.05)

    def emit_next(self, budget: int) -> int:
        q, collect, n = self.queue, self.output.collect, 0
        popleft = q.popleft
        while n < budget and q:
            value, ts = popleft()
            if ts is _CONTROL:
                self._control(value)
                continue
            if self._idle:
                self._idle = False
                self.output.emit_status(False)
            collect(value, ts)
            n += 1
        if not self._space.is_set() and len(q) < self.capacity // 2:
            self._space.set()
        if q:
            return MORE
        if self._done:
            if self._error is not None and not isinstance(self._error, _Cancelled):
                exc = self._error
                raise UserFunctionError(
                    f"source '{self.name}' failed: {type(exc).__name__}: {exc}",
                    operator=self.name) from exc
            return END
        return MORE if n else NOTHING

    def _control(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        if kind == "watermark":
            if payload > self.current_watermark:
                self.current_watermark = payload
                self.output.emit_watermark(payload)
        elif kind == "idle" and not self._idle:
            self._idle = True
            self.output.emit_status(True)

    def cancel(self) -> None:
        self._cancelled = True
        self._space.set()
        if self._stop is not None:
            self._stop()


class _Cancelled(Exception):
    """Raised inside the feeder thread when the task cancelled the source."""
