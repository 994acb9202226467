"""Flink's ``AsyncWaitOperator``: an ``AsyncFunction``'s coroutine per record, many at a time.

The coroutines run on an asyncio event loop owned by the operator, on a helper thread started in
``open`` and stopped in ``close``. A finished call is handed back to the task through its mailbox
(``TaskInfo.post``, which also wakes the task), so every record and watermark is emitted on the
task's thread (the mailbox guarantee).

Flink's rules:

* at most ``capacity`` records are queued (in flight or completed but not yet emitted) per
  subtask; a record arriving at a full queue waits, on the task's thread, for a completion
  (Flink's mailbox ``yield``): the task takes no input meanwhile (backpressure, no busy loop);
* ordered mode emits results in input order; unordered mode emits them as they complete, but
  never across a watermark: a watermark goes out once every record before it was emitted, and
  records after it go out after it;
* results keep the input record's timestamp;
* a call that has not completed after ``timeout`` ms (the task's clock; a timeout <= 0 means
  none) gets ``function.timeout(value)``, whose default fails the job naming the element;
* an exception from the coroutine, or a result that is not a list, fails the job naming the
  element;
* at end of input the operator waits for every queued record before ``finish`` (``endInput``);
* with a retry strategy (``*_with_retry``), a result or exception its predicate accepts is
  tried again after the strategy's backoff (the task's clock) while ``can_retry(attempts)``
  holds; the timeout covers every attempt;
* a checkpoint holds the queued records (and watermarks) in operator list state; after a
  restore they are invoked again.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from strom.errors import StromError, UserFunctionError, describe
from strom.runtime.operators.async_result import ResultFuture, takes_result_future
from strom.runtime.operators.base import UdfOperator
from strom.state.descriptors import ListStateDescriptor

IN_FLIGHT_STATE = "_async_wait_operator_state"
MAX_WAIT_S = 0.1  # longest blocking wait between two checks of the timeouts (a safety net)


class _Entry:
    """One input record: its value, timestamp and, once complete, its results."""

    __slots__ = ("value", "ts", "done", "results", "future", "segment", "attempts", "parts")

    def __init__(self, value: Any, ts: Any, parts: list[tuple[Any, Any]] | None = None) -> None:
        self.value = value
        self.ts = ts
        self.parts = parts  # a batch: its (element, timestamp) pairs, for checkpoints
        self.done = False
        self.results: list = []
        self.future: Any = None
        self.segment: _Segment | None = None
        self.attempts = 1


class _Mark:
    """A watermark waiting in the queue behind the records before it."""

    __slots__ = ("ts",)

    def __init__(self, ts: int) -> None:
        self.ts = ts


class _Segment:
    """Unordered mode: the records between two watermarks (pending ones, completed ones)."""

    __slots__ = ("pending", "ready")

    def __init__(self) -> None:
        self.pending: dict[_Entry, None] = {}  # insertion-ordered set
        self.ready: deque[_Entry] = deque()


class AsyncWaitOperator(UdfOperator):
    """Runs ``function.async_invoke(value)`` (a coroutine returning a list) for every record."""

    INVOKE = "async_invoke"  # the function's coroutine method, and what one call is given
    ON_TIMEOUT = "timeout"
    WHAT = "element"

    def __init__(self, name: str, function: Any, timeout_ms: int, capacity: int, ordered: bool,
                 retry_strategy: Any = None) -> None:
        super().__init__(name, function)
        self.retry_strategy = retry_strategy
        self.timeout_ms = timeout_ms
        self.capacity = capacity
        self.ordered = ordered
        self.queued = 0  # records in the queue (in flight or completed, not yet emitted)
        self.max_queued = 0
        self._queue: deque[Any] = deque()  # ordered: _Entry and _Mark in input order
        self._segments: deque[Any] = deque([_Segment()])  # unordered: _Segment and _Mark
        self._completed: deque[tuple[_Entry, Any, BaseException | None]] = deque()
        self._deadlines: deque[tuple[int, _Entry]] = deque()
        self._retries: list[tuple[int, int, _Entry]] = []  # heap: (due, sequence, entry)
        self._retry_seq = itertools.count()
        self._timer_at: int | None = None  # the earliest processing-time timer registered
        self._posted = False
        self._event = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._post: Callable[[Callable[[], Any]], None] | None = None

    # -- lifecycle --
    def open(self) -> None:
        super().open()
        fn = self.function
        self._invoke = getattr(fn, self.INVOKE)
        self._on_timeout = getattr(fn, self.ON_TIMEOUT, None)
        self._with_future = takes_result_future(self._invoke)  # async_invoke(value, result_future)
        self._timeout_with_future = self._on_timeout is not None and takes_result_future(self._on_timeout)
        strategy = self.retry_strategy
        predicate = strategy.get_retry_predicate() if strategy is not None else None
        self._retry_on_result = predicate.result_predicate() if predicate is not None else None
        self._retry_on_error = predicate.exception_predicate() if predicate is not None else None
        self._retrying = self._retry_on_result is not None or self._retry_on_error is not None
        assert self.info is not None
        self._post = getattr(self.info, "post", None)
        self._state = self.operator_state.get_list_state(ListStateDescriptor(IN_FLIGHT_STATE))
        restored = list(self._state.get()) if self.restored_checkpoint_id is not None else []
        self._state.clear()
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=_run_loop, args=(loop,), daemon=True,
                                        name=f"async I/O of {self.name}")
        self._thread.start()
        for kind, value, ts in restored:  # Flink re-invokes what was in flight at the checkpoint
            self._restore(kind, value, ts)

    def _restore(self, kind: str, value: Any, ts: Any) -> None:
        """Queue one checkpointed record or watermark again."""
        if kind == "watermark":
            self._add_mark(value)
        else:
            self._add(value, ts)

    def process_element(self, value: Any, ts: Any) -> None:
        if self._completed:
            self._drain()
        if self.queued >= self.capacity:
            self._wait(lambda: self.queued < self.capacity)
        self._add(value, ts)

    def process_watermark(self, watermark: int) -> None:
        self.current_watermark = watermark
        self._add_mark(watermark)
        self._emit_ready()

    def end_input(self) -> None:
        """Flink's ``endInput``: wait for every queued record and emit it."""
        self._wait(lambda: self.queued == 0)

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)  # a call that ignores its cancellation is left to the daemon thread
        super().close()

    # -- checkpoints --
    def snapshot_state(self) -> dict:
        """The queued records and watermarks, in queue order, into operator list state."""
        items: list[tuple[str, Any, Any]] = []
        for item in (self._queue if self.ordered else self._segments):
            if type(item) is _Mark:
                items.append(("watermark", item.ts, None))
            elif type(item) is _Entry:
                items.extend(_records(item))
            else:
                for entry in (*item.ready, *item.pending):
                    items.extend(_records(entry))
        self._state.update(items)
        return {}

    # -- queueing --
    def _add(self, value: Any, ts: Any, parts: list[tuple[Any, Any]] | None = None) -> None:
        entry = _Entry(value, ts, parts)
        self.queued += 1
        if self.queued > self.max_queued:
            self.max_queued = self.queued
        if self.ordered:
            self._queue.append(entry)
        else:
            seg = self._segments[-1]
            if type(seg) is not _Segment:
                seg = _Segment()
                self._segments.append(seg)
            seg.pending[entry] = None
            entry.segment = seg
        if self.timeout_ms > 0:
            assert self.info is not None
            self._deadlines.append((self.info.processing_time.now() + self.timeout_ms, entry))
            self._arm()
        assert self._loop is not None
        entry.future = asyncio.run_coroutine_threadsafe(self._call(entry), self._loop)

    def _add_mark(self, watermark: int) -> None:
        (self._queue if self.ordered else self._segments).append(_Mark(watermark))

    async def _call(self, entry: _Entry) -> None:
        """On the loop's thread: run the coroutine, hand the outcome to the task's mailbox."""
        try:
            if self._with_future:
                future: ResultFuture = ResultFuture(asyncio.get_running_loop())
                await self._invoke(entry.value, future)
                result, error = await future.wait(), None
            else:
                result, error = await self._invoke(entry.value), None
        except asyncio.CancelledError:
            return  # timed out, or the operator is closing
        except Exception as exc:
            result, error = None, exc
        self._completed.append((entry, result, error))
        self._event.set()
        if not self._posted and self._post is not None:
            self._posted = True
            self._post(self._drain)

    # -- on the task's thread --
    def _drain(self) -> None:
        """Mailbox action: apply the completed calls and emit what may go out."""
        self._posted = False
        completed = self._completed
        while completed:
            entry, result, error = completed.popleft()
            if entry.done:
                continue  # it timed out meanwhile
            if self._retrying and self._retry(entry, result, error):
                continue
            if error is not None:
                raise self.fail(error, entry.value, self.WHAT) from error
            self._complete(entry, result)
        self._emit_ready()

    def _complete(self, entry: _Entry, result: Any) -> None:
        if not isinstance(result, list):
            none = "the result cannot be none; " if result is None else ""
            raise UserFunctionError(
                f"operator '{self.name}': {self.INVOKE} returned {describe(result)} "
                f"({type(result).__name__}) for {self.WHAT} {describe(entry.value)}; {none}expected "
                "a list of results (list type). Hint: return [result] for one result and [] for none.",
                operator=self.name, element=entry.value)
        entry.done = True
        entry.results = result
        seg = entry.segment
        if seg is not None:
            del seg.pending[entry]
            seg.ready.append(entry)

    def _emit_ready(self) -> None:
        collect, emit_watermark = self.output.collect, self.output.emit_watermark
        if self.ordered:
            queue = self._queue
            while queue:
                head = queue[0]
                if type(head) is _Mark:
                    queue.popleft()
                    emit_watermark(head.ts)
                    continue
                if not head.done:
                    break
                queue.popleft()
                self.queued -= 1
                for r in head.results:
                    collect(r, head.ts)
            return
        segments = self._segments
        while segments:
            head = segments[0]
            if type(head) is _Mark:
                segments.popleft()
                emit_watermark(head.ts)
                continue
            ready = head.ready
            while ready:
                entry = ready.popleft()
                self.queued -= 1
                for r in entry.results:
                    collect(r, entry.ts)
            if head.pending or len(segments) == 1:
                break
            segments.popleft()

    def _wait(self, done: Callable[[], bool]) -> None:
        """Block the task's thread until ``done()``, applying completions and timeouts meanwhile
        (Flink's mailbox ``yield`` while the queue is full, and its end-of-input drain)."""
        assert self.info is not None
        now, event = self.info.processing_time.now, self._event
        while True:
            event.clear()
            self._drain()
            if done():
                return
            self._service(now())
            if done():
                return
            wait, due = MAX_WAIT_S, self._next_due()
            if due is not None:
                wait = min(wait, max(0.0, (due - now()) / 1000))
            if not self._completed:
                event.wait(wait)

    # -- timeouts and retry delays (on the task's clock) --
    def _next_due(self) -> int | None:
        """The earliest call deadline or retry time (None: nothing waits on the clock)."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][1].done:
            deadlines.popleft()
        due = deadlines[0][0] if deadlines else None
        if self._retries and (due is None or self._retries[0][0] < due):
            due = self._retries[0][0]
        return due

    def _arm(self) -> None:
        """Keep a processing-time timer at the next due time (extra timers that fire early or
        late are harmless: the callback only acts on what is due)."""
        due = self._next_due()
        if due is None or (self._timer_at is not None and self._timer_at <= due):
            return
        assert self.info is not None
        self._timer_at = due
        self.info.processing_time.register(due, self._on_timer)

    def _on_timer(self, timestamp: int) -> None:
        if self._timer_at == timestamp:
            self._timer_at = None
        assert self.info is not None
        self._service(self.info.processing_time.now())
        self._emit_ready()

    def _service(self, now: int) -> None:
        """Time out the calls past their deadline and start the retries that are due."""
        deadlines = self._deadlines
        while deadlines and (deadlines[0][1].done or deadlines[0][0] <= now):
            _, entry = deadlines.popleft()
            if not entry.done:
                self._timed_out(entry)
        retries = self._retries
        while retries and retries[0][0] <= now:
            entry = heapq.heappop(retries)[2]
            if not entry.done:  # else it timed out while waiting for its retry
                assert self._loop is not None
                entry.future = asyncio.run_coroutine_threadsafe(self._call(entry), self._loop)
        if self._timer_at is not None and self._timer_at <= now:
            self._timer_at = None
        self._arm()

    def _retry(self, entry: _Entry, result: Any, error: BaseException | None) -> bool:
        """Schedule another attempt when the strategy says so (PyFlink's rules); True if it did."""
        strategy = self.retry_strategy
        try:
            check = self._retry_on_result if error is None else self._retry_on_error
            if check is None or not check(result if error is None else error):
                return False
            if not strategy.can_retry(entry.attempts):
                return False
            delay = int(strategy.get_backoff_time_millis(entry.attempts))
        except Exception as exc:
            raise self.fail(exc, entry.value, f"the retry strategy for {self.WHAT}") from exc
        entry.attempts += 1
        assert self.info is not None
        due = self.info.processing_time.now() + max(0, delay)
        heapq.heappush(self._retries, (due, next(self._retry_seq), entry))
        self._arm()
        return True

    def _timed_out(self, entry: _Entry) -> None:
        entry.future.cancel()
        try:
            if self._on_timeout is None:
                raise TimeoutError(f"Async function call has timed out for input: {entry.value}")
            if self._timeout_with_future:
                result = self._timeout_result(entry)
            else:
                result = self._on_timeout(entry.value)
        except StromError:
            raise
        except TimeoutError as exc:
            raise UserFunctionError(
                f"operator '{self.name}' failed on {self.WHAT} {describe(entry.value)}: {self.INVOKE} "
                f"did not complete within the timeout of {self.timeout_ms} ms (TimeoutError: {exc}). "
                f"Hint: raise the timeout, or override {self.ON_TIMEOUT}() to return a "
                "fallback list of results.", operator=self.name, element=entry.value) from exc
        except Exception as exc:
            raise self.fail(exc, entry.value, f"{self.ON_TIMEOUT}() of {self.WHAT}") from exc
        self._complete(entry, result)

    def _timeout_result(self, entry: _Entry) -> Any:
        """``timeout(value, result_future)``: what it completed the future with (at once)."""
        future: ResultFuture = ResultFuture()
        assert self._on_timeout is not None
        self._on_timeout(entry.value, future)
        if future.error is not None:
            raise future.error
        if not future.done:
            raise TimeoutError(f"Async function call has timed out for input: {entry.value} (and "
                               f"{self.ON_TIMEOUT}() did not complete the result_future)")
        return future.result


def _records(entry: _Entry) -> list[tuple[str, Any, Any]]:
    """What a checkpoint holds for a queued call: its record, or a batch's records."""
    if entry.parts is None:
        return [("record", entry.value, entry.ts)]
    return [("record", value, ts) for value, ts in entry.parts]


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The helper thread: run the loop until ``close`` stops it, then cancel the calls still
    running, let them unwind and close the loop."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


__all__ = ["AsyncWaitOperator"]
