"""A subtask of one job vertex: its operator chain, input gates and record writers.

The task is driven by an executor through :meth:`StreamTask.step`, which runs the actions
posted to its mailbox (take a checkpoint, a checkpoint completed), processes a bounded amount of
input (or source records), fires due processing-time timers and flushes the output buffers.
Everything a task does happens inside ``step`` on one thread at a time: records, watermarks,
timers and checkpoint barriers never interleave (Flink's mailbox model). Its side of
checkpointing is :class:`~strom.runtime.subtask_checkpoints.SubtaskCheckpointer`.
"""
from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strom.checkpoint.barriers import CheckpointBarrier
from strom.errors import StateMigrationError
from strom.metrics import PerSecond
from strom.runtime.channels import Channel, RecordWriter
from strom.runtime.context import TaskInfo
from strom.runtime.elements import END_OF_PARTITION, EndOfPartition
from strom.runtime.fusion import (
    TERMINAL,
    Step,
    compile_batch,
    compile_source_loop,
    compile_steps,
)
from strom.runtime.operators.base import StreamOperator
from strom.runtime.operators.sources import (
    END,
    MORE,
    NOTHING,
    IteratorSourceOperator,
    SourceOperator,
)
from strom.runtime.output import Output
from strom.runtime.subtask_checkpoints import SubtaskCheckpointer
from strom.time.valve import WatermarkValve
from strom.time.watermarks import MAX_WATERMARK, Watermark, WatermarkStatus

BLOCKED = 3
RECORDS_PER_SOURCE_STEP = 1024
BATCHES_PER_STEP = 8
SOURCE_CHUNK = 64  # records between two deadline checks, to start with (adapts to record cost)
DEFAULT_BUFFER_TIMEOUT_MS = 100  # Flink's execution.buffer-timeout
MIN_STEP_NS = 50_000  # buffer timeout 0: a step feeding channels ends after ~50 us
SLOW_SLICE_NS = 1_000_000  # a slice slower than this shrinks (slow records: check more often)
FAST_SLICE_NS = 100_000  # a slice faster than this grows back
QUICK_STEP_NS = 2_000_000  # a whole source step this fast may overrun a due checkpoint by it


@dataclass(slots=True)
class Route:
    """Where one operator's output goes: a chained operator (by index) or a record writer."""

    target: Any            # int (index of a chained operator in the task) or RecordWriter
    tag: str | None = None  # side-output tag id, None for the main output


@dataclass(slots=True)
class InputGate:
    """All channels of one logical input (1 or 2) of the task's head operator."""

    channels: list[Channel]
    valve: WatermarkValve = field(init=False)
    ended: list[bool] = field(init=False)
    finished: bool = False
    offset: int = 0  # index of this gate's first channel among all the task's input channels

    def __post_init__(self) -> None:
        self.valve = WatermarkValve(len(self.channels))
        self.ended = [False] * len(self.channels)
        self.finished = not self.channels


