"""The checkpoint coordinator: triggers checkpoints, collects acknowledgements, completes them.

Flink's ``CheckpointCoordinator``, for one job. Every ``interval`` of processing time (and not
sooner than ``min_pause`` after the last one ended, with at most ``max_concurrent`` in flight)
it opens checkpoint *n* in storage and asks every running source task to take it: the task
snapshots its chain and sends barrier *n* downstream, and every other task snapshots when the
barrier has passed all its inputs. Each task hands its snapshot to :meth:`acknowledge`; the
state is serialized and written on the coordinator's writer thread, off the tasks' hot path.
When every task has acknowledged, ``_metadata`` is written (the checkpoint is complete and
durable), older checkpoints beyond ``num_retained`` are removed, and every task is notified
(``notify_checkpoint_complete``: transactional sinks commit then).

A task that finished hands in its final snapshot once (:meth:`task_finished`); it stands for
that task in every later checkpoint. Once every source task has finished no checkpoint is
triggered any more (the job is draining).

A checkpoint fails (declined by a task, state that cannot be serialized, a storage error, or
the timeout) without failing the job; more than ``tolerable_failures`` consecutive failures do
fail it (:attr:`failure`). Savepoints go through the same path with their own location.

The coordinator talks to tasks through :class:`TaskGateway` only and never blocks a task;
``tick(now)`` is driven by the executor's loop. Thread-safe: acknowledgements arrive from task
threads, completions run on the writer thread.
"""
from __future__ import annotations

import dataclasses
import pickle
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from strom.checkpoint.barriers import CheckpointBarrier
from strom.errors import CheckpointError, InvalidTypeError

__all__ = [
    "FINAL_CHECKPOINT_ID",
    "CheckpointCoordinator",
    "CheckpointSettings",
    "CheckpointStats",
    "TaskGateway",
    "TaskSnapshot",
]

FINAL_CHECKPOINT_ID = 2**62
"""The id of a task's final snapshot (taken when it finished) and of the job's end-of-job
notification: transactional sinks commit what they pre-committed at the end of their input."""


@dataclass(frozen=True, slots=True)
class CheckpointSettings:
    """The checkpointing configuration the coordinator works with (all times in ms)."""

    interval_ms: int = -1
    exactly_once: bool = True
    timeout_ms: int = 600_000
    min_pause_ms: int = 0
    max_concurrent: int = 1
    tolerable_failures: int = 0
    num_retained: int = 1

    @property
    def enabled(self) -> bool:
        return self.interval_ms > 0


class TaskGateway(Protocol):
    """What the coordinator needs from a task (``StreamTask`` implements it)."""

    task_id: str
    is_source: bool
    finished: bool
    checkpoint_due: int | None  # source tasks: end the current step at this time (ms)

    def trigger_checkpoint(self, barrier: CheckpointBarrier) -> None:
        """Source tasks: take checkpoint ``barrier`` at the next step (thread-safe, non-blocking)."""

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` is durable (thread-safe, non-blocking)."""

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` was given up (thread-safe, non-blocking)."""


@dataclass(slots=True)
class TaskSnapshot:
    """One task's part of a checkpoint: the state of each operator of its chain.

    Attributes:
        states: operator id -> the operator's snapshot (serialized by the coordinator).
        operators: operator id -> {"name", "parallelism", "max_parallelism"}.
        subtask_index: the task's subtask.
        sync_ms: how long the task was paused for the synchronous part.
        alignment_ms: how long the task waited for barriers on all inputs.
    """

    states: dict[str, Any]
    operators: dict[str, dict[str, Any]]
    subtask_index: int
    sync_ms: float = 0.0
    alignment_ms: float = 0.0
    stateful: dict[str, bool] | None = None  # set once serialized: which states held anything

    def serialized(self) -> TaskSnapshot:
        """This snapshot with every state pickled (sent so between processes)."""
        if self.stateful is not None:
            return self
        return TaskSnapshot(_serialize_all(self), self.operators, self.subtask_index,
                            self.sync_ms, self.alignment_ms,
                            {op_id: bool(state) for op_id, state in self.states.items()})


@dataclass(slots=True)
class CheckpointStats:
    """One checkpoint as the metrics, the REST API and ``strom checkpoints`` report it."""

    checkpoint_id: int
    savepoint: bool
    trigger_timestamp: int
    status: str = "IN_PROGRESS"  # IN_PROGRESS, COMPLETED, FAILED
    duration_ms: int = 0
    size: int = 0
    alignment_ms: float = 0.0
    sync_ms: float = 0.0
    operator_sizes: dict[str, int] = field(default_factory=dict)
    path: str | None = None
    failure: str | None = None


@dataclass(slots=True)
class _Pending:
    barrier: CheckpointBarrier
    location: Any
    stats: CheckpointStats
    started_ms: int
    awaiting: set[str]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # op id -> metadata
    future: Future | None = None
    done: bool = False
    acked: set[str] = field(default_factory=set)  # tasks whose snapshot is being written


def state_file_name(op_id: str, subtask: int) -> str:
    """The flat file name of one operator subtask's state inside a checkpoint directory."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in op_id)
    return f"op-{safe}-{subtask}"


