"""The JobMaster of one job on TaskManager processes: deploys attempts and relays their events.

It turns each subtask into a :class:`RemoteTask`, the stand-in the checkpoint coordinator and
the restart loop of :class:`~strom.runtime.executors._base.Executor` talk to as they would to
an in-process task, and it applies what the TaskManagers report (task states, snapshots,
failures, a lost TaskManager) to those stand-ins and to the coordinator.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import cloudpickle

from strom.cluster.protocol import unpack_error
from strom.cluster.resource_manager import TaskManagerHandle
from strom.errors import StromError
from strom.metrics import Gauge
from strom.runtime.deploy import plan_channels, plan_slots
from strom.runtime.results import deliver_all

CLOSE_TIMEOUT_S = 30.0
DEPLOY_TIMEOUT_S = 60.0


class JobSubmissionError(StromError):
    """The job cannot be shipped to the cluster (something in it cannot be pickled)."""


class TaskManagerLostError(StromError):
    """A TaskManager running the job's subtasks was lost (killed, crashed, unreachable)."""


class _Closing:
    """One TaskManager's answer to ``close``: every task's close errors."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.errors: dict[str, list] = {}
        self.sent = False


class RemoteTask:
    """A subtask running in a TaskManager, as the coordinator and the restart loop see it."""

    def __init__(self, master: JobMaster, tm: TaskManagerHandle, subtask: tuple[int, int],
                 name: str, is_source: bool) -> None:
        self.master, self.tm = master, tm
        self.subtask = subtask  # (vertex id, subtask index)
        self.task_id, self.name = f"{subtask[0]}/{subtask[1]}", name
        self.is_source = is_source
        self.finished = False
        self.stopped = False
        self._due: int | None = None

    # TaskGateway
    @property
    def checkpoint_due(self) -> int | None:
        return self._due

    @checkpoint_due.setter
    def checkpoint_due(self, due: int | None) -> None:
        if due != self._due:
            self._due = due
            self.tm.send("due", self.master.attempt, self.task_id, due)

    def trigger_checkpoint(self, barrier: Any) -> None:
        self.tm.send("trigger", self.master.attempt, self.task_id, barrier)

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        self.tm.send("notify", self.master.attempt, self.task_id, checkpoint_id, True)

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        self.tm.send("notify", self.master.attempt, self.task_id, checkpoint_id, False)

    # the restart loop and JobControl.conclude
    def cancel(self) -> None:
        self.master.cancel_on(self.tm)

    def close(self) -> list[BaseException]:
        return self.master.close_on(self.tm, self.task_id)


class JobMaster:
    """Deploys the attempts of one job onto TaskManagers and tracks them."""

    def __init__(self, resource_manager: Any, control: Any) -> None:
        self.rm = resource_manager
        self.control = control
        self.attempt: Any = None
        self.tasks: list[RemoteTask] = []
        self.by_id: dict[str, RemoteTask] = {}
        self.coordinator: Any = None
        self.taskmanagers: list[TaskManagerHandle] = []
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self._deployed: dict[str, Any] = {}
        self._deploy_done = threading.Event()
        self._closing: dict[str, _Closing] = {}
        self._cancelled: set[str] = set()
        self.ended = threading.Event()
        self.remote_metrics: dict[str, Any] = {}  # metric name -> latest value from a TaskManager

    # -- deployment ---------------------------------------------------------------------------

    def deploy(self, graph: Any, spec: dict[str, Any], restore: Any, attempt_number: int,
               coordinator: Any, slot_timeout_ms: int) -> list[RemoteTask]:
        """Allocate slots, send every TaskManager its subtasks, wait until all are built."""
        self.release()
        self.attempt = (self.control.job_id, attempt_number, time.monotonic_ns())
        self.coordinator = coordinator
        self.remote_metrics = {}
        self.error = None
        self.ended.clear()
        self._deployed, self._closing, self._cancelled = {}, {}, set()
        self._deploy_done.clear()
        needed, slot_of = plan_slots(graph)
        tms = self.rm.allocate(self, needed, slot_timeout_ms, self.control.cancel_requested)
        self.taskmanagers = tms
        slot_tm: list[TaskManagerHandle] = [tm for tm in tms for _ in range(tm.slots)]
        tm_of = {sid: slot_tm[slot] for sid, slot in slot_of.items()}
        peers = {spec_.id: tm_of[spec_.consumer].data_address
                 for _, _, specs in plan_channels(graph) for spec_ in specs}
        tasks = []
        for v in graph.vertices:
            is_source = not v.inputs
            for s in range(v.parallelism):
                name = f"{v.name} ({s + 1}/{v.parallelism})"
                tasks.append(RemoteTask(self, tm_of[(v.id, s)], (v.id, s), name, is_source))
        self.tasks = tasks
        self.by_id = {t.task_id: t for t in tasks}
        self.control.subtask_locations = {sid: tm.tm_id for sid, tm in tm_of.items()}
        self._set_states("DEPLOYING")
        for tm in tms:
            mine = [sid for sid, owner in tm_of.items() if owner is tm]
            data = None
            if restore is not None:
                data = {(graph.nodes[n].operator_id, s): restore.for_operator(
                            graph.nodes[n].operator_id, s, v.parallelism)
                        for v in graph.vertices for s in range(v.parallelism) if (v.id, s) in mine
                        for n in v.nodes}
            job = _pickle_job({**spec, "graph": graph, "peers": peers, "subtasks": mine,
                               "restore": data, "attempt_number": attempt_number})
            tm.send("deploy", self.attempt, job)
        if not self._deploy_done.wait(DEPLOY_TIMEOUT_S):
            raise TaskManagerLostError(f"TaskManagers did not confirm the deployment within "
                                       f"{DEPLOY_TIMEOUT_S} s")
        with self.lock:
            failure = self.error
        if failure is not None:
            raise failure
        for tm in tms:
            tm.send("start", self.attempt)
        self._set_states("RUNNING")
        return tasks

    def _set_states(self, state: str, task: RemoteTask | None = None) -> None:
        """Flink's execution state of every subtask (or of ``task``), for the REST API."""
        states = self.control.subtask_states
        for t in [task] if task is not None else self.tasks:
            states[t.subtask] = state

    # -- messages from TaskManagers (their reader threads) ------------------------------------

    def on_message(self, tm: TaskManagerHandle, message: tuple) -> None:
        kind, attempt = message[0], message[1]
        if attempt != self.attempt:
            return
        getattr(self, "_on_" + kind)(tm, *message[2:])
        self.control.wakeup.set()

    def _on_deployed(self, tm: TaskManagerHandle, error: Any) -> None:
        with self.lock:
            if error is not None and self.error is None:
                self.error = unpack_error(error, f"TaskManager {tm.tm_id}, deploying the job")
            self._deployed[tm.tm_id] = True
            if len(self._deployed) == len(self.taskmanagers):
                self._deploy_done.set()

    def _on_state(self, tm: TaskManagerHandle, task_id: str, state: str, stopped: bool) -> None:
        task = self.by_id[task_id]
        task.stopped = stopped
        task.finished = True
        self._set_states("FINISHED", task)
        if all(t.finished for t in self.tasks):
            self.ended.set()

    def _on_failed(self, tm: TaskManagerHandle, task_id: str, packed: Any) -> None:
        task = self.by_id.get(task_id)
        where = f"{task.name}, TaskManager {tm.tm_id}" if task else f"TaskManager {tm.tm_id}"
        if task is not None:
            self._set_states("FAILED", task)
        self._fail(unpack_error(packed, where))

    def on_metrics(self, tm: TaskManagerHandle, attempt: Any, values: dict[str, Any]) -> None:
        """A TaskManager's metric values: mirrored as gauges in the job's registry."""
        registry = self.control.metrics
        if attempt != self.attempt or registry is None:
            return
        self.remote_metrics.update(values)
        remote = self.remote_metrics
        for name in values:
            if name not in registry.metrics:
                registry.metrics[name] = Gauge(lambda name=name: remote.get(name))

    def _on_results(self, tm: TaskManagerHandle, sink_id: str, values: list) -> None:
        deliver_all(sink_id, values)

    def _on_ack(self, tm: TaskManagerHandle, task_id: str, cid: int, snapshot: Any) -> None:
        self.coordinator.acknowledge(task_id, cid, snapshot)

    def _on_decline(self, tm: TaskManagerHandle, task_id: str, cid: int, reason: str) -> None:
        self.coordinator.decline(task_id, cid, reason)

    def _on_final(self, tm: TaskManagerHandle, task_id: str, snapshot: Any, failure: Any) -> None:
        self.coordinator.task_finished(task_id, snapshot,
                                       None if failure is None else StromError(failure))

    def _on_closed(self, tm: TaskManagerHandle, errors: dict[str, list]) -> None:
        closing = self._closing.setdefault(tm.tm_id, _Closing())
        closing.errors = {task_id: [unpack_error(e, f"closing {task_id} on {tm.tm_id}") for e in errs]
                          for task_id, errs in errors.items()}
        closing.done.set()

    def on_lost(self, tm: TaskManagerHandle, reason: str) -> None:
        """The ResourceManager lost ``tm``: the attempt fails (and restarts if it may)."""
        closing = self._closing.setdefault(tm.tm_id, _Closing())
        closing.done.set()  # nothing left to close there
        if tm in self.taskmanagers:
            with self.lock:
                self._deployed[tm.tm_id] = True
                if len(self._deployed) >= len(self.taskmanagers):
                    self._deploy_done.set()
            self._fail(TaskManagerLostError(reason))
        self.control.wakeup.set()

    def _fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self._deploy_done.set()
        self.ended.set()
        self.control.wakeup.set()

    # -- cancel and close ---------------------------------------------------------------------

    def cancel_on(self, tm: TaskManagerHandle) -> None:
        for t in self.tasks:
            if t.tm is tm and not t.finished:
                self._set_states("CANCELED", t)
        if tm.tm_id not in self._cancelled:
            self._cancelled.add(tm.tm_id)
            tm.send("cancel", self.attempt)

    def close_on(self, tm: TaskManagerHandle, task_id: str) -> list[BaseException]:
        """Close ``task_id``'s subtasks on ``tm``; the first call asks every TaskManager of
        the attempt at once (the executor closes every task in turn), so their ``close``
        calls (a sink's last flush, say) run side by side, not one after another."""
        for other in [tm] + [t for t in self.taskmanagers if t is not tm]:
            closing = self._closing.setdefault(other.tm_id, _Closing())
            if not closing.sent:
                closing.sent = True
                if other.alive:
                    other.send("close", self.attempt)
                else:
                    closing.done.set()
        closing = self._closing[tm.tm_id]
        closing.done.wait(CLOSE_TIMEOUT_S)
        return closing.errors.pop(task_id, [])

    def release(self) -> None:
        """Give the TaskManagers back (after closing their tasks)."""
        self.rm.release(self)
        self.taskmanagers = []


def _pickle_job(job: dict[str, Any]) -> bytes:
    """The job for a TaskManager, pickled; what cannot be pickled is named (the operator and
    its function), not only the type pickle stumbled over."""
    try:
        return cloudpickle.dumps(job)
    except Exception as exc:
        culprit = "the job's configuration or parameters"
        for node in job["graph"].nodes.values():
            try:
                cloudpickle.dumps(node.operator_factory)
            except Exception:  # noqa: S112 - this is the search for the culprit
                culprit = f"operator '{node.name}' (its function or what the function refers to)"
                break
        raise JobSubmissionError(
            f"job '{job['graph'].job_name}' cannot be sent to TaskManager processes: {culprit} "
            f"cannot be pickled: {type(exc).__name__}: {exc}. Hint: functions must not hold "
            "locks, open files, sockets or clients; create those in open(), or run the job "
            "with execution.target 'inline' or 'threads'") from exc
