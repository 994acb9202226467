"""A task's side of checkpointing (Flink's SubtaskCheckpointCoordinator and barrier handler).

Each :class:`~strom.runtime.task.StreamTask` owns one :class:`SubtaskCheckpointer`. It feeds
the barriers and ends of partition of every input channel to the barrier handler
(:mod:`strom.checkpoint.barriers`: aligned for EXACTLY_ONCE, tracked for AT_LEAST_ONCE), whose
``blocked`` flags the task honours when it polls its channels; a source task is told to take a
checkpoint through its mailbox. Taking checkpoint *n*, on the task's thread between records:

1. every operator of the chain gets ``prepare_snapshot_pre_barrier(n)`` (it may still emit);
2. barrier *n* goes down every output channel, behind every record emitted so far;
3. every operator's ``snapshot_operator`` makes a copy of its state (the *pause*: keyed state is
   copied, not serialized, see ``KeyedStateSnapshot``);
4. the copies go to the checkpoint coordinator, which serializes and writes them on its writer
   thread while the task goes on.

When the task finishes, its final snapshot is handed to the coordinator once and stands for it
in every later checkpoint. Notifications of completed or aborted checkpoints run on the task's
thread through its mailbox (directly once the task has finished).
"""
from __future__ import annotations

from typing import Any

from strom.checkpoint.barriers import CheckpointBarrier, barrier_handler
from strom.checkpoint.coordinator import FINAL_CHECKPOINT_ID, TaskSnapshot
from strom.errors import CheckpointError
from strom.runtime.checkpointing import FunctionSnapshotContext
from strom.time.watermarks import MAX_WATERMARK

__all__ = ["SubtaskCheckpointer"]