def _serialize_all(snapshot: TaskSnapshot) -> dict[str, bytes]:
    """Every operator state of a task's snapshot, pickled (errors name the operator)."""
    if snapshot.stateful is not None:
        return snapshot.states  # pickled already (in a TaskManager process)
    return {op_id: serialize(snapshot.operators[op_id]["name"], state)
            for op_id, state in snapshot.states.items()}


def serialize(op_name: str, state: Any) -> bytes:
    """Pickle an operator's snapshot; the error names the operator and the state that failed."""
    try:
        return pickle.dumps(state, protocol=5)
    except (InvalidTypeError, CheckpointError):
        raise
    except Exception as exc:
        culprit = ""
        if isinstance(state, dict):
            for key, value in state.items():
                try:
                    pickle.dumps(value, protocol=5)
                except Exception:
                    culprit = f" (its {key!r} state)"
                    break
        msg = (f"operator '{op_name}': the checkpoint cannot serialize its state{culprit}: "
               f"{type(exc).__name__}: {exc}; hint: keep only picklable values (no lambdas, "
               "locks, open files or sockets) in state")
        raise CheckpointError(msg) from exc


class CheckpointCoordinator:
    """Triggers and completes the checkpoints of one job (see the module docstring).

    Args:
        settings: interval, mode, timeout, pauses, retention.
        storage: a :class:`~strom.checkpoint.storage.CheckpointStorage` for this job.
        now: processing time in ms (the job's injected clock).
        job_name: recorded in the metadata.
        first_id: the id of the first checkpoint (one past the restored one, so ids grow).
        synchronous: serialize, write and complete on the acknowledging task's thread instead
            of the writer thread. Executors ask for it with a ``ManualClock``: then when a
            checkpoint completes depends only on the job, not on thread scheduling
            (deterministic tests).
    """

    def __init__(self, settings: CheckpointSettings, storage: Any, now: Callable[[], int],
                 job_name: str = "", first_id: int = 1, synchronous: bool = False) -> None:
        self.settings = settings
        self.storage = storage
        self.now = now
        self.job_name = job_name
        self.next_id = first_id
        self.lock = threading.RLock()
        self.tasks: list[Any] = []
        self.pending: dict[int, _Pending] = {}
        self.history: list[CheckpointStats] = []
        self.completed: list[CheckpointStats] = []
        self.finished_states: dict[str, tuple[TaskSnapshot, dict[str, bytes]]] = {}
        self.consecutive_failures = 0
        self.failure: Exception | None = None
        self.last_end_ms: int | None = None
        self._next_trigger_ms: int | None = None
        self._requests: list[tuple[str | None, Future, str | None]] = []
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strom checkpoint writer")
        self.synchronous = synchronous
        self.num_completed = 0
        self.num_failed = 0
        self.skipped: list[str] = []  # checkpoints a restore could not use, with the reason

    # -- wiring ---------------------------------------------------------------------------------

    def attach(self, tasks: Sequence[Any]) -> None:
        """Use ``tasks`` from now on (a new attempt after a restart); pending checkpoints end."""
        with self.lock:
            for cid in list(self.pending):
                self._fail(cid, "the job restarted")
            self.tasks = list(tasks)
            self.finished_states = {}
            # the failure that failed the previous attempt was handled by the restart (Flink's
            # CheckpointFailureManager clears its count when it fails the job): a kept one
            # would fail every new attempt at its first tick
            self.failure = None
            self.consecutive_failures = 0
            if self.settings.enabled:
                self.next_trigger_ms = self.now() + self.settings.interval_ms

    @property
    def next_trigger_ms(self) -> int | None:
        """When the next periodic checkpoint is due (ms), None when none will be."""
        return self._next_trigger_ms

    @next_trigger_ms.setter
    def next_trigger_ms(self, value: int | None) -> None:
        self._next_trigger_ms = value
        self._announce(value)

    def _announce(self, due: int | None) -> None:
        """Source tasks end their step at ``due`` (``checkpoint_due``), so a trigger does not
        wait for a long step to finish; None while no trigger can happen (too many in flight)."""
        for t in self.tasks:
            if t.is_source:
                t.checkpoint_due = due

    def _blocked(self) -> bool:
        """No trigger can happen now: as many checkpoints in flight as allowed."""
        return len(self.pending) >= self.settings.max_concurrent

    def register_metrics(self, group: Any) -> None:
        """Flink's job-level checkpoint metrics on ``group`` (a MetricGroup)."""
        group.gauge("numberOfCompletedCheckpoints", lambda: self.num_completed)
        group.gauge("numberOfFailedCheckpoints", lambda: self.num_failed)
        group.gauge("numberOfInProgressCheckpoints", lambda: len(self.pending))
        group.gauge("lastCheckpointDuration", lambda: self._last("duration_ms"))
        group.gauge("lastCheckpointSize", lambda: self._last("size"))
        group.gauge("lastCheckpointAlignmentTime", lambda: self._last("alignment_ms"))
        group.gauge("lastCheckpointExternalPath", lambda: self._last("path"))

    def summary(self) -> dict[str, Any]:
        """What the job's checkpoints did, as plain data (for clients, REST and dashboards):
        counts, the latest completed one, and every checkpoint's record, newest last."""
        with self.lock:
            history = [dataclasses.asdict(s) for s in self.history]
            latest = dataclasses.asdict(self.completed[-1]) if self.completed else None
            return {"counts": {"completed": self.num_completed, "failed": self.num_failed,
                               "in_progress": len(self.pending)},
                    "latest_completed": latest, "history": history,
                    "skipped_on_restore": list(self.skipped)}

    def _last(self, attr: str) -> Any:
        return getattr(self.completed[-1], attr) if self.completed else -1

    # -- triggering -----------------------------------------------------------------------------

    def next_deadline(self) -> int | None:
        """When :meth:`tick` next has something to do (ms), for executors that sleep."""
        with self.lock:
            if self._requests:
                return self.now()
            deadlines = [p.started_ms + self.settings.timeout_ms for p in self.pending.values()]
            if self.next_trigger_ms is not None and not self._blocked():
                deadlines.append(self.next_trigger_ms)
            return min(deadlines) if deadlines else None

    def tick(self) -> None:
        """Trigger what is due, time out what is late. Raises the job-failing error, if any."""
        with self.lock:
            if self.failure is not None:
                raise self.failure
            now = self.now()
            for cid, p in list(self.pending.items()):
                if now - p.started_ms > self.settings.timeout_ms and not p.done:
                    self._fail(cid, f"it expired before completing (timeout {self.settings.timeout_ms} ms)")
            while self._requests:
                target, future, stop = self._requests.pop(0)
                cid = self._trigger(now, True, target, stop)
                if cid is None:
                    future.set_exception(CheckpointError(
                        "savepoint: every source of the job has finished, so no barrier can be "
                        "injected; hint: take savepoints while the job still reads its input"))
                else:
                    self.pending[cid].future = future
            nxt = self.next_trigger_ms
            if nxt is None or now < nxt:
                return
            if self._blocked():
                self._announce(None)  # until one completes: sources step at full length
                return
            if self.last_end_ms is not None and now - self.last_end_ms < self.settings.min_pause_ms:
                self.next_trigger_ms = self.last_end_ms + self.settings.min_pause_ms
                return
            self.next_trigger_ms = now + self.settings.interval_ms
            self._trigger(now, False, None)

    def trigger_savepoint(self, target: str | None, stop: str | None = None) -> Future:
        """Ask for a savepoint into ``target`` (a directory); the future yields its path.

        ``stop`` makes it a stop-with-savepoint (see ``CheckpointBarrier.stop``)."""
        future: Future = Future()
        with self.lock:
            self._requests.append((target, future, stop))
            for t in self.tasks:
                if t.is_source:
                    t.checkpoint_due = self.now()
        return future

    def _trigger(self, now: int, savepoint: bool, savepoint_target: str | None,
                 stop: str | None = None) -> int | None:
        sources = [t for t in self.tasks if t.is_source and not t.finished]
        if not sources:
            self.next_trigger_ms = None  # the job is draining: no more checkpoints
            return None
        cid = self.next_id
        self.next_id += 1
        try:
            location = (self.storage.begin_savepoint(savepoint_target, cid) if savepoint
                        else self.storage.begin(cid))
        except Exception as exc:
            stats = CheckpointStats(cid, savepoint, now, status="FAILED", failure=str(exc))
            self.history.append(stats)
            self._count_failure(f"checkpoint {cid} could not be started: {exc}")
            return None
        barrier = CheckpointBarrier(cid, now, savepoint, stop)
        stats = CheckpointStats(cid, savepoint, now)
        self.history.append(stats)
        awaiting = {t.task_id for t in self.tasks if not t.finished}
        pending = self.pending[cid] = _Pending(barrier, location, stats, now, awaiting)
        for task_id, (snapshot, blobs) in self.finished_states.items():
            self._add_final(cid, pending, task_id, snapshot, blobs)  # small: written here
        if cid not in self.pending:
            return None  # writing a finished task's state failed: the checkpoint failed
        for t in sources:
            t.trigger_checkpoint(barrier)
        self._maybe_complete(cid)
        return cid

    # -- acknowledgements -----------------------------------------------------------------------

    def acknowledge(self, task_id: str, checkpoint_id: int, snapshot: TaskSnapshot) -> None:
        """A task took its part of ``checkpoint_id``; serialize and write it off its thread."""
        with self.lock:
            pending = self.pending.get(checkpoint_id)
            if pending is None:
                return  # aborted meanwhile
            pending.acked.add(task_id)  # its final snapshot must not replace this one
        self._submit(self._write_ack, task_id, checkpoint_id, snapshot)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self.synchronous:
            fn(*args)
        else:
            self._writer.submit(self._guarded, fn, *args)

    def _guarded(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn`` on the writer thread; an unexpected error fails the job, never silently."""
        try:
            fn(*args)
        except Exception as exc:
            with self.lock:
                if self.failure is None:
                    self.failure = exc

    def _write_ack(self, task_id: str, checkpoint_id: int, snapshot: TaskSnapshot) -> None:
        try:
            blobs = _serialize_all(snapshot)
        except Exception as exc:  # state that cannot be pickled: this checkpoint fails
            with self.lock:
                self._fail(checkpoint_id, str(exc))
            return
        with self.lock:
            pending = self.pending.get(checkpoint_id)
            if pending is None or task_id not in pending.awaiting:
                return
        try:  # outside the lock: tasks acknowledging meanwhile must not wait for I/O
            self._write_blobs(pending, snapshot, blobs)
        except Exception as exc:
            with self.lock:
                self._fail(checkpoint_id, f"writing the state of task {task_id} failed: {exc}")
            return
        with self.lock:
            if self.pending.get(checkpoint_id) is not pending:
                return
            self._record(pending, snapshot, blobs)
            pending.awaiting.discard(task_id)
            st = pending.stats
            st.alignment_ms = max(st.alignment_ms, snapshot.alignment_ms)
            st.sync_ms = max(st.sync_ms, snapshot.sync_ms)
            self._maybe_complete(checkpoint_id)

    @staticmethod
    def _write_blobs(pending: _Pending, snapshot: TaskSnapshot, blobs: dict[str, bytes]) -> None:
        for op_id, blob in blobs.items():
            pending.location.write(state_file_name(op_id, snapshot.subtask_index), blob)

    @staticmethod
    def _record(pending: _Pending, snapshot: TaskSnapshot, blobs: dict[str, bytes]) -> None:
        for op_id, blob in blobs.items():
            meta = snapshot.operators[op_id]
            entry = pending.files.setdefault(op_id, {
                "name": meta["name"], "parallelism": meta["parallelism"],
                "max_parallelism": meta["max_parallelism"], "subtasks": {}})
            entry["subtasks"][str(snapshot.subtask_index)] = state_file_name(op_id, snapshot.subtask_index)
            # an operator whose snapshots are all empty holds no state (a map, a filter): a
            # restore into a job without it loses nothing (as Flink ignores stateless operators)
            held = (snapshot.stateful.get(op_id, False) if snapshot.stateful is not None
                    else bool(snapshot.states.get(op_id)))
            entry["stateful"] = entry.get("stateful", False) or held
            pending.stats.size += len(blob)
            sizes = pending.stats.operator_sizes
            sizes[meta["name"]] = sizes.get(meta["name"], 0) + len(blob)

    def decline(self, task_id: str, checkpoint_id: int, reason: BaseException | str) -> None:
        """A task could not take its part of ``checkpoint_id``."""
        with self.lock:
            self._fail(checkpoint_id, f"task {task_id} declined it: {reason}")

    def task_finished(self, task_id: str, snapshot: TaskSnapshot | None,
                      failure: BaseException | None = None) -> None:
        """A task finished; ``snapshot`` (its final state) stands for it in later checkpoints.

        ``failure``: its final snapshot could not be taken; the checkpoints waiting for it fail
        (and count against the tolerable failures, once), as later ones would lack its state.
        """
        if failure is not None:
            with self.lock:
                waiting = [cid for cid, p in self.pending.items()
                           if task_id in p.awaiting and task_id not in p.acked and not p.done]
                for cid in waiting:
                    self._fail(cid, f"task {task_id} finished but its final snapshot failed: {failure}")
                if not waiting:
                    self._count_failure(f"the final snapshot of task {task_id} failed: {failure}")
                self.next_trigger_ms = None  # no later checkpoint could hold this task's state
            return
        if snapshot is None:
            return
        try:
            blobs = _serialize_all(snapshot)
        except Exception as exc:
            with self.lock:
                self._count_failure(str(exc))
            return
        with self.lock:
            self.finished_states[task_id] = (snapshot, blobs)
            for cid, pending in list(self.pending.items()):
                if task_id in pending.awaiting and task_id not in pending.acked and not pending.done:
                    self._add_final(cid, pending, task_id, snapshot, blobs)
                    self._maybe_complete(cid)

    def _add_final(self, cid: int, pending: _Pending, task_id: str, snapshot: TaskSnapshot,
                   blobs: dict[str, bytes]) -> None:
        """Under the lock: a finished task's final state stands for it in checkpoint ``cid``
        (which fails if that state cannot be written)."""
        try:
            self._write_blobs(pending, snapshot, blobs)
        except Exception as exc:
            self._fail(cid, f"writing the final state of task {task_id} failed: {exc}")
            return
        self._record(pending, snapshot, blobs)
        pending.awaiting.discard(task_id)

    # -- completion -----------------------------------------------------------------------------

    def _maybe_complete(self, cid: int) -> None:
        pending = self.pending.get(cid)
        if pending is None or pending.awaiting or pending.done:
            return
        pending.done = True
        self._submit(self._complete, cid)

    def _complete(self, cid: int) -> None:
        with self.lock:
            pending = self.pending.get(cid)
            if pending is None:
                return
            stats = pending.stats
            metadata = {"job_name": self.job_name, "trigger_timestamp": stats.trigger_timestamp,
                        "operators": pending.files}
            try:
                stats.path = pending.location.commit(metadata, now_ms=self.now())
            except Exception as exc:
                pending.done = False
                self._fail(cid, f"writing its metadata failed: {exc}")
                return
            del self.pending[cid]
            stats.status = "COMPLETED"
            stats.duration_ms = self.now() - pending.started_ms
            self.completed.append(stats)
            self.num_completed += 1
            self.consecutive_failures = 0
            if not stats.savepoint:
                self.last_end_ms = self.now()
                try:
                    self.storage.prune(self.settings.num_retained)
                except Exception:  # noqa: S110 - retention is best effort; the checkpoint stands
                    pass
            for older in [i for i in self.pending if i < cid and not self.pending[i].done]:
                self._fail(older, f"checkpoint {cid} completed first")
            self._announce(self._next_trigger_ms)
            self._notify_all(cid)
            if pending.future is not None:
                pending.future.set_result(stats.path)

    def _notify_all(self, cid: int) -> None:
        for t in self.tasks:
            try:
                t.notify_checkpoint_complete(cid)
            except Exception as exc:  # a finished task's sink failed to commit: fail the job
                if self.failure is None:
                    self.failure = exc  # type: ignore[assignment]

    def _fail(self, cid: int, reason: str) -> None:
        pending = self.pending.pop(cid, None)
        if pending is None:
            return
        self._announce(self._next_trigger_ms)
        stats = pending.stats
        stats.status = "FAILED"
        stats.failure = reason
        stats.duration_ms = self.now() - pending.started_ms
        try:
            pending.location.abort()
        except Exception:  # noqa: S110 - the checkpoint failed anyway; leftovers are pruned later
            pass
        for t in self.tasks:
            t.notify_checkpoint_aborted(cid)
        what = "savepoint" if stats.savepoint else "checkpoint"
        if pending.future is not None:
            pending.future.set_exception(CheckpointError(f"{what} {cid} failed: {reason}"))
            return  # a failed savepoint does not count against the tolerable failures
        self._count_failure(f"{what} {cid} failed: {reason}")

    def _count_failure(self, reason: str) -> None:
        self.num_failed += 1
        self.consecutive_failures += 1
        if self.consecutive_failures > self.settings.tolerable_failures:
            self.failure = CheckpointError(
                f"{reason}; {self.consecutive_failures} checkpoint(s) failed in a row, more than "
                f"the {self.settings.tolerable_failures} tolerated; hint: raise "
                "execution.checkpointing.tolerable-failed-checkpoints or fix the cause above")

    # -- end of a run ---------------------------------------------------------------------------

    def notify_job_finished(self) -> None:
        """Every task finished: notify the final snapshot's completion (sinks commit their last
        transaction). Called once, after the last task finished, before tasks are closed."""
        with self.lock:
            for t in self.tasks:
                t.notify_checkpoint_complete(FINAL_CHECKPOINT_ID)

    def abort_all(self, reason: str) -> None:
        """The attempt ends (failure or cancel): give up every checkpoint in flight."""
        with self.lock:
            while self._requests:  # savepoints asked for but not triggered yet
                _, future, _ = self._requests.pop(0)
                future.set_exception(CheckpointError(f"savepoint failed: {reason}"))
            for cid in list(self.pending):
                p = self.pending.pop(cid)
                p.stats.status = "FAILED"
                p.stats.failure = reason
                try:
                    p.location.abort()
                except Exception:  # noqa: S110 - best effort
                    pass
                if p.future is not None:
                    p.future.set_exception(CheckpointError(f"savepoint {cid} failed: {reason}"))

    def settle(self) -> None:
        """Wait until every checkpoint all of whose tasks acknowledged has been committed (the
        job ended: a stop-with-savepoint may still be writing)."""
        while True:
            self.wait_idle()
            with self.lock:
                if not any(p.done for p in self.pending.values()):
                    return

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until the writer thread has nothing queued (tests, shutdown)."""
        self._writer.submit(lambda: None).result(timeout)

    def shutdown(self) -> None:
        """Stop the writer thread after the queued work."""
        self._writer.shutdown(wait=True)
