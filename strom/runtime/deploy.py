"""Turn a job graph into running subtasks: operators, channels, gates and record writers.

Forward and rescale edges connect producers to consumers pointwise; all other edges connect
every producer subtask to every consumer subtask. Executors call :func:`build_tasks` and then
drive the tasks; how channels are made is the executor's choice (``make_channel``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strom.graph.job_graph import JobGraph
from strom.graph.partitioners import pointwise_targets
from strom.metrics import MetricRegistry
from strom.runtime.channels import DEFAULT_BATCH_SIZE, Channel, LocalChannel, RecordWriter
from strom.runtime.context import TaskInfo
from strom.runtime.processing_time import ProcessingTimeService
from strom.runtime.restore import RestorePlan
from strom.runtime.task import InputGate, Route, StreamTask
from strom.time.clock import Clock


def build_tasks(graph: JobGraph, clock: Clock, metrics: MetricRegistry, *,
                job_parameters: dict[str, str] | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE,
                make_channel: Callable[[str], Channel] = lambda name: LocalChannel(name=name),
                config: dict[str, Any] | None = None, coordinator: Any = None,
                exactly_once: bool = True, final_snapshot: bool = False,
                restore: RestorePlan | None = None, attempt: int = 0) -> list[StreamTask]:
    """Instantiate every subtask of every vertex, connected by channels.

    ``coordinator`` is the job's checkpoint coordinator (tasks acknowledge to it), ``restore``
    the state to start from (None: a fresh start), ``attempt`` the restart count.
    """
    # gates[(vertex id, subtask)][input_no - 1] -> channels, in edge then producer order
    gates: dict[tuple[int, int], list[list[Channel]]] = {}
    # writers[(edge index, producer subtask)] -> RecordWriter
    writers: dict[tuple[int, int], RecordWriter] = {}
    edge_index: dict[Any, int] = {}
    for v in graph.vertices:
        for s in range(v.parallelism):
            gates[(v.id, s)] = [[] for _ in range(max(1, len({e.input_no for e in v.inputs})))]

    all_edges = [e for v in graph.vertices for e in v.outputs]
    for idx, e in enumerate(all_edges):
        edge_index[e] = idx
        up, down = graph.vertex_of(e.source), graph.vertex_of(e.target)
        for p in range(up.parallelism):
            targets = (pointwise_targets(p, up.parallelism, down.parallelism)
                       if e.partitioner.pointwise else range(down.parallelism))
            channels = []
            for c in targets:
                ch = make_channel(f"{up.name}[{p}] -> {down.name}[{c}]")
                gates[(down.id, c)][e.input_no - 1].append(ch)
                channels.append(ch)
            selector = e.partitioner.selector(len(channels), p, down.max_parallelism)
            writers[(idx, p)] = RecordWriter(channels, selector, batch_size)

    tasks = []
    for v in graph.vertices:
        for s in range(v.parallelism):
            info = TaskInfo(
                task_name=v.name, subtask_index=s, parallelism=v.parallelism,
                max_parallelism=v.max_parallelism, clock=clock,
                processing_time=ProcessingTimeService(clock),
                metrics=metrics.group(graph.job_name, v.name, str(s)),
                job_parameters=dict(job_parameters or {}), config=dict(config or {}),
                attempt_number=attempt)
            position = {n: i for i, n in enumerate(v.nodes)}
            operators = [graph.nodes[n].operator_factory() for n in v.nodes]
            for n, op in zip(v.nodes, operators):
                node = graph.nodes[n]
                op.name = node.name  # the user's .name(...), as in errors and metric scopes
                op.output_type = node.output_type if node.check_output else None
                op.operator_id = node.operator_id
            routes: list[list[Route]] = [[] for _ in v.nodes]
            for e in v.chained:
                routes[position[e.source]].append(Route(position[e.target], e.tag))
            task_writers = []
            for e in v.outputs:
                w = writers[(edge_index[e], s)]
                routes[position[e.source]].append(Route(w, e.tag))
                task_writers.append(w)
            task_gates = [InputGate(chs) for chs in gates[(v.id, s)]] if v.inputs else []
            tasks.append(StreamTask(
                info, operators, routes, task_gates, task_writers, task_id=f"{v.id}/{s}",
                coordinator=coordinator, exactly_once=exactly_once, final_snapshot=final_snapshot,
                restore=_restorer(restore, s, v.parallelism)))
    return tasks


def _restorer(plan: RestorePlan | None, subtask: int, parallelism: int) -> Any:
    """``op -> (snapshots, operator state, restored id)`` for one subtask, or None (fresh)."""
    if plan is None:
        return None
    return lambda op: plan.for_operator(op.operator_id, subtask, parallelism)
