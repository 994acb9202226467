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
from strom.cluster.resource_manager import SLOT_REQUEST_TIMEOUT_MS, ResourceManager
from strom.errors import UnsupportedError
from strom.graph.job_graph import JobGraph
from strom.metrics import MetricRegistry
from strom.runtime.executors._base import Executor
from strom.runtime.job import JobControl, JobExecutionResult, JobStatus
from strom.time.clock import ManualClock

SUPERVISE_CAP_S = 1.0
_cluster: ResourceManager | None = None
_lock = threading.Lock()


def local_cluster() -> ResourceManager:
    """This process's mini-cluster (started on first use, stopped at exit)."""
    global _cluster
    with _lock:
        if _cluster is None:
            _cluster = ResourceManager(managed=True)
            atexit.register(_cluster.shutdown)
        return _cluster


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
        self.master = JobMaster(local_cluster(), control)
        try:
            return super().run(graph, control, job_parameters)
        finally:
            self.master.release()

    def _deploy(self, graph: JobGraph, control: JobControl, job_parameters: dict[str, str] | None,
                coordinator: Any = None, restore: Any = None, attempt: int = 0,
                settings: CheckpointSettings | None = None) -> list:
        assert self.master is not None
        if isinstance(self.clock, ManualClock):  # raised here, the job fails as any other
            raise UnsupportedError(
                "the 'local' executor runs subtasks in other processes, where a ManualClock "
                "cannot reach; hint: use execution.target 'inline' or 'threads' with a "
                "ManualClock")
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
        timeout = int(self.config.get("slot_request_timeout_ms", SLOT_REQUEST_TIMEOUT_MS))
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
