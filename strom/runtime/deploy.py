"""Turn a job graph into running subtasks: operators, channels, gates and record writers.

Deployment has two halves, as in Flink's scheduler and TaskExecutor. Planning (pure data, the
same in every process): :func:`plan_channels` numbers every channel of the job and
:func:`plan_slots` puts subtasks into slots (slot sharing: subtask *i* of every vertex of a
slot-sharing group shares slot *i* of that group, so a slot holds a whole pipeline).
Instantiating: :func:`build_tasks` builds the subtasks of one process (all of them by default)
and asks the executor's ``make_channel`` for each channel end that is local to it.

Forward and rescale edges connect producers to consumers pointwise; all other edges connect
every producer subtask to every consumer subtask.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
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

SubtaskId = tuple[int, int]
"""(vertex id, subtask index)."""


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One channel of a job: its number (the same in every process), producer and consumer."""

    id: int
    name: str
    producer: SubtaskId
    consumer: SubtaskId


BOTH, PRODUCER, CONSUMER = "both", "producer", "consumer"
"""Which ends of a channel a process holds (``make_channel``'s second argument)."""


def local_channel(spec: ChannelSpec, side: str) -> Channel:
    """The in-process channel (both ends in this process)."""
    return LocalChannel(name=spec.name)


def plan_channels(graph: JobGraph) -> list[tuple[Any, int, list[ChannelSpec]]]:
    """Every edge's channels: ``(edge, producer subtask, its channels in target order)``."""
    out = []
    next_id = 0
    for v in graph.vertices:
        for e in v.outputs:
            up, down = graph.vertex_of(e.source), graph.vertex_of(e.target)
            for p in range(up.parallelism):
                targets = (pointwise_targets(p, up.parallelism, down.parallelism)
                           if e.partitioner.pointwise else range(down.parallelism))
                specs = []
                for c in targets:
                    specs.append(ChannelSpec(next_id, f"{up.name}[{p}] -> {down.name}[{c}]",
                                             (up.id, p), (down.id, c)))
                    next_id += 1
                out.append((e, p, specs))
    return out


def plan_slots(graph: JobGraph) -> tuple[int, dict[SubtaskId, int]]:
    """How many slots the job needs, and the slot of each subtask (Flink's slot sharing)."""
    groups: dict[Any, int] = {}  # slot-sharing group -> its first slot
    width: dict[Any, int] = {}
    for v in graph.vertices:
        group = graph.nodes[v.nodes[0]].slot_sharing_group
        width[group] = max(width.get(group, 0), v.parallelism)
    first = 0
    for group in width:
        groups[group] = first
        first += width[group]
    slots = {}
    for v in graph.vertices:
        base = groups[graph.nodes[v.nodes[0]].slot_sharing_group]
        for s in range(v.parallelism):
            slots[(v.id, s)] = base + s
    return first, slots


def build_tasks(graph: JobGraph, clock: Clock, metrics: MetricRegistry, *,
                job_parameters: dict[str, str] | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE,
                make_channel: Callable[[ChannelSpec, str], Channel] = local_channel,
                config: dict[str, Any] | None = None, coordinator: Any = None,
                exactly_once: bool = True, final_snapshot: bool = False,
                restore: RestorePlan | Callable[[Any, int, int], Any] | None = None,
                attempt: int = 0,
                subtasks: Collection[SubtaskId] | None = None,
                results: Callable[[str], Callable[[Any], None]] | None = None) -> list[StreamTask]:
    """Instantiate the subtasks of this process (``subtasks``; None: every subtask), connected
    by channels from ``make_channel(spec, side)``: ``side`` says which ends are here (BOTH,
    PRODUCER or CONSUMER).

    ``coordinator`` is the job's checkpoint coordinator (tasks acknowledge to it), ``restore``
    the state to start from (None: a fresh start; or ``(op, subtask, parallelism) -> state``),
    ``attempt`` the restart count, ``results`` where collected records go
    (:mod:`strom.runtime.results`; None: this process's receivers).
    """
    here = (lambda sid: True) if subtasks is None else set(subtasks).__contains__
    # gates[(vertex id, subtask)][input_no - 1] -> channels, in edge then producer order
    gates: dict[SubtaskId, list[list[Channel]]] = {}
    # writers[(id(edge), producer subtask)] -> RecordWriter (equal edges exist: a union of a
    # stream with itself)
    writers: dict[tuple[int, int], RecordWriter] = {}
    for v in graph.vertices:
        for s in range(v.parallelism):
            gates[(v.id, s)] = [[] for _ in range(max(1, len({e.input_no for e in v.inputs})))]
    for e, p, specs in plan_channels(graph):
        producer_here = here((graph.vertex_of(e.source).id, p))
        channels: list[Channel] = []
        for spec in specs:
            consumer_here = here(spec.consumer)
            if not (producer_here or consumer_here):
                continue
            side = BOTH if producer_here and consumer_here else (PRODUCER if producer_here else CONSUMER)
            ch = make_channel(spec, side)
            if consumer_here:
                gates[spec.consumer][e.input_no - 1].append(ch)
            channels.append(ch)
        if producer_here:
            down = graph.vertex_of(e.target)
            selector = e.partitioner.selector(len(channels), p, down.max_parallelism)
            writers[(id(e), p)] = RecordWriter(channels, selector, batch_size)

    tasks = []
    for v in graph.vertices:
        vertex_config = dict(config or {})
        timeout = chain_buffer_timeout([graph.nodes[n].buffer_timeout for n in v.nodes])
        if timeout is not None:
            vertex_config["buffer_timeout"] = timeout
        for s in range(v.parallelism):
            if not here((v.id, s)):
                continue
            info = TaskInfo(
                task_name=v.name, subtask_index=s, parallelism=v.parallelism,
                max_parallelism=v.max_parallelism, clock=clock,
                processing_time=ProcessingTimeService(clock),
                metrics=metrics.group(graph.job_name, v.name, str(s)),
                job_parameters=dict(job_parameters or {}), config=dict(vertex_config),
                attempt_number=attempt, results=results)
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
                w = writers[(id(e), s)]
                routes[position[e.source]].append(Route(w, e.tag))
                task_writers.append(w)
            task_gates = [InputGate(chs) for chs in gates[(v.id, s)]] if v.inputs else []
            tasks.append(StreamTask(
                info, operators, routes, task_gates, task_writers, task_id=f"{v.id}/{s}",
                coordinator=coordinator, exactly_once=exactly_once, final_snapshot=final_snapshot,
                restore=_restorer(restore, s, v.parallelism)))
    return tasks


def _restorer(plan: Any, subtask: int, parallelism: int) -> Any:
    """``op -> (snapshots, operator state, restored id)`` for one subtask, or None (fresh)."""
    if plan is None:
        return None
    if isinstance(plan, RestorePlan):
        return lambda op: plan.for_operator(op.operator_id, subtask, parallelism)
    return lambda op: plan(op.operator_id, subtask, parallelism)


def chain_buffer_timeout(timeouts: list[int | None]) -> int | None:
    """The buffer timeout of a chain from its operators' ``set_buffer_timeout`` (None where
    unset): the smallest bound (>= 0) set, else -1 (flush when full) if one says so, else None
    (the job's)."""
    chosen = [t for t in timeouts if t is not None]
    bounded = [t for t in chosen if t >= 0]
    if bounded:
        return min(bounded)
    return -1 if chosen else None