class SubtaskCheckpointer:
    """Barrier handling, snapshots and notifications of one task.

    Args:
        task: the task (its operators, writers, info and ``post`` mailbox).
        coordinator: the job's checkpoint coordinator, or None when the job runs without one
            (harnesses): then barriers are still aligned and forwarded, nothing is stored.
        exactly_once: align barriers (EXACTLY_ONCE) or only track them (AT_LEAST_ONCE).
        num_channels: the task's input channels over all its inputs.
        final_snapshot: take a full snapshot when the task finishes (checkpointing enabled).
    """

    def __init__(self, task: Any, coordinator: Any, exactly_once: bool, num_channels: int,
                 final_snapshot: bool) -> None:
        self.task = task
        self.coordinator = coordinator
        self.handler = barrier_handler(exactly_once, num_channels)
        self.blocked = self.handler.blocked
        self.final_snapshot = final_snapshot
        self._align_start_ns: int | None = None
        self.last_checkpoint_id = -1
        self.last_sync_ms = 0.0
        self.last_alignment_ms = 0.0

    # -- input side -----------------------------------------------------------------------------

    def on_barrier(self, channel: int, barrier: CheckpointBarrier) -> None:
        """``barrier`` arrived on input channel ``channel`` (flat index over all inputs)."""
        self._handle(self.handler.on_barrier(channel, barrier))

    def on_end_of_partition(self, channel: int) -> None:
        self._handle(self.handler.on_end_of_partition(channel))

    def _handle(self, result: Any) -> None:
        clock = self.task.info.clock
        if result.alignment_started:
            self._align_start_ns = clock.monotonic_ns()
        for cid in result.aborted:
            self._decline(cid, "a newer checkpoint's barrier arrived before alignment completed")
        if result.trigger is not None:
            started = self._align_start_ns
            alignment_ms = 0.0 if started is None else (clock.monotonic_ns() - started) / 1e6
            self._align_start_ns = None
            self.checkpoint(result.trigger, alignment_ms)

    # -- taking a checkpoint --------------------------------------------------------------------

    def trigger(self, barrier: CheckpointBarrier) -> None:
        """Source tasks: take ``barrier``'s checkpoint at the task's next step (thread-safe)."""
        self.task.post(lambda: self.checkpoint(barrier, 0.0))

    def checkpoint(self, barrier: CheckpointBarrier, alignment_ms: float) -> None:
        """Take checkpoint ``barrier`` now (on the task's thread, between records)."""
        task = self.task
        if task.finished:
            return  # its final snapshot stands for it
        cid = barrier.checkpoint_id
        clock = task.info.clock
        started = clock.monotonic_ns()
        with task.head.snapshot_guard():
            if barrier.stop == "terminate" and task.is_source:
                # stop-with-savepoint --drain: event time ends before the barrier, so every
                # event-time window and timer fires and its output is in the savepoint's past
                task.head.output.emit_watermark(MAX_WATERMARK)
            try:
                for op in task.operators:
                    op.prepare_snapshot_pre_barrier(cid)
            except Exception as exc:
                self._decline(cid, exc)
                raise
            for w in task.writers:
                w.emit_event(barrier)
            try:
                states = self._snapshot(cid, barrier.timestamp)
            except Exception as exc:  # unpicklable state and the like: the checkpoint fails
                self._decline(cid, exc)
                return
        self.last_checkpoint_id = cid
        self.last_sync_ms = (clock.monotonic_ns() - started) / 1e6
        self.last_alignment_ms = alignment_ms
        if self.coordinator is not None:
            snapshot = TaskSnapshot(states, task.operator_meta, task.info.subtask_index,
                                    self.last_sync_ms, alignment_ms)
            self.coordinator.acknowledge(task.task_id, cid, snapshot)
        if barrier.stop is not None:
            self._stop_at(barrier)

    def _stop_at(self, barrier: CheckpointBarrier) -> None:
        """After a stop-with-savepoint's snapshot: a draining source ends its input (everything
        downstream ends after the barrier); otherwise the task suspends (runs only its mailbox:
        no input, no timers, so nothing is emitted after the savepoint) until the savepoint
        completes (then the task ends, see :meth:`notify_complete`) or fails (then it resumes)."""
        task = self.task
        if barrier.stop == "terminate":
            if task.is_source:
                task.cancel()
                task.end_of_data()
        else:
            task.suspended = barrier.checkpoint_id

    def _snapshot(self, checkpoint_id: int, timestamp: int, every: bool = False) -> dict[str, Any]:
        """Every operator's snapshot; a failure names the operator. With ``every``, the
        operators after a failing one are still snapshotted (their CheckpointedFunction hooks
        run: a sink records the files its final commit needs) before the error is raised."""
        states: dict[str, Any] = {}
        error: CheckpointError | None = None
        for op in self.task.operators:
            try:
                states[op.operator_id] = op.snapshot_operator(checkpoint_id, timestamp)
            except Exception as exc:
                what = "final snapshot" if checkpoint_id == FINAL_CHECKPOINT_ID \
                    else f"snapshot for checkpoint {checkpoint_id}"
                msg = f"operator '{op.name}' (task {self.task.name}): its {what} failed: {exc}"
                failure = CheckpointError(msg)
                failure.__cause__ = exc
                if not every:
                    raise failure from exc
                error = error or failure
        if error is not None:
            raise error
        return states

    def _decline(self, checkpoint_id: int, reason: Any) -> None:
        if self.coordinator is not None:
            self.coordinator.decline(self.task.task_id, checkpoint_id, reason)

    def finished(self) -> None:
        """The task finished: hand its final snapshot to the coordinator (or, without
        checkpointing, let CheckpointedFunctions record their final state for the end-of-job
        commit)."""
        task = self.task
        now = task.info.clock.now()
        if self.final_snapshot and self.coordinator is not None:
            try:
                states = self._snapshot(FINAL_CHECKPOINT_ID, now, every=True)
            except CheckpointError as exc:  # as a checkpoint's snapshot: fails checkpoints, not the task
                self.coordinator.task_finished(task.task_id, None, failure=exc)
                return
            snapshot = TaskSnapshot(states, task.operator_meta, task.info.subtask_index)
            self.coordinator.task_finished(task.task_id, snapshot)
            return
        context = FunctionSnapshotContext(FINAL_CHECKPOINT_ID, now)
        for op in task.operators:
            op.snapshot_functions(context)

    # -- notifications --------------------------------------------------------------------------

    def notify_complete(self, checkpoint_id: int) -> None:
        """Thread-safe: run ``notify_checkpoint_complete`` on every operator of the chain."""
        def complete() -> None:
            task = self.task
            for op in task.operators:
                op.notify_checkpoint_complete(checkpoint_id)
            if task.suspended == checkpoint_id:  # stop-with-savepoint: the task ends here
                task.suspended = None
                task.stopped = task.finished = True
        self._notify(complete)

    def notify_aborted(self, checkpoint_id: int) -> None:
        def aborted() -> None:
            if self.task.suspended == checkpoint_id:  # the stop-with-savepoint failed: go on
                self.task.suspended = None
            self.handler.abort(checkpoint_id)
            for op in self.task.operators:
                op.notify_checkpoint_aborted(checkpoint_id)
        self._notify(aborted)

    def _notify(self, action: Any) -> None:
        task = self.task
        if task.finished or not task.opened:
            if task.opened and not task.closed:
                action()  # nothing runs on a finished task any more: safe on this thread
            return
        task.post(action)