class StreamTask:
    """Runs one chain of operators for one subtask."""

    def __init__(self, info: TaskInfo, operators: list[StreamOperator],
                 routes: list[list[Route]], gates: list[InputGate],
                 writers: list[RecordWriter], *, task_id: str = "",
                 coordinator: Any = None, exactly_once: bool = True,
                 final_snapshot: bool = False,
                 restore: Callable[[StreamOperator], tuple[list, Any, Any]] | None = None) -> None:
        self.info = info
        self.name = f"{info.task_name} ({info.subtask_index + 1}/{info.parallelism})"
        self.task_id = task_id or self.name
        self.operators = operators
        self.head = operators[0]
        self.routes = routes
        self.gates = gates
        self.writers = writers
        self.is_source = isinstance(self.head, SourceOperator)
        self.finished = False
        self.opened = False
        self.closed = False
        # Mailbox: actions other threads hand to this task, run at the start of its next step.
        self.mailbox: deque[Callable[[], Any]] = deque()
        self.wake: Callable[[], None] = lambda: None  # set by the executor: make the task step soon
        info.post = self.post  # operators hand work from other threads to this task (async I/O)
        self.checkpoint_due: int | None = None  # set by the coordinator: end a source step then
        self._quick_steps = True  # the last whole source step took < QUICK_STEP_NS
        # Stop-with-savepoint: the id of the savepoint this task took and now waits on (it runs
        # only its mailbox meanwhile), and whether it ended that way (no end of input).
        self.suspended: int | None = None
        self.stopped = False
        self._restore = restore
        offset = 0
        for gate in gates:
            gate.offset = offset
            offset += len(gate.channels)
        self.checkpointer = SubtaskCheckpointer(self, coordinator, exactly_once, offset, final_snapshot)
        self.blocked = self.checkpointer.blocked
        self.operator_meta = {op.operator_id: {"name": op.name, "parallelism": info.parallelism,
                                               "max_parallelism": info.max_parallelism}
                              for op in operators}
        self.records_in = 0
        # Flink's task time metrics (ns): stepping with work to do, and out of output credit
        self.busy_ns = 0
        self.backpressured_ns = 0
        self._blocked_since: int | None = None
        self._opened_ns = 0
        self._handlers: list[tuple[Any, Any, Any, Any, Any]] = []
        self.fusion = info.config.get("fusion", True)
        # Buffer timeout (ms, Flink's execution.buffer-timeout): a step that feeds channels ends
        # (and so flushes) once it has run that long, so no record waits in an output buffer much
        # longer than the timeout. On one thread the consumer only runs between steps, so
        # "flush after every record" (timeout 0) means: end the step after ~50 us, checking the
        # clock after every record. Negative (-1, flush only when full): the record budget only.
        timeout = info.config.get("buffer_timeout")
        bounded = bool(writers) and isinstance(timeout, int) and timeout >= 0
        self.step_ns = max(timeout * 1_000_000, MIN_STEP_NS) if bounded else None
        self.max_slice = 1 if timeout == 0 else SOURCE_CHUNK
        # how long a channel to another process may hold a partial batch while the task is busy
        # (None: flushed every step): the buffer timeout, Flink's 100 ms when unset, no limit
        # at -1 (Flink: flush only when full); the task flushes them whenever it runs out of work
        holds = any(w.holds_partial for w in writers)
        if not holds or timeout == 0:
            self.partial_ns: int | None = None
        elif isinstance(timeout, int) and timeout > 0:
            self.partial_ns = timeout * 1_000_000
        else:
            self.partial_ns = (1 << 62) if timeout == -1 else DEFAULT_BUFFER_TIMEOUT_MS * 1_000_000
        self._partial_due = 0
        self.slice = 1  # records between two deadline checks; grows to max_slice while records are fast

    # -- lifecycle --
    def open(self) -> None:
        """Set up, wire and open the chain, tail first so every target is ready before its source.

        Runs of stateless work are then fused into one generated function per run (see
        :mod:`strom.runtime.fusion`), so a record crosses them without extra calls.
        """
        ops = self.operators
        for op in ops:
            op.setup(self.info, Output())
        for op in ops:  # Flink's initializeState: restored or fresh, before any open()
            states, op_state, restored_id = self._restore(op) if self._restore else ([], None, None)
            op.restore_operator(states, op_state, restored_id)
        fused: dict[int, tuple[list[Step], Any]] = {}  # op index -> (steps from it, tail)
        for i in reversed(range(len(ops))):
            raw_collect, check = self._wire(i)
            try:
                ops[i].open()
            except StateMigrationError as exc:  # restored state that does not fit: say whose
                if exc.args and not str(exc.args[0]).startswith("operator '"):
                    exc.args = (f"operator '{ops[i].name}' (id {ops[i].operator_id!r}): {exc.args[0]}",
                                *exc.args[1:])
                raise
            if not self.fusion:
                continue
            if i == 0:
                self._fuse_source(fused, check)
            step = getattr(ops[i], "fusion_step", lambda: None)()
            if step is not None:
                fused[i] = self._fuse(i, step, check, raw_collect, fused)
                ops[i].process_element = compile_steps(*fused[i])
        head = self.head
        if len(self.gates) == 2:
            self._handlers = [
                (head.process_element1, head.process_watermark1, None, 1, None),
                (head.process_element2, head.process_watermark2, None, 2, None)]
        elif self.gates:
            # a fused head also takes whole batches: no call per record off the channel
            batch = compile_batch(*fused[0]) if 0 in fused else None
            self._handlers = [(head.process_element, head.process_watermark, head.process_status,
                               1, batch)]
        metrics = self.info.metrics
        metrics.gauge("numRecordsIn", lambda: self.records_in)
        metrics.gauge("numRecordsOut", lambda: sum(w.records_out for w in self.writers))
        # Flink's buffers.inputQueueLength: batches received and not yet processed (bounded by
        # the credits the task grants its producers: backpressure keeps memory bounded)
        metrics.gauge("buffers.inputQueueLength",
                      lambda: sum(len(ch) for g in self.gates for ch in g.channels))
        self._register_time_metrics(metrics)
        self.opened = True

    def _register_time_metrics(self, metrics: Any) -> None:
        """Flink's task metrics: busy / idle / back-pressured time (accumulated, and ms per
        second over the last second read), watermarks in and out, bytes over the network."""
        clock_ns = self.info.clock.monotonic_ns
        self._opened_ns = clock_ns()

        def backpressured() -> int:
            since = self._blocked_since
            return self.backpressured_ns + (clock_ns() - since if since is not None else 0)

        def idle() -> int:
            return max(0, clock_ns() - self._opened_ns - self.busy_ns - backpressured())

        for name, total in (("Busy", lambda: self.busy_ns), ("BackPressured", backpressured),
                            ("Idle", idle)):
            metrics.gauge(f"accumulated{name}TimeMs", lambda total=total: total() // 1_000_000)
            metrics.gauge(f"{name[0].lower()}{name[1:]}TimeMsPerSecond", PerSecond(total, clock_ns))
        metrics.gauge("numRecordsInPerSecond", PerSecond(lambda: self.records_in, clock_ns, 10**9))
        metrics.gauge("numRecordsOutPerSecond", PerSecond(
            lambda: sum(w.records_out for w in self.writers), clock_ns, 10**9))
        metrics.gauge("currentInputWatermark", lambda: self.head.current_watermark)
        metrics.gauge("currentOutputWatermark", lambda: self.operators[-1].current_watermark)
        metrics.gauge("numBytesIn", lambda: sum(getattr(ch, "bytes_in", 0)
                                                for g in self.gates for ch in g.channels))
        metrics.gauge("numBytesOut", lambda: sum(getattr(ch, "bytes_out", 0)
                                                 for w in self.writers for ch in w.channels))

    def _wire(self, i: int) -> tuple[Any, Step | None]:
        """Connect operator ``i``'s output to its routes; returns its unvalidated ``collect`` and,
        when its output type is declared, the check step for fusion."""
        op = self.operators[i]
        out = op.output
        for route in self.routes[i]:
            if isinstance(route.target, RecordWriter):
                w = route.target
                collect, wm, status = w.collect, w.emit_watermark, w.emit_status
            else:
                t = self.operators[route.target]
                collect, wm, status = t.process_element, t.process_watermark, t.process_status
            if route.tag is None:
                out.add_main(collect)
            else:
                out.add_side(route.tag, collect)
            out.add_watermark_target(wm, status)
        raw_collect, check = out.collect, None
        if op.output_type is not None:
            where = f"operator '{op.name}' output"
            out.collect = _validating(out.collect, op.output_type, where)
            check = _check_step(op.output_type, where)
        return raw_collect, check

    def _next_chained(self, i: int) -> int | None:
        """The chained operator that alone receives operator ``i``'s records, if there is one."""
        routes = self.routes[i]
        if len(routes) == 1 and routes[0].tag is None and isinstance(routes[0].target, int):
            return routes[0].target
        return None

    def _fuse(self, i: int, step: Step, check: Step | None, raw_collect: Any,
              fused: dict[int, tuple[list[Step], Any]]) -> tuple[list[Step], Any]:
        """The steps (and tail) operator ``i`` runs per record, joined with the fused run after it."""
        nxt = self._next_chained(i)
        after = fused.get(nxt) if nxt is not None else None
        if step.kind == "inline" and after is not None and all(x.kind != "inline" for x in after[0]):
            # splice the next operators in where this one emits (its type check first)
            then = ([check, *after[0]] if check is not None else after[0], after[1])
            return [dataclasses.replace(step, then=then)], None
        if step.kind in TERMINAL:  # emits through its own (already validating) outputs
            return [step], None
        own = [step] if check is None else [step, check]
        if after is not None:
            return [*own, *after[0]], after[1]
        return own, raw_collect

    def _fuse_source(self, fused: dict[int, tuple[list[Step], Any]], check: Step | None) -> None:
        """Generate the source head's loop around the fused run it feeds (inline sources only;
        a source whose output was replaced, e.g. to stamp ingestion time, keeps its own loop)."""
        head = self.operators[0]
        nxt = self._next_chained(0)
        if (isinstance(head, IteratorSourceOperator) and type(head.output) is Output
                and nxt in fused and check is None):
            head.loop = compile_source_loop(*fused[nxt])

    def can_run(self) -> bool:
        """False while any downstream channel is out of credit (backpressure)."""
        for w in self.writers:
            if not w.has_credit():
                return False
        return True

    # -- mailbox and checkpoints (the TaskGateway the coordinator talks to) --
    def post(self, action: Callable[[], Any]) -> None:
        """Thread-safe: run ``action`` on the task's thread at the start of its next step."""
        self.mailbox.append(action)
        self.wake()

    def _run_mailbox(self) -> bool:
        mailbox = self.mailbox
        ran = False
        while mailbox:
            mailbox.popleft()()
            ran = True
        return ran

    def trigger_checkpoint(self, barrier: CheckpointBarrier) -> None:
        self.checkpointer.trigger(barrier)

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        self.checkpointer.notify_complete(checkpoint_id)

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        self.checkpointer.notify_aborted(checkpoint_id)

    def step(self) -> int:
        """Do a bounded amount of work; returns MORE, NOTHING, END or BLOCKED.

        Accounts the time for Flink's busy / back-pressured / idle metrics: a step that did
        work is busy time, the time from a step that found the outputs out of credit until the
        next one that could run is back-pressured time, the rest is idle."""
        clock_ns = self.info.clock.monotonic_ns
        started = clock_ns()
        status = self._step()
        now = clock_ns()
        if status == BLOCKED:
            if self._blocked_since is None:
                self._blocked_since = started
        else:
            if self._blocked_since is not None:
                self.backpressured_ns += started - self._blocked_since
                self._blocked_since = None
            if status != NOTHING:
                self.busy_ns += now - started
        return status

    def _step(self) -> int:
        if self.finished:
            return END
        ran = self._run_mailbox() if self.mailbox else False
        if self.finished:
            return END
        if self.suspended is not None:
            return MORE if ran else NOTHING
        pts = self.info.processing_time
        fired = False
        if pts.next_deadline is not None and pts.clock.now() >= pts.next_deadline:
            fired = pts.fire_due()
        if not self.can_run():
            self._flush()
            return BLOCKED
        if self.is_source:
            if self.step_ns is None and pts.next_deadline is None:
                status = self._emit_whole(pts)
            else:
                status = self._emit_bounded()
            if status == END:
                self.head.output.emit_watermark(MAX_WATERMARK)
                self.end_of_data()
        else:
            status = self._process_inputs()
        self._flush_after(status)
        if status == NOTHING and (fired or ran):
            return MORE
        return status

    def _emit_whole(self, pts: Any) -> int:
        """A source step with no timer and no buffer timeout to watch. A pending checkpoint
        (seconds apart) is checked once per step while steps are quick, so checkpointing does
        not cut every step into slices; slow records go through the sliced path instead."""
        due = self.checkpoint_due
        if due is None:
            return self.head.emit_next(RECORDS_PER_SOURCE_STEP)
        if self._quick_steps and pts.clock.now() < due:
            clock_ns = self.info.clock.monotonic_ns
            started = clock_ns()
            status = self.head.emit_next(RECORDS_PER_SOURCE_STEP)
            self._quick_steps = clock_ns() - started < QUICK_STEP_NS
            return status
        status = self._emit_bounded()
        self._quick_steps = self.slice >= self.max_slice  # the records are fast again
        return status

    def _due(self, deadline_ns: int | None) -> bool:
        """Should the step end now: the buffer timeout ran out, a processing-time timer or a
        checkpoint is due, or the mailbox has work."""
        if deadline_ns is not None and self.info.clock.monotonic_ns() >= deadline_ns:
            return True
        if self.mailbox:
            return True
        pts = self.info.processing_time
        due = pts.next_deadline
        checkpoint = self.checkpoint_due
        if checkpoint is not None and (due is None or checkpoint < due):
            due = checkpoint
        return due is not None and pts.clock.now() >= due

    def _adapt(self, started_ns: int) -> None:
        """Shrink the slice between two deadline checks when records are slow, grow it when fast."""
        took = self.info.clock.monotonic_ns() - started_ns
        if took > SLOW_SLICE_NS:
            self.slice = max(1, self.slice // 4)
        elif took < FAST_SLICE_NS and self.slice < self.max_slice:
            self.slice *= 2

    def _emit_bounded(self) -> int:
        """emit_next in slices, checking between slices whether the buffer timeout ran out or a
        timer (say, the periodic watermark) is due, so a slow pipeline still flushes and emits."""
        clock_ns = self.info.clock.monotonic_ns
        deadline = clock_ns() + self.step_ns if self.step_ns is not None else None
        emit, left, status, progressed = self.head.emit_next, RECORDS_PER_SOURCE_STEP, NOTHING, False
        while left > 0:
            started, chunk = clock_ns(), min(left, self.slice)
            status = emit(chunk)
            if status != MORE:
                break
            progressed = True
            left -= chunk
            self._adapt(started)
            if self._due(deadline):
                break
        if status == NOTHING and progressed:
            return MORE
        return status

    def _process_batch(self, process: Any, batch: Any, values: list, timestamps: list,
                       ch: Channel, deadline: int | None) -> bool:
        """Process a batch in slices (``batch(values, timestamps)`` when the head has a fused
        batch entry, else ``process`` per record); if the step is due midway, put the rest back
        on the channel.

        Returns True when the batch was cut short."""
        n, i, clock_ns = len(values), 0, self.info.clock.monotonic_ns
        while i < n:
            started, end = clock_ns(), min(n, i + self.slice)
            if batch is not None:
                batch(values[i:end], timestamps[i:end])
            else:
                for value, ts in zip(values[i:end], timestamps[i:end]):
                    process(value, ts)
            self.records_in += end - i
            i = end
            self._adapt(started)
            if i < n and self._due(deadline):
                ch.unread((values[i:], timestamps[i:]))
                return True
        return False

    def _flush(self) -> None:
        for w in self.writers:
            w.flush()

    def _flush_after(self, status: int) -> None:
        """End of a step: ship every buffer, except that a task with more to do keeps the
        partial batches of channels to other processes until its buffer timeout passed."""
        if status == MORE and self.partial_ns is not None:
            now = self.info.clock.monotonic_ns()
            if now < self._partial_due:
                for w in self.writers:
                    w.flush_step()
                return
            self._partial_due = now + self.partial_ns
        self._flush()

    def _process_inputs(self) -> int:
        budget = BATCHES_PER_STEP
        progressed = False
        clock_ns = self.info.clock.monotonic_ns
        deadline = clock_ns() + self.step_ns if self.step_ns is not None else None
        pts = self.info.processing_time
        blocked = self.blocked
        for gate, (process, process_wm, process_status, input_no, batch) in zip(self.gates,
                                                                               self._handlers):
            if gate.finished:
                continue
            offset = gate.offset
            for c, ch in enumerate(gate.channels):
                while budget > 0 and not blocked[offset + c]:
                    item = ch.poll()
                    if item is None:
                        break
                    progressed = True
                    if type(item) is tuple:
                        values, timestamps = item
                        budget -= 1
                        if deadline is None and pts.next_deadline is None:
                            if batch is not None:
                                batch(values, timestamps)
                            else:
                                for value, ts in zip(values, timestamps):
                                    process(value, ts)
                            self.records_in += len(values)
                        elif self._process_batch(process, batch, values, timestamps, ch, deadline) \
                                or self._due(deadline):
                            budget = 0
                    elif type(item) is Watermark:
                        wm = gate.valve.input_watermark(c, item.timestamp)
                        if wm is not None:
                            process_wm(wm)
                    elif type(item) is WatermarkStatus:
                        wm, idle = gate.valve.input_status(c, item.idle)
                        if wm is not None:
                            process_wm(wm)
                        if idle is not None and process_status is not None:
                            process_status(idle)
                    elif type(item) is CheckpointBarrier:
                        self.checkpointer.on_barrier(offset + c, item)
                    elif type(item) is EndOfPartition:
                        gate.ended[c] = True
                        wm = gate.valve.finish(c)
                        if wm is not None:
                            process_wm(wm)
                        if all(gate.ended):
                            gate.finished = True
                            self._end_input(input_no)
                        self.checkpointer.on_end_of_partition(offset + c)
                        if gate.finished:
                            break
                    else:
                        self.on_event(item, gate, c)
        if all(g.finished for g in self.gates):
            self.end_of_data()
            return END
        return MORE if progressed else NOTHING

    def on_event(self, event: Any, gate: InputGate, channel: int) -> None:
        """A channel item of no known kind: a bug in a transport."""
        raise TypeError(f"task {self.name}: unexpected channel item {event!r}")

    def _end_input(self, input_no: int) -> None:
        if len(self.gates) == 2:
            self.head.end_input(input_no)

    def end_of_data(self) -> None:
        """All input ended: end and finish the chain in order, then end every output channel."""
        for i, op in enumerate(self.operators):
            if not (i == 0 and len(self.gates) == 2):
                op.end_input()
            op.finish()
        self.info.processing_time.quiesce()
        self.checkpointer.finished()
        for w in self.writers:
            w.emit_event(END_OF_PARTITION)
        self.finished = True

    def cancel(self) -> None:
        """Ask a source head to stop producing."""
        if self.is_source:
            self.head.cancel()

    def close(self) -> list[BaseException]:
        """Close every operator (even after a failure); returns the errors raised while closing."""
        errors: list[BaseException] = []
        if not self.opened or self.closed:
            return errors
        self.closed = True
        for op in self.operators:
            try:
                op.close()
            except Exception as exc:
                errors.append(exc)
        return errors

    def next_deadline(self) -> int | None:
        if self.suspended is not None:
            return None  # no timer fires after a stop-with-savepoint's snapshot
        return self.info.processing_time.next_deadline


def _check_step(type_info: Any, where: str) -> Step:
    """The declared-type check of an operator's output as a fused-chain step."""
    validate = type_info.validate
    names = {"expression": type_info.fast_expression, "globals": type_info.fast_globals()}
    return Step("check", type_info.fast_check(), lambda value: validate(value, where), names=names)


def _validating(collect: Any, type_info: Any, where: str) -> Any:
    """Wrap ``collect`` so every record is checked against the declared type first.

    A compiled quick check passes almost every valid record; only the rest go through the full
    (authoritative, message-building) validation.
    """
    validate, accepts = type_info.validate, type_info.fast_check()

    def checked(value: Any, ts: Any) -> None:
        if not accepts(value):
            validate(value, where)
        collect(value, ts)

    return checked


__all__ = ["StreamTask", "InputGate", "Route", "MORE", "NOTHING", "END", "BLOCKED"]
