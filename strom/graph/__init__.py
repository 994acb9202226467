"""The plan: what a job is, as pure data (no running code).

:mod:`~strom.graph.transformations` holds the logical plan the API builds (frozen
``Transformation`` nodes), :mod:`~strom.graph.job_graph` turns it into the job graph (chains
become vertices, non-chained edges carry a partitioner) and :mod:`~strom.graph.partitioners`
describes how records are spread over the consumers' subtasks. The runtime deploys this plan;
the graph never imports the runtime (``runtime -> graph``, enforced by ``tests/test_layering.py``).

Public surface (``__all__``): :class:`Transformation`, :class:`Kind`, :class:`Chaining`,
:class:`JobGraph`, :class:`JobVertex`, :class:`StreamEdge`, :func:`build_job_graph` and the
partitioners.
"""
from strom.graph.job_graph import JobGraph, JobVertex, StreamEdge, build_job_graph
from strom.graph.partitioners import (
    Broadcast,
    Custom,
    Forward,
    Global,
    KeyGroups,
    Partitioner,
    Rebalance,
    Rescale,
    Shuffle,
)
from strom.graph.transformations import Chaining, Kind, Transformation

__all__ = [
    "Broadcast", "Chaining", "Custom", "Forward", "Global", "JobGraph", "JobVertex", "KeyGroups",
    "Kind", "Partitioner", "Rebalance", "Rescale", "Shuffle", "StreamEdge", "Transformation",
    "build_job_graph",
]
