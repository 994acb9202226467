"""What every executor shares: deploying a job graph, checkpointing, and restarts after failures.

:meth:`Executor.run` is Flink's job master loop, for one job: it deploys the tasks (restored
from a checkpoint or savepoint when there is one), lets the concrete executor drive them
(``_run_attempt``), and when an attempt fails asks the restart strategy whether to try again.
A restart cancels and closes every task (user ``close()`` runs), discards everything in flight
(the channels are new), waits the strategy's backoff and deploys again from the last completed
checkpoint: state, timers and windows restored, sources rewound. Once the strategy gives up,
the job fails with the original cause and the number of restarts it made.
"""
from __future__ import annotations

import random
from typing import Any

from strom.checkpoint.coordinator import CheckpointCoordinator, CheckpointSettings
from strom.checkpoint.restart import NoRestart
from strom.checkpoint.storage import load_checkpoint, open_storage
from strom.errors import StateMigrationError, find_cause
from strom.graph.job_graph import JobGraph
from strom.metrics import MetricRegistry
from strom.runtime.deploy import build_tasks
from strom.runtime.job import JobControl, JobExecutionResult
from strom.runtime.restore import RestorePlan
from strom.runtime.task import StreamTask
from strom.time.clock import Clock, ManualClock


class Executor:
    """Base of the executors: ``run(graph, control, job_parameters)`` runs the job to its end.

    Subclasses implement ``_run_attempt(tasks, control, coordinator)``: open and drive the tasks
    until they all finished, one failed (return the error) or cancel was asked; they must call
    ``coordinator.tick()`` regularly and wake for ``coordinator.next_deadline()``.
    """

    name = "?"
    chains_single_subtask_exchanges = False

    def __init__(self, clock: Clock, config: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self.config = dict(config or {})

    # -- configuration ------------------------------------------------------------------------

    def _settings(self) -> CheckpointSettings:
        cc = self.config.get("checkpoint_config")
        if cc is None:
            return CheckpointSettings()
        mode = getattr(cc.mode, "name", str(cc.mode))
        return CheckpointSettings(
            interval_ms=cc.interval_ms, exactly_once=mode != "AT_LEAST_ONCE",
            timeout_ms=cc.timeout_ms, min_pause_ms=cc.min_pause_ms,
            max_concurrent=cc.max_concurrent, tolerable_failures=cc.tolerable_failures,
            num_retained=getattr(cc, "num_retained", 1))

    def _coordinator(self, control: JobControl, settings: CheckpointSettings) -> CheckpointCoordinator:
        cc = self.config.get("checkpoint_config")
        storage = open_storage(getattr(cc, "storage_dir", None), control.job_id,
                               savepoint_dir=getattr(cc, "savepoint_dir", None))
        return CheckpointCoordinator(settings, storage, self.clock.now, control.job_name,
                                     synchronous=isinstance(self.clock, ManualClock))

    def _restart_strategy(self) -> Any:
        make = self.config.get("restart_strategy")
        return NoRestart() if make is None else make(random.Random(self.config.get("seed", 0)))

    def _initial_restore(self, graph: JobGraph) -> RestorePlan | None:
        cc = self.config.get("checkpoint_config")
        path = getattr(cc, "restore_path", None)
        if not path:
            return None
        return RestorePlan(load_checkpoint(path), graph,
                           bool(getattr(cc, "allow_non_restored_state", False)))

    # -- the job ------------------------------------------------------------------------------

    def _deploy(self, graph: JobGraph, control: JobControl, job_parameters: dict[str, str] | None,
                coordinator: Any = None, restore: RestorePlan | None = None, attempt: int = 0,
                settings: CheckpointSettings | None = None) -> list[StreamTask]:
        """The tasks of one attempt (metrics registered on ``control``)."""
        metrics = MetricRegistry(self.clock)
        control.metrics = metrics
        settings = settings or CheckpointSettings()
        tasks = build_tasks(graph, self.clock, metrics, job_parameters=job_parameters,
                            batch_size=self.config.get("batch_size", 1024), config=self.config,
                            coordinator=coordinator, exactly_once=settings.exactly_once,
                            final_snapshot=settings.enabled, restore=restore, attempt=attempt)
        if coordinator is not None:
            coordinator.register_metrics(metrics.group(graph.job_name, "checkpoints", "0"))
        return tasks

    def run(self, graph: JobGraph, control: JobControl,
            job_parameters: dict[str, str] | None = None) -> JobExecutionResult:
        clock = self.clock
        control.job_parameters = dict(job_parameters or {})
        start_ns = clock.monotonic_ns()
        settings = self._settings()
        tasks: list[StreamTask] = []
        error: BaseException | None = None
        coordinator: CheckpointCoordinator | None = None
        try:
            coordinator = self._coordinator(control, settings)
            control.coordinator = coordinator
            restore = initial = self._initial_restore(graph)
            if restore is not None:
                coordinator.next_id = restore.checkpoint_id + 1
            strategy = self._restart_strategy()
            control.restart_strategy = strategy.description
            while True:
                tasks = self._deploy(graph, control, job_parameters, coordinator, restore,
                                     control.restarts, settings)
                coordinator.attach(tasks)
                error = self._run_attempt(tasks, control, coordinator)
                if error is None or not isinstance(error, Exception) or control.cancel_requested.is_set():
                    break
                control.note_failure(error)
                if _state_does_not_fit(error):  # a restart would restore the same state again
                    break
                coordinator.abort_all(f"the job failed: {error}")
                for t in tasks:  # user close() runs on failure too; its errors are secondary
                    t.cancel()
                    t.close()
                strategy.notify_failure(clock.now())
                if not strategy.can_restart():
                    break
                backoff = strategy.backoff_ms()
                if backoff > 0:
                    clock.sleep_until(clock.now() + backoff, wakeup=control.cancel_requested)
                if control.cancel_requested.is_set():
                    break
                control.restarts += 1
                control.restart_strategy = strategy.description
                restore = self._latest(coordinator, graph, initial)
                error = None
        except BaseException as exc:  # a failing restore plan, open(), KeyboardInterrupt
            error = exc
        if error is None and coordinator is not None and all(t.finished for t in tasks):
            try:
                coordinator.settle()  # a (stop-with-)savepoint its tasks all took commits now
                if not any(t.stopped for t in tasks):  # stopped with a savepoint: no end of input
                    coordinator.notify_job_finished()
            except Exception as exc:
                error = exc
        if coordinator is not None:
            coordinator.abort_all("the job ended")
            coordinator.shutdown()
            self._dispose(coordinator, control, tasks, error)
        return control.conclude(tasks, error, (clock.monotonic_ns() - start_ns) // 1_000_000)

    def _dispose(self, coordinator: CheckpointCoordinator, control: JobControl,
                 tasks: list[StreamTask], error: BaseException | None) -> None:
        """Delete the job's checkpoints as Flink's retention says: always when it finished;
        when cancelled unless RETAIN_ON_CANCELLATION; when failed only without externalized
        checkpoints (NO_EXTERNALIZED_CHECKPOINTS, the default). In memory: always.
        Savepoints are never deleted."""
        cc = self.config.get("checkpoint_config")
        retention = getattr(getattr(cc, "externalized_retention", None), "name", "")
        storage = coordinator.storage
        if error is not None:
            dispose = retention in ("", "NO_EXTERNALIZED_CHECKPOINTS")
        elif control.cancel_requested.is_set() and not all(t.finished for t in tasks):
            dispose = retention != "RETAIN_ON_CANCELLATION"
        else:
            dispose = True
        if not (dispose or storage.base is None):
            return
        for path in storage.completed():
            try:
                storage.discard(path)
            except Exception:  # noqa: S112 - best effort: the job's outcome stands
                continue

    def _latest(self, coordinator: CheckpointCoordinator, graph: JobGraph,
                initial: RestorePlan | None) -> RestorePlan | None:
        """The newest retained checkpoint that verifies (older ones if it does not), else
        ``initial``: the state the job started from (its savepoint, or none), as Flink
        restarts a job that has no checkpoint; not the previous attempt's checkpoint, which
        retention may have deleted since. Checkpoints beyond ``num_retained`` are gone and
        are not tried (they would only add "not there" to the skipped reasons)."""
        cc = self.config.get("checkpoint_config")
        allow = bool(getattr(cc, "allow_non_restored_state", False))
        retained = [s for s in coordinator.completed if not s.savepoint and s.path is not None]
        for stats in reversed(retained[-max(1, coordinator.settings.num_retained):]):
            try:
                return RestorePlan(load_checkpoint(stats.path), graph, allow)
            except Exception as exc:  # corrupt: fall back to the one before, and say why
                coordinator.skipped.append(f"{stats.path}: {exc}")
        return initial

    def _run_attempt(self, tasks: list[StreamTask], control: JobControl,
                     coordinator: CheckpointCoordinator) -> BaseException | None:
        raise NotImplementedError


def _state_does_not_fit(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says restored state does not fit the job."""
    return find_cause(error, StateMigrationError) is not None
