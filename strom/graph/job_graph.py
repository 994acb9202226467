"""From the logical plan to the job graph: resolve virtual nodes, pick partitioners, chain.

An edge is chained (the two operators run in one task as direct calls) when, as in Flink,
it is a forward edge between operators of equal parallelism, the target has no other input,
both allow chaining, they share a slot-sharing group, and chaining is enabled for the job.
Each chain becomes a :class:`JobVertex`; the remaining edges carry records between tasks.

Example:
    >>> graph = build_job_graph("job", transformations, default_parallelism=1)  # doctest: +SKIP
    >>> [v.name for v in graph.vertices]  # doctest: +SKIP
    ['Source: Collection Source -> Map', 'KeyedProcess -> Sink: Print to Std. Out']
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from strom.errors import JobDefinitionError
from strom.graph.partitioners import Custom, Forward, Partitioner, Rebalance
from strom.graph.transformations import Chaining, Kind, Transformation
from strom.state import DEFAULT_MAX_PARALLELISM


@dataclass(frozen=True, slots=True)
class StreamEdge:
    """A record path from one physical operator to another."""

    source: int
    target: int
    input_no: int            # 1 or 2: which input of the target
    partitioner: Partitioner
    tag: str | None = None   # side-output tag id, None for the main output


@dataclass(frozen=True, slots=True)
class JobVertex:
    """A chain of operators that runs as one task per subtask."""

    id: int
    name: str
    parallelism: int
    max_parallelism: int
    nodes: tuple[int, ...]          # chain order: head first, every node after its predecessor
    chained: tuple[StreamEdge, ...]
    inputs: tuple[StreamEdge, ...]   # into the head, from other vertices
    outputs: tuple[StreamEdge, ...]  # out of any chain member, to other vertices


@dataclass(frozen=True, slots=True)
class JobGraph:
    """The deployable plan: vertices in topological order plus the physical nodes."""

    job_name: str
    vertices: tuple[JobVertex, ...]
    nodes: dict[int, Transformation]

    def vertex_of(self, node_id: int) -> JobVertex:
        for v in self.vertices:
            if node_id in v.nodes:
                return v
        raise KeyError(node_id)


def build_job_graph(job_name: str, transformations: list[Transformation], *,
                    default_parallelism: int = 1, default_max_parallelism: int | None = None,
                    chaining: bool = True, sinks: set[int] | None = None,
                    chain_single_subtask_exchanges: bool = False) -> JobGraph:
    """Turn the transformations leading to ``sinks`` (default: every sink) into a :class:`JobGraph`.

    With ``chain_single_subtask_exchanges`` (the embedded executor asks for it), an exchange
    between two operators that both run one subtask (key_by, rebalance, ... at parallelism 1)
    is chained as well: every record would go to the single consumer anyway, so only the task
    boundary disappears. Executors that run tasks on separate cores keep the boundary.
    """
    by_id = {t.id: t for t in transformations}
    # As in Flink, only what leads to a sink runs: walk back from the sinks.
    needed: set[int] = set()
    stack = [t.id for t in transformations if t.is_sink and (sinks is None or t.id in sinks)]
    while stack:
        n = stack.pop()
        if n not in needed:
            needed.add(n)
            stack.extend(by_id[n].inputs)
    transformations = [t for t in transformations if t.id in needed]
    max_default = default_max_parallelism or DEFAULT_MAX_PARALLELISM
    nodes: dict[int, Transformation] = {}
    for t in transformations:
        if t.kind.physical:
            nodes[t.id] = _resolve_parallelism(t, default_parallelism, max_default)
    if not nodes:
        raise JobDefinitionError(
            "execute(): no sinks defined in the job. Hint: add print(), add_sink(...) or sink_to(...) "
            "to at least one stream.")
    for t in list(nodes.values()):  # creation order: inputs come first
        if t.slot_sharing_group is None and t.inputs:
            # as in Flink, an operator without a group inherits its inputs' common group
            groups = {nodes[src].slot_sharing_group
                      for i in t.inputs for src, _, _ in _resolve(i, by_id)}
            if len(groups) == 1:
                nodes[t.id] = replace(t, slot_sharing_group=groups.pop())

    edges: list[StreamEdge] = []
    for t in nodes.values():
        for input_no, input_id in enumerate(t.inputs, start=1):
            for src, part, tag in _resolve(input_id, by_id):
                up, down = nodes[src].parallelism, t.parallelism
                if part is None:
                    part = Forward() if up == down else Rebalance()
                elif isinstance(part, Forward) and up != down:
                    raise JobDefinitionError(
                        f"operator '{t.name}': forward partitioning does not allow a change of "
                        f"parallelism (upstream '{nodes[src].name}' has {up}, this one {down}). "
                        "Hint: use rebalance() or rescale(), or set equal parallelism.")
                edges.append(StreamEdge(src, t.id, input_no, part, tag))

    in_count: dict[int, int] = {}
    for e in edges:
        in_count[e.target] = in_count.get(e.target, 0) + 1

    def chainable(e: StreamEdge) -> bool:
        s, t = nodes[e.source], nodes[e.target]
        single = (chain_single_subtask_exchanges and s.parallelism == t.parallelism == 1
                  and not isinstance(e.partitioner, Custom))
        return (chaining and (isinstance(e.partitioner, Forward) or single)
                and s.parallelism == t.parallelism and t.kind is Kind.ONE_INPUT
                and in_count[t.id] == 1 and t.chaining is Chaining.ALWAYS
                and s.chaining is not Chaining.NEVER
                and s.slot_sharing_group == t.slot_sharing_group)

    chained_into = {e.target for e in edges if chainable(e)}
    out_edges: dict[int, list[StreamEdge]] = {}
    for e in edges:
        out_edges.setdefault(e.source, []).append(e)

    vertices = []
    for head_id in sorted(n for n in nodes if n not in chained_into):
        order, chained, outputs = [head_id], [], []
        i = 0
        while i < len(order):
            for e in out_edges.get(order[i], []):
                if chainable(e):
                    chained.append(e)
                    order.append(e.target)
                else:
                    outputs.append(e)
            i += 1
        head = nodes[head_id]
        vertices.append(JobVertex(
            id=head_id,
            name=" -> ".join(nodes[n].name for n in order),
            parallelism=head.parallelism,
            max_parallelism=head.max_parallelism,
            nodes=tuple(order),
            chained=tuple(chained),
            inputs=tuple(e for e in edges if e.target == head_id),
            outputs=tuple(outputs),
        ))
    return JobGraph(job_name, tuple(vertices), nodes)


def _resolve_parallelism(t: Transformation, default: int, max_default: int) -> Transformation:
    p = t.parallelism if t.parallelism is not None else default
    if t.non_parallel:
        if t.parallelism not in (None, 1):
            raise JobDefinitionError(
                f"operator '{t.name}': the parallelism of a non-parallel source must be 1, got "
                f"{t.parallelism}. Hint: use a parallel source (from_source / NumberSequenceSource) "
                "or rebalance() after it.")
        p = 1
    maxp = t.max_parallelism or max_default
    if p < 1:
        raise JobDefinitionError(f"operator '{t.name}': parallelism must be >= 1, got {p}")
    if p > maxp:
        raise JobDefinitionError(
            f"operator '{t.name}': parallelism {p} exceeds the max parallelism {maxp}. "
            "Hint: raise it with set_max_parallelism(...).")
    return replace(t, parallelism=p, max_parallelism=maxp)


def _resolve(node_id: int, by_id: dict[int, Transformation]) -> list[tuple[int, Partitioner | None, str | None]]:
    """Physical upstream nodes of ``node_id`` with the partitioner and tag on the way."""
    t = by_id[node_id]
    if t.kind.physical:
        return [(t.id, None, None)]
    if t.kind is Kind.UNION:
        return [r for i in t.inputs for r in _resolve(i, by_id)]
    resolved = _resolve(t.inputs[0], by_id)
    if t.kind is Kind.PARTITION:
        return [(src, t.partitioner, tag) for src, _, tag in resolved]
    return [(src, part, t.tag) for src, part, _ in resolved]  # SIDE_OUTPUT
