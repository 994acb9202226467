"""The ``local`` executor: a mini-cluster on this machine, one TaskManager process per core.

``env.execute()`` on it runs a JobMaster in the calling process against a ResourceManager
that starts TaskManager processes as the job needs slots (one slot each, so a job at
parallelism *n* spreads over *n* processes and uses *n* cores). The mini-cluster lives as
long as the calling process and is reused by its later jobs; TaskManagers exit when it ends
(also when it is killed: their JobManager connection closes). The job's checkpoint
coordinator and restart strategy run here, exactly as for the in-process executors; only the
subtasks run elsewhere.
"""
from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from strom.checkpoint.coordinator import CheckpointSettings
from strom.cluster.job_master import JobMaster
from strom.cluster.resource_manager import (
    HEARTBEAT_TIMEOUT_MS,
    SLOT_REQUEST_TIMEOUT_MS,
    ResourceManager,
    heartbeat_timeout_ms,
)
from strom.errors import UnsupportedError
from strom.graph.job_graph import JobGraph
from strom.metrics import MetricRegistry
from strom.runtime.executors._base import Executor
from strom.runtime.job import JobControl, JobExecutionResult, JobStatus
from strom.time.clock import ManualClock
from strom.time.duration_text import parse_duration_ms

SUPERVISE_CAP_S = 1.0
_clusters: dict[tuple[int, int | None, str | None, int], ResourceManager] = {}
_lock = threading.Lock()


def local_cluster(slots: int | None = None, taskmanagers: int | None = None,
                  start_method: str | None = None,
                  heartbeat_timeout: int | None = None) -> ResourceManager:
    """This process's mini-cluster for TaskManagers of ``slots`` slots (started on first use,
    stopped at exit). By default it grows: a job short of slots gets new TaskManagers. With
    ``taskmanagers`` (Flink's ``local.number-taskmanager``) it has exactly that many, and a job
    that needs more slots than they offer fails after ``slot.request.timeout``. Without
    arguments: the first one this process made (a session cluster's), else a growing one of
    one-slot TaskManagers. ``heartbeat_timeout`` (ms, Flink's ``heartbeat.timeout``, default
    10 s): how long a silent TaskManager is waited for before it counts as lost."""
    with _lock:
        if (slots is None and taskmanagers is None and start_method is None
                and heartbeat_timeout is None and _clusters):
            return next(iter(_clusters.values()))
    slots = slots or 1
    heartbeat_timeout = heartbeat_timeout or HEARTBEAT_TIMEOUT_MS
    key = (slots, taskmanagers, start_method, heartbeat_timeout)
    with _lock:
        cluster = _clusters.get(key)
        if cluster is None:
            cluster = ResourceManager(managed=True, start_method=start_method,
                                      heartbeat_timeout_ms=heartbeat_timeout,
                                      slots_per_taskmanager=slots, elastic=taskmanagers is None)
            for _ in range(taskmanagers or 0):
                cluster.start_taskmanager(slots)
            atexit.register(cluster.shutdown)
            _clusters[key] = cluster
        return cluster


class LocalClusterExecutor(Executor):
    """Runs a job's subtasks in TaskManager processes of this machine's mini-cluster."""

    name = "local"
    chains_single_subtask_exchanges = False  # a task boundary can be a process boundary

    @staticmethod
    def default_parallelism() -> int:
        """Flink's default on a cluster: the number of cores (``parallelism.default`` wins)."""
        return os.cpu_count() or 1

    def __init__(self, clock: Any, config: dict[str, Any] | None = None) -> None:
        super().__init__(clock, config)
        self.master: JobMaster | None = None

    def run(self, graph: JobGraph, control: JobControl,
            job_parameters: dict[str, str] | None = None) -> JobExecutionResult:
        self.master = None
        try:
            return super().run(graph, control, job_parameters)
        finally:
            if self.master is not None:
                self.master.release()

    def _deploy(self, graph: JobGraph, control: JobControl, job_parameters: dict[str, str] | None,
                coordinator: Any = None, restore: Any = None, attempt: int = 0,
                settings: CheckpointSettings | None = None) -> list:
        # errors here (a ManualClock, a bad cluster setting) fail the job as any other failure
        if isinstance(self.clock, ManualClock):
            raise UnsupportedError(
                "the 'local' executor runs subtasks in other processes, where a ManualClock "
                "cannot reach; hint: use execution.target 'inline' or 'threads' with a "
                "ManualClock")
        if self.master is None:
            conf = self.config.get("configuration") or {}
            fixed = conf.get("local.number-taskmanager")
            slots = conf.get("taskmanager.numberOfTaskSlots")
            cluster = local_cluster(None if slots is None else int(slots),
                                    None if fixed is None else int(fixed),
                                    conf.get("taskmanager.start-method"),
                                    heartbeat_timeout_ms(conf)
                                    if conf.get("heartbeat.timeout") is not None else None)
            self.master = JobMaster(cluster, control)
        metrics = MetricRegistry(self.clock)
        control.metrics = metrics
        settings = settings or CheckpointSettings()
        config = {k: v for k, v in self.config.items() if k != "restart_strategy"}
        # the mini-cluster's TaskManagers see this process's environment as it is now (storage
        # credentials and endpoints set after they started, as a local Flink cluster would)
        spec = {"config": config, "job_parameters": dict(job_parameters or {}),
                "environ": dict(os.environ),
                "batch_size": self.config.get("batch_size", 1024),
                "exactly_once": settings.exactly_once, "final_snapshot": settings.enabled}
        conf = self.config.get("configuration") or {}
        timeout = SLOT_REQUEST_TIMEOUT_MS
        if conf.get("slot.request.timeout") is not None:
            timeout = parse_duration_ms(str(conf["slot.request.timeout"]), "slot.request.timeout")
        control.status = JobStatus.CREATED
        tasks = self.master.deploy(graph, spec, restore, attempt, coordinator, timeout)
        if coordinator is not None:
            coordinator.register_metrics(metrics.group(graph.job_name, "checkpoints", "0"))
        return tasks

    def _run_attempt(self, tasks: list, control: JobControl, coordinator: Any) -> BaseException | None:
        master = self.master
        assert master is not None
        control.status = JobStatus.RUNNING
        wake, cancel, clock = control.wakeup, control.cancel_requested, self.clock
        try:
            while True:
                wake.clear()
                if master.error is not None:
                    return master.error
                if all(t.finished for t in tasks) or cancel.is_set():
                    return None
                coordinator.tick()
                timeout = SUPERVISE_CAP_S
                deadline = coordinator.next_deadline()
                if deadline is not None:
                    timeout = min(timeout, max(0.0, (deadline - clock.now()) / 1000.0))
                if timeout > 0:
                    wake.wait(timeout)
        except BaseException as exc:  # a checkpoint failure beyond the tolerable, Ctrl-C
            return exc
