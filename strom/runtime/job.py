"""A running job as its submitter sees it: status, cancel, result (PyFlink's JobClient)."""
from __future__ import annotations

import concurrent.futures
import enum
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strom.errors import CheckpointError, JobCancelledError, JobExecutionError


class JobStatus(enum.Enum):
    """Flink's job states that an embedded job goes through."""

    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"

    def is_globally_terminal_state(self) -> bool:
        return self in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED)

    def is_terminal_state(self) -> bool:
        """Whether the job stopped here for good on this process (globally terminal, or
        SUSPENDED in Flink, a state strom's jobs do not take)."""
        return self.is_globally_terminal_state()


@dataclass(frozen=True, slots=True)
class JobExecutionResult:
    """What ``execute()`` returns: the job id, its run time and accumulators."""

    job_id: str
    net_runtime_ms: int
    accumulators: dict[str, Any] = field(default_factory=dict)
    restarts: int = 0
    checkpoints: dict[str, Any] = field(default_factory=dict)  # the coordinator's summary()

    def get_job_id(self) -> str:
        return self.job_id

    def get_net_runtime(self) -> int:
        return self.net_runtime_ms

    def get_all_accumulator_results(self) -> dict[str, Any]:
        return dict(self.accumulators)

    def get_accumulator_result(self, accumulator_name: str) -> Any:
        """The accumulator named ``accumulator_name``, or None if the job produced none."""
        return self.accumulators.get(accumulator_name)


class JobID(str):
    """A job's id (PyFlink's ``JobID``): 32 hex digits; ``str(job_id)`` is the text."""

    __slots__ = ()


class CompletableFuture:
    """The result of a ``JobClient`` call, available now or later (PyFlink's
    ``CompletableFuture``): ``result(timeout)`` waits for it, ``done()`` says whether it is in.

    Cancelling the future gives up on its result (``result()`` then raises
    ``concurrent.futures.CancelledError``); it does not cancel the job (``JobClient.cancel``
    does).
    """

    def __init__(self, fn: Callable[[float | None], Any],
                 is_done: Callable[[], bool] = lambda: True) -> None:
        self._fn = fn
        self._is_done = is_done
        self._cancelled = False

    def result(self, timeout: float | None = None) -> Any:
        """Wait (at most ``timeout`` seconds, or for ever) for the value and return it."""
        if self._cancelled:
            raise concurrent.futures.CancelledError("the future was cancelled")
        return self._fn(timeout)

    def done(self) -> bool:
        """Whether the value (or failure) is in, or the future was cancelled."""
        return self._cancelled or self._is_done()

    def cancel(self) -> bool:
        """Give up on the value; ``False`` if it is already in."""
        if self._cancelled:
            return True
        if self._is_done():
            return False
        self._cancelled = True
        return True

    def cancelled(self) -> bool:
        """Whether :meth:`cancel` succeeded."""
        return self._cancelled

    def exception(self) -> BaseException | None:
        """The failure, if the future completed with one; ``None`` otherwise (also while it
        is still running)."""
        if self._cancelled or not self._is_done():
            return None
        try:
            self._fn(0)
        except Exception as exc:  # the failure is the answer
            return exc
        return None


FAILURE_HISTORY = 16
"""Failures a job keeps for its exception history (Flink's web.exception-history-size)."""


