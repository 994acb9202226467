"""The embedded executor: every subtask of the job on one thread, scheduled cooperatively.

Tasks take turns in topological order; each turn (``step``) is a bounded amount of work, so
no task starves another and backpressure is a task that is skipped while its downstream
channels are out of credit. When no task can make progress the executor sleeps until the
next processing-time deadline or until a source thread hands over data. With a
``ManualClock``, an idle job jumps straight to the next deadline, which makes processing-time
behaviour deterministic in tests.

Python runs one thread at a time, so in-process parallelism > 1 does not add CPU; it exists
for partitioning semantics. The process executor spreads subtasks across cores.
"""
from __future__ import annotations

from typing import Any

from strom.runtime.executors._base import Executor
from strom.runtime.executors._gc import DEFAULT_YOUNG_THRESHOLD, tuned_gc
from strom.runtime.job import JobControl, JobStatus
from strom.runtime.operators.sources import ThreadedSourceOperator
from strom.runtime.task import END, MORE
from strom.time.clock import ManualClock

IDLE_WAIT_CAP_S = 0.05


class InlineExecutor(Executor):
    """Runs a job graph to completion (or cancellation) on the calling thread."""

    name = "inline"
    chains_single_subtask_exchanges = True  # one thread: a task boundary only costs

    def _run_attempt(self, tasks: list, control: JobControl, coordinator: Any) -> BaseException | None:
        wake = control.wakeup
        for t in tasks:
            t.wake = wake.set
            if isinstance(t.head, ThreadedSourceOperator):
                t.head.wakeup = wake.set
        control.status = JobStatus.RUNNING
        try:
            for t in tasks:
                t.open()
            with tuned_gc(self.config.get("gc_young_threshold", DEFAULT_YOUNG_THRESHOLD)):
                self._loop(tasks, control, coordinator)
        except BaseException as exc:
            return exc
        return None

    def _loop(self, tasks: list, control: JobControl, coordinator: Any) -> None:
        clock, wake = self.clock, control.wakeup
        manual = isinstance(clock, ManualClock)
        live = list(tasks)
        tick = coordinator.tick
        while live:
            if control.cancel_requested.is_set():
                return
            wake.clear()
            tick()
            progressed = False
            for t in live:
                status = t.step()
                if status == MORE or status == END:
                    progressed = True
                # BLOCKED is no progress: a consumer in this process that frees the credit
                # returns MORE this round; credit from another process (a TaskManager's remote
                # channel) wakes the loop when it arrives, instead of the loop spinning for it
            live = [t for t in live if not t.finished]
            if progressed or not live:
                continue
            deadlines = [d for d in (t.next_deadline() for t in live) if d is not None]
            checkpoint_deadline = coordinator.next_deadline()
            if checkpoint_deadline is not None:
                deadlines.append(checkpoint_deadline)
            deadline = min(deadlines) if deadlines else None
            if manual:
                if deadline is not None:
                    clock.sleep_until(deadline)
                    continue
                wake.wait(IDLE_WAIT_CAP_S)
            else:
                timeout = IDLE_WAIT_CAP_S
                if deadline is not None:
                    timeout = min(timeout, max(0.0, (deadline - clock.now()) / 1000.0))
                if timeout > 0:
                    wake.wait(timeout)
