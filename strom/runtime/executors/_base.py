"""What every executor shares: its clock and configuration, and deploying a job graph."""
from __future__ import annotations

from typing import Any

from strom.graph.job_graph import JobGraph
from strom.metrics import MetricRegistry
from strom.runtime.deploy import build_tasks
from strom.runtime.job import JobControl
from strom.runtime.task import StreamTask
from strom.time.clock import Clock


class Executor:
    """Base of the executors: ``run(graph, control, job_parameters)`` drives the job's tasks."""

    name = "?"
    chains_single_subtask_exchanges = False

    def __init__(self, clock: Clock, config: dict[str, Any] | None = None) -> None:
        self.clock = clock
        self.config = dict(config or {})

    def _deploy(self, graph: JobGraph, control: JobControl,
                job_parameters: dict[str, str] | None) -> tuple[list[StreamTask], int]:
        """The job's tasks (metrics registered on ``control``) and the start time in ns."""
        metrics = MetricRegistry(self.clock)
        control.metrics = metrics
        start_ns = self.clock.monotonic_ns()
        tasks = build_tasks(graph, self.clock, metrics, job_parameters=job_parameters,
                            batch_size=self.config.get("batch_size", 1024), config=self.config)
        return tasks, start_ns