class JobControl:
    """Shared between the executor running a job and its clients."""

    def __init__(self, job_name: str) -> None:
        self.job_id = JobID(uuid.uuid4().hex)
        self.job_name = job_name
        self.status = JobStatus.CREATED
        self.cancel_requested = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.result: JobExecutionResult | None = None
        self.wakeup = threading.Event()
        self.metrics: Any = None
        self.coordinator: Any = None  # the job's checkpoint coordinator, once it runs
        self.restarts = 0  # how often the job was restarted after a failure
        # (ms since the epoch, error) of the newest failures, oldest first, whether the job
        # restarted after them or not (the REST API's exception history)
        self.failures: list[tuple[int, BaseException]] = []
        # (vertex id, subtask) -> Flink's execution state / the TaskManager running it (set by
        # executors that place subtasks: the REST API shows them)
        self.subtask_states: dict[tuple[int, int], str] = {}
        self.subtask_locations: dict[tuple[int, int], str] = {}
        self.restart_strategy = ""  # its description, once the job runs
        self.job_parameters: dict[str, str] = {}  # the global job parameters it runs with

    def note_failure(self, error: BaseException) -> None:
        """Keep ``error`` in :attr:`failures` (the newest :data:`FAILURE_HISTORY` of them)."""
        self.failures.append((time.time_ns() // 1_000_000, error))
        del self.failures[:-FAILURE_HISTORY]

    def request_cancel(self) -> None:
        if not self.status.is_globally_terminal_state():
            self.status = JobStatus.CANCELLING
        self.cancel_requested.set()
        self.wakeup.set()

    def conclude(self, tasks: list[Any], error: BaseException | None, elapsed_ms: int) -> JobExecutionResult:
        """End a run (every executor calls this last): cancel and close every task, record how
        the job ended, and return its result or raise its failure.

        ``error`` is the first failure (None if none). A close error fails a job that otherwise
        succeeded. KeyboardInterrupt and SystemExit are re-raised as they are.
        """
        for t in tasks:
            t.cancel()
        close_errors = [e for t in tasks for e in t.close()]
        if error is None and close_errors:
            error = close_errors[0]
        if error is not None:
            self.error = error
            self.status = JobStatus.FAILED
            self.done.set()
            if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: not a job failure
                raise error
            return self.wait()
        if self.cancel_requested.is_set() and not all(t.finished for t in tasks):
            self.status = JobStatus.CANCELED
        else:
            self.status = JobStatus.FINISHED
        summary = self.coordinator.summary() if self.coordinator is not None else {}
        self.result = JobExecutionResult(self.job_id, elapsed_ms, restarts=self.restarts,
                                         checkpoints=summary)
        self.done.set()
        return self.wait()

    def wait(self, timeout: float | None = None) -> JobExecutionResult:
        """Block until the job ends; raise if it failed or was cancelled."""
        if not self.done.wait(timeout):
            raise TimeoutError(f"job '{self.job_name}' did not finish within {timeout} s")
        if self.status is JobStatus.CANCELED:
            raise JobCancelledError(f"job '{self.job_name}' ({self.job_id}) was cancelled")
        if self.error is not None:
            after = ""
            if self.restarts:
                after = (f" after {self.restarts} restart(s) ({self.restart_strategy}; the "
                         "restart strategy gave up)")
            raise JobExecutionError(f"job '{self.job_name}' failed{after}: {self.error}") from self.error
        assert self.result is not None
        return self.result


class JobClient:
    """Handle on a job started with ``execute_async`` (PyFlink's ``JobClient``)."""

    def __init__(self, control: JobControl, thread: threading.Thread | None = None) -> None:
        self._control = control
        self._thread = thread

    def get_job_id(self) -> JobID:
        return self._control.job_id

    def get_job_status(self) -> CompletableFuture:
        return CompletableFuture(lambda timeout: self._control.status)

    def cancel(self) -> CompletableFuture:
        self._control.request_cancel()

        def wait(timeout: float | None) -> None:
            self._control.done.wait(timeout)

        return CompletableFuture(wait, self._control.done.is_set)

    def get_job_execution_result(self) -> CompletableFuture:
        return CompletableFuture(self._control.wait, self._control.done.is_set)

    def get_accumulators(self) -> CompletableFuture:
        """The job's accumulators (name -> value) once it has ended (strom's functions have no
        accumulators to update while it runs, so the map is then final)."""
        return CompletableFuture(lambda timeout: dict(self._control.wait(timeout).accumulators),
                                 self._control.done.is_set)

    def trigger_savepoint(self, savepoint_directory: str | None = None) -> CompletableFuture:
        """Take a savepoint into ``savepoint_directory`` (None: the configured
        ``execution.checkpointing.savepoint-dir``); ``.result(timeout)`` is its path."""
        future = self._savepoint("trigger_savepoint", savepoint_directory, None)
        return CompletableFuture(lambda timeout: self._await(future, timeout), future.done)

    def stop_with_savepoint(self, advance_to_end_of_event_time: bool = False,
                            savepoint_directory: str | None = None) -> CompletableFuture:
        """Take a savepoint, then stop the job (it ends FINISHED); ``.result(timeout)`` is the
        savepoint's path once the job has ended.

        Without ``advance_to_end_of_event_time`` every task pauses right after its snapshot,
        so nothing is emitted (and no timer fires) after the savepoint; transactional sinks
        commit what the savepoint covers. With it (Flink's ``--drain``) the sources emit
        MAX_WATERMARK before the barrier, so every event-time window and timer fires first,
        and the job then ends as if its input had ended. If the savepoint fails, a job that
        was not draining goes on running.
        """
        stop = "terminate" if advance_to_end_of_event_time else "suspend"
        future = self._savepoint("stop_with_savepoint", savepoint_directory, stop)

        def result(timeout: float | None) -> str:
            started = time.monotonic()
            path = self._await(future, timeout)
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
            if not self._control.done.wait(left):
                raise TimeoutError(f"stop_with_savepoint: savepoint {path} was taken but job "
                                   f"'{self._control.job_name}' did not end within {timeout} s")
            return path

        return CompletableFuture(result, lambda: future.done() and self._control.done.is_set())

    def _savepoint(self, what: str, directory: str | None, stop: str | None) -> concurrent.futures.Future:
        control = self._control
        future: concurrent.futures.Future = concurrent.futures.Future()
        give_up = time.monotonic() + 10.0
        while control.coordinator is None and not control.done.is_set() and time.monotonic() < give_up:
            time.sleep(0.002)  # the job is being deployed
        coordinator = control.coordinator
        if control.done.is_set() or coordinator is None:
            future.set_exception(CheckpointError(
                f"{what}: job '{control.job_name}' ({control.job_id}) is {control.status.value}, "
                "not running, so there is nothing to take a savepoint of; hint: take savepoints "
                "while the job runs"))
            return future
        if not directory and not coordinator.storage.savepoint_dir:
            future.set_exception(CheckpointError(
                f"{what}: job '{control.job_name}': no savepoint directory was given and none is "
                "configured; expected a directory such as '/var/strom/savepoints' or "
                "'s3://bucket/savepoints'. Hint: pass savepoint_directory=..., or set "
                "execution.checkpointing.savepoint-dir (state.savepoints.dir)"))
            return future
        future = coordinator.trigger_savepoint(directory or None, stop)
        control.wakeup.set()  # the executor's loop triggers it
        return future

    def _await(self, future: concurrent.futures.Future, timeout: float | None) -> str:
        """The savepoint's path; fails if the job ends before the savepoint is taken."""
        control = self._control
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.05 if deadline is None else min(0.05, max(0.0, deadline - time.monotonic()))
            try:
                return future.result(wait)
            except concurrent.futures.TimeoutError:
                pass
            if control.done.is_set() and not future.done():
                raise CheckpointError(
                    f"savepoint of job '{control.job_name}': the job ended "
                    f"({control.status.value}) before the savepoint was taken")
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"savepoint of job '{control.job_name}' not complete "
                                   f"within {timeout} s")

    def wait(self, timeout: float | None = None) -> JobExecutionResult:
        """Block until the job ends (strom's short form of get_job_execution_result().result())."""
        return self._control.wait(timeout)

    @property
    def metrics(self) -> Any:
        """The job's metric registry."""
        return self._control.metrics

    @property
    def restarts(self) -> int:
        """How often the job was restarted after a failure so far."""
        return self._control.restarts

    def checkpoints(self) -> dict[str, Any]:
        """The job's checkpoints so far: counts, the latest completed one and each one's
        id, status, trigger time, duration, pause, alignment time and size per operator."""
        coordinator = self._control.coordinator
        return {} if coordinator is None else coordinator.summary()


JobListener = Callable[["JobControl", Any, Any], None]
"""Called as ``listener(control, job_graph, executor)`` when a job of this process starts."""

JOB_LISTENERS: list[JobListener] = []
"""Flink's JobListener idea, reduced to the start: what to tell when ``env.execute()`` or
``execute_async()`` starts a job in this process (``strom run --web`` registers its
dispatcher here so the REST API sees the script's jobs). Add with :func:`add_job_listener`."""


def add_job_listener(listener: JobListener) -> None:
    """Call ``listener(control, job_graph, executor)`` for every job started from now on."""
    JOB_LISTENERS.append(listener)


def remove_job_listener(listener: JobListener) -> None:
    """Stop calling ``listener``; no error if it was not registered."""
    if listener in JOB_LISTENERS:
        JOB_LISTENERS.remove(listener)


def notify_job_started(control: JobControl, graph: Any, executor: Any) -> None:
    """Tell every listener that ``control``'s job starts (on ``graph``, run by ``executor``).
    A failing listener fails the submission: it raises before the job runs."""
    for listener in list(JOB_LISTENERS):
        listener(control, graph, executor)
