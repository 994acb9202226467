"""The threads executor: one thread per subtask, as Flink runs one thread per task.

Each :class:`~strom.runtime.task.StreamTask` calls ``step()`` in its own thread. A task with
nothing to do parks on its own ``threading.Event`` until something can change that:

- a channel it reads gets data (``Channel.on_push``, per batch or event);
- a source feeder thread hands data over (``ThreadedSourceOperator.wakeup``);
- its next processing-time deadline comes (the injected clock's ``sleep_until``);
- when it was out of credit (``BLOCKED``): a consumer polls a channel back below its credits
  (``Channel.on_credit``);
- the job stops (cancel, or another task failed).

Tasks are opened and closed on the calling thread, before the task threads start and after
they have all been joined, so operator set-up (and the metric registry it writes) never runs
concurrently; between the two, everything a task does happens on its own thread (Flink's
mailbox guarantee holds per task). The first exception a task raises fails the job: every
other task is stopped and woken, all threads are joined, every task is closed, and the job
ends through the same :class:`~strom.runtime.job.JobControl` protocol as the inline executor.

Exchanges between single-subtask operators stay task boundaries
(``chains_single_subtask_exchanges = False``), so a blocking call in one task (a map waiting
on I/O) does not stop the others. Python runs one thread at a time, so this overlaps waiting,
not computing.

With a :class:`~strom.time.clock.ManualClock`, time advances only when every running task is
parked idle with nothing pushed to it since it last found its inputs empty; then the clock
jumps to the earliest processing-time deadline of those tasks and the tasks due wake up (see
:class:`_ManualTime`). Data a source feeder thread has not handed over yet is invisible, as it
is to the inline executor.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from strom.runtime.executors._base import Executor
from strom.runtime.executors._gc import DEFAULT_YOUNG_THRESHOLD, tuned_gc
from strom.runtime.job import JobControl, JobStatus
from strom.runtime.operators.sources import ThreadedSourceOperator
from strom.runtime.task import BLOCKED, MORE, StreamTask
from strom.time.clock import Clock, ManualClock

IDLE_WAIT_CAP_MS = 100
"""Longest a parked task sleeps without a wake-up: a safety net only, no wake-up relies on it."""
SUPERVISE_CAP_S = 1.0


class ThreadsExecutor(Executor):
    """Runs a job graph with one thread per subtask; ``run`` blocks until the job ends.

    Example:
        >>> from strom.api.environment import StreamExecutionEnvironment
        >>> env = StreamExecutionEnvironment.get_execution_environment()
        >>> env.executor = "threads"
        >>> env.from_collection([1, 2, 3]).map(lambda v: v * 2).execute_and_collect(limit=3)
        [2, 4, 6]
    """

    name = "threads"
    chains_single_subtask_exchanges = False  # a task boundary lets a blocked task not stop the rest

    def _run_attempt(self, tasks: list[StreamTask], control: JobControl,
                     coordinator: Any) -> BaseException | None:
        job = _ThreadedJob(tasks, self.clock, control, coordinator)
        control.status = JobStatus.RUNNING
        error: BaseException | None = None
        with tuned_gc(self.config.get("gc_young_threshold", DEFAULT_YOUNG_THRESHOLD)):
            try:
                for t in tasks:  # on this thread: set-up registers metrics, starts feeder threads
                    t.open()
                job.start()
                job.supervise()
            except BaseException as exc:  # a failing open(), a checkpoint failure, KeyboardInterrupt
                error = exc
            job.stop()
            job.join()
        return error if error is not None else job.error


class _Runner:
    """One task, its thread and the event it parks on."""

    __slots__ = ("index", "task", "event", "wake", "thread")

    def __init__(self, index: int, task: StreamTask) -> None:
        self.index = index
        self.task = task
        self.event = threading.Event()
        self.wake: Callable[[], None] = self.event.set
        self.thread: threading.Thread | None = None


class _ThreadedJob:
    """The task threads of one job run, their wake-up wiring and the first error."""

    def __init__(self, tasks: list[StreamTask], clock: Clock, control: JobControl,
                 coordinator: Any) -> None:
        self.clock = clock
        self.control = control
        self.coordinator = coordinator
        self.runners = [_Runner(i, t) for i, t in enumerate(tasks)]
        self.manual = _ManualTime(clock, self.runners) if isinstance(clock, ManualClock) else None
        self.lock = threading.Lock()
        self.live = 0
        self.stopping = False
        self.error: BaseException | None = None
        if self.manual is not None:
            for r in self.runners:
                r.wake = self.manual.waker(r)
        self._wire()

    def _wire(self) -> None:
        """Point every channel's hooks and every feeder's wake-up at the task to wake."""
        for r in self.runners:
            task = r.task
            for gate in task.gates:
                for ch in gate.channels:
                    ch.on_push = r.wake
            for writer in task.writers:
                for ch in writer.channels:
                    ch.on_credit = r.wake
            if isinstance(task.head, ThreadedSourceOperator):
                task.head.wakeup = r.wake
            task.wake = r.wake  # mailbox: a checkpoint to take, a notification

    def start(self) -> None:
        self.live = len(self.runners)
        for r in self.runners:
            r.thread = threading.Thread(target=self._drive, args=(r,), daemon=True,
                                        name=f"strom task {r.task.name}")
        for r in self.runners:
            assert r.thread is not None
            r.thread.start()

    def supervise(self) -> None:
        """Wait on the calling thread until every task ended, one failed or cancel was asked;
        meanwhile drive the checkpoint coordinator (it raises when checkpoints fail the job)."""
        wake, cancel, clock = self.control.wakeup, self.control.cancel_requested, self.clock
        coordinator = self.coordinator
        while True:
            wake.clear()
            if self.live == 0 or self.error is not None or cancel.is_set():
                return
            coordinator.tick()
            timeout = SUPERVISE_CAP_S
            deadline = coordinator.next_deadline()
            if deadline is not None:
                timeout = min(timeout, max(0.0, (deadline - clock.now()) / 1000.0))
            if isinstance(clock, ManualClock) and deadline is not None and timeout > 0:
                timeout = min(timeout, 0.01)  # manual time moves only when tasks are idle
            if timeout > 0:
                wake.wait(timeout)

    def stop(self) -> None:
        """Ask every task thread to return after its current step, and wake the parked ones."""
        self.stopping = True
        for r in self.runners:
            r.wake()

    def join(self) -> None:
        for r in self.runners:
            if r.thread is not None and r.thread.ident is not None:  # started
                r.thread.join()

    def _drive(self, r: _Runner) -> None:
        """A task thread: step until the task ends or the job stops; park when idle or blocked."""
        task, event, clock, manual = r.task, r.event, self.clock, self.manual
        try:
            while True:
                event.clear()  # before the checks: a wake-up from here on is not lost
                if self.stopping:
                    return
                status = task.step()
                if status == MORE:
                    continue
                if task.finished:
                    return
                deadline = task.next_deadline()
                now = clock.now()
                if deadline is not None and deadline <= now:
                    continue  # a timer became due during the step
                if manual is not None:
                    if status == BLOCKED:
                        event.wait(IDLE_WAIT_CAP_MS / 1000)
                    else:
                        manual.park_idle(r, deadline)
                elif deadline is None:
                    event.wait(IDLE_WAIT_CAP_MS / 1000)
                else:
                    clock.sleep_until(min(deadline, now + IDLE_WAIT_CAP_MS), wakeup=event)
        except BaseException as exc:
            with self.lock:
                if self.error is None:
                    self.error = exc
            self.stop()
        finally:
            with self.lock:
                self.live -= 1
            if manual is not None:
                manual.task_ended()
            self.control.wakeup.set()


class _ManualTime:
    """Advances a ManualClock when, and only when, every running task is parked idle.

    A task parks idle after a step that found nothing to do (``NOTHING``); its entry records
    its next processing-time deadline. Every wake-up of a task (data pushed to it, a feeder
    hand-over, credit, stop) goes through :meth:`waker`, which removes the entry under the same
    lock, so "every running task has an entry" means no task has unprocessed input. The thread
    that completes that state moves the clock to the earliest deadline and wakes the tasks due.
    With no deadline at all, time stays put until a feeder thread hands data over.
    """

    def __init__(self, clock: ManualClock, runners: list[_Runner]) -> None:
        self.clock = clock
        self.runners = runners
        self.lock = threading.Lock()
        self.live = len(runners)
        self.idle: dict[int, int | None] = {}  # runner index -> its next deadline

    def waker(self, r: _Runner) -> Callable[[], None]:
        lock, idle, event, index = self.lock, self.idle, r.event, r.index

        def wake() -> None:
            with lock:
                idle.pop(index, None)
                event.set()

        return wake

    def park_idle(self, r: _Runner, deadline: int | None) -> None:
        with self.lock:
            if r.event.is_set():
                return
            self.idle[r.index] = deadline
            self._maybe_advance()
        r.event.wait(IDLE_WAIT_CAP_MS / 1000)
        with self.lock:
            self.idle.pop(r.index, None)

    def task_ended(self) -> None:
        with self.lock:
            self.live -= 1
            self._maybe_advance()

    def _maybe_advance(self) -> None:
        """Under the lock: if every running task is parked idle, jump to the earliest deadline."""
        if self.live == 0 or len(self.idle) < self.live:
            return
        deadlines = [d for d in self.idle.values() if d is not None]
        if not deadlines:
            return
        due = min(deadlines)
        self.clock.sleep_until(due)
        for index, deadline in list(self.idle.items()):
            if deadline is not None and deadline <= due:
                del self.idle[index]
                self.runners[index].event.set()
