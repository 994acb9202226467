"""Source operators: the head of a source task, pulling records into the chain.

``emit_next(budget)`` emits up to ``budget`` records and says whether more may come now
(:data:`MORE`), nothing is available right now (:data:`NOTHING`), or the input ended
(:data:`END`). Sources that may block (a Python generator, a ``SourceFunction.run`` loop) run
on a feeder thread that hands records over through a bounded deque; everything else runs
inline on the task's own thread.

Checkpoints: :class:`SplitSourceOperator` follows Flink's FLIP-27 model: the input is a set of
*splits*, each read from a *position* (the number of its records already emitted); the splits
not yet finished and their positions are the source's operator state, so a restore resumes
every split where the checkpoint left it, and a restore at another parallelism spreads the
splits over the new subtasks. :class:`ThreadedSourceOperator` takes a ``SourceFunction``'s
checkpoint lock around a checkpoint and calls its ``CheckpointedFunction`` hooks. A source
read with plain ``read(subtask_index, parallelism)`` has no positions: after a restore it is
read again from the beginning (and says so).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from strom.errors import StromError, UserFunctionError
from strom.runtime.checkpointing import FunctionInitializationContext, has_checkpoint_hooks
from strom.runtime.operators.base import StreamOperator
from strom.state.descriptors import ListStateDescriptor
from strom.time.watermarks import Watermark

MORE, NOTHING, END = 0, 1, 2
_CONTROL = object()  # timestamp slot marker of a control item in the hand-over deque


class SourceOperator(StreamOperator):
    """Base of source heads. ``records_emitted`` counts what the source emitted: the
    operator-level ``numRecordsOut`` metric (Flink's), what ``strom run``'s progress shows."""

    records_emitted = 0

    def setup(self, info: Any, output: Any) -> None:
        super().setup(info, output)
        self.metrics.gauge("numRecordsOut", lambda: self.records_emitted)

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
        if self.restored_checkpoint_id is not None and type(self) is IteratorSourceOperator:
            warnings.warn(
                f"source '{self.name}' cannot resume from checkpoint {self.restored_checkpoint_id}: "
                "it is read with read(subtask_index, parallelism) and has no positions, so it is "
                "read again from the beginning and its records may be duplicated downstream. Hint: "
                "declare splits (override splits() and read_split()) to resume where it left off.",
                RuntimeWarning, stacklevel=2)
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
        chunk = self._read(budget)
        self._emit(chunk)
        return MORE if len(chunk) == budget else END

    def _read(self, budget: int) -> list[Any] | range | tuple:
        """Up to ``budget`` next records of the current sequence or iterator."""
        try:
            if self._seq is not None:
                chunk = self._seq[self._pos:self._pos + budget]
                self._pos += len(chunk)
                return chunk
            if self._it is None:
                return []
            return list(islice(self._it, budget))
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, None, f"reading the records after #{self.records_emitted} of") from exc

    def _emit(self, chunk: Any) -> None:
        if self.loop is not None:
            self.loop(chunk)
        else:
            collect = self.output.collect
            for value in chunk:
                collect(value, None)
        self.records_emitted += len(chunk)

    def cancel(self) -> None:
        self._cancelled = True


SPLITS_STATE = "source-splits"
"""The operator list state holding a split source's ``[split, position]`` pairs."""


class SplitSourceOperator(IteratorSourceOperator):
    """Reads a source's splits one after the other, tracking each split's position.

    Args:
        name: the operator's name.
        create_splits: ``parallelism -> splits`` (picklable ids); called on a fresh start only,
            split *i* goes to subtask ``i % parallelism``.
        read_split: ``(split, position) -> records of that split from position on``: a
            sequence (read by slicing) or any iterable.
    """

    def __init__(self, name: str, create_splits: Callable[[int], Sequence[Any]],
                 read_split: Callable[[Any, int], Iterable[Any]]) -> None:
        super().__init__(name, lambda subtask, parallelism: ())
        self.create_splits = create_splits
        self.read_split = read_split
        self.assigned: list[list[Any]] = []  # [split, position] of the splits not finished yet

    def open(self) -> None:
        info = self.info
        state = self.operator_state.get_list_state(ListStateDescriptor(SPLITS_STATE))
        self._splits_state = state
        if self.restored_checkpoint_id is not None:
            self.assigned = [list(entry) for entry in state.get()]
        else:
            try:
                splits = list(self.create_splits(info.parallelism))
            except StromError:
                raise
            except Exception as exc:
                raise self.fail(exc, None, "creating the splits of") from exc
            self.assigned = [[split, 0] for i, split in enumerate(splits)
                             if i % info.parallelism == info.subtask_index]
        self._open_split()

    def _open_split(self) -> None:
        """Point the reader at the first unfinished split (or at nothing)."""
        self._seq, self._it, self._pos = None, None, 0
        if not self.assigned:
            return
        split, position = self.assigned[0]
        try:
            records = self.read_split(split, position)
            if isinstance(records, (range, list, tuple)):
                self._seq = records
            else:
                self._it = iter(records)
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, split, f"opening split at position {position} of") from exc

    def emit_next(self, budget: int) -> int:
        if self._cancelled:
            return END
        while self.assigned:
            chunk = self._read(budget)
            self.assigned[0][1] += len(chunk)
            self._emit(chunk)
            if len(chunk) == budget:
                return MORE
            self.assigned.pop(0)  # this split is finished
            self._open_split()
            if chunk:
                return MORE
        return END

    def snapshot_state(self) -> dict:
        """The positions go into the operator list state (snapshotted right after)."""
        self._splits_state.update([(split, position) for split, position in self.assigned])
        return {}

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
        self.function: Any = None  # a SourceFunction whose checkpoint hooks to call, if any

    def open(self) -> None:
        fn = self.function
        if has_checkpoint_hooks(fn):  # before run() starts, on the task's thread (Flink's order)
            ctx = FunctionInitializationContext(self.operator_state, None, self.restored_checkpoint_id)
            try:
                fn.initialize_state(ctx)
            except StromError:
                raise
            except Exception as exc:
                raise self.fail(exc, None, "initialize_state()") from exc
        self._thread = threading.Thread(target=self._run, name=f"source {self.name}", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def snapshot_guard(self) -> Iterator[None]:
        """Hold the source function's checkpoint lock for the checkpoint, after forwarding every
        record it handed over so far (they belong before the barrier). The feeder may hold the
        lock while it waits for room in the hand-over queue, so keep draining until it is ours."""
        lock = self.checkpoint_lock
        while not lock.acquire(timeout=0.001):
            self._drain()
        try:
            self._drain()
            yield
        finally:
            lock.release()

    def _drain(self) -> None:
        self._forward(len(self.queue))
        self._space.set()

    def snapshot_functions(self, context: Any) -> None:
        if has_checkpoint_hooks(self.function):
            try:
                self.function.snapshot_state(context)
            except StromError:
                raise
            except Exception as exc:
                raise self.fail(exc, None, "snapshot_state()") from exc

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        notify = getattr(self.function, "notify_checkpoint_complete", None)
        if callable(notify):
            notify(checkpoint_id)

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

    def _forward(self, budget: int) -> int:
        """Emit up to ``budget`` handed-over records (control items do not count)."""
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
        return n

    def emit_next(self, budget: int) -> int:
        q = self.queue
        n = self._forward(budget)
        self.records_emitted += n
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
