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

from strom.graph.job_graph import JobGraph
from strom.runtime.executors._base import Executor
from strom.runtime.executors._gc import DEFAULT_YOUNG_THRESHOLD, tuned_gc
from strom.runtime.job import JobControl, JobExecutionResult, JobStatus
from strom.runtime.operators.sources import ThreadedSourceOperator
from strom.runtime.task import BLOCKED, END, MORE
from strom.time.clock import ManualClock

IDLE_WAIT_CAP_S = 0.05


class InlineExecutor(Executor):
    """Runs a job graph to completion (or cancellation) on the calling thread."""

    name = "inline"
    chains_single_subtask_exchanges = True  # one thread: a task boundary only costs

    def run(self, graph: JobGraph, control: JobControl,
            job_parameters: dict[str, str] | None = None) -> JobExecutionResult:
        clock = self.clock
        tasks, start_ns = self._deploy(graph, control, job_parameters)
        wake = control.wakeup
        for t in tasks:
            if isinstance(t.head, ThreadedSourceOperator):
                t.head.wakeup = wake.set
        control.status = JobStatus.RUNNING
        error: BaseException | None = None
        try:
            for t in tasks:
                t.open()
            with tuned_gc(self.config.get("gc_young_threshold", DEFAULT_YOUNG_THRESHOLD)):
                self._loop(tasks, control)
        except BaseException as exc:
            error = exc
        return control.conclude(tasks, error, (clock.monotonic_ns() - start_ns) // 1_000_000)

    def _loop(self, tasks: list, control: JobControl) -> None:
        clock, wake = self.clock, control.wakeup
        manual = isinstance(clock, ManualClock)
        live = list(tasks)
        while live:
            if control.cancel_requested.is_set():
                return
            wake.clear()
            progressed = False
            for t in live:
                status = t.step()
                if status == MORE or status == END:
                    progressed = True
                elif status == BLOCKED:
                    progressed = True  # its consumer runs this round and frees credit
            live = [t for t in live if not t.finished]
            if progressed or not live:
                continue
            deadlines = [d for d in (t.next_deadline() for t in live) if d is not None]
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
