"""``GET /metrics``: the JobManager's metrics in Prometheus' text format, named and labelled as
Flink's Prometheus reporter names them, so Flink's dashboards and queries carry over.

A custom prometheus-client collector reads the live metrics at scrape time through the same
views the REST API uses (``views.subtask_metrics``, ``views.job_metrics``), so a scrape and
``/jobs/:id/vertices/:vid/subtasks/metrics`` agree and the job pays nothing per record.

Families (every value is a gauge, as in Flink's reporter; names have ``[^a-zA-Z0-9_:]``
replaced by ``_``):

* ``flink_jobmanager_numRunningJobs``, ``..._numRegisteredTaskManagers``,
  ``..._taskSlotsTotal``, ``..._taskSlotsAvailable``: the cluster.
* ``flink_jobmanager_job_<metric>`` {job_id, job_name}: uptime, numRestarts, checkpoints.
* ``flink_taskmanager_job_task_<metric>`` {job_id, job_name, task_id, task_name,
  subtask_index}: numRecordsIn/Out(+PerSecond), numBytesIn/Out, busy/idle/backPressured
  time, watermarks, buffers.inputQueueLength.
* ``flink_taskmanager_job_task_operator_<group>_<metric>`` {..., operator_name}: operator
  metrics and the user's, from ``runtime_context.get_metrics_group()`` (a meter adds
  ``<name>_rate``, a distribution ``<name>_sum``, ``_min``, ``_max``; the bare name counts).
* ``flink_taskmanager_<metric>`` {tm_id}: a TaskManager process's Status.* metrics.

Only running jobs are exported (Flink drops a job's metrics when it ends); the REST API keeps
serving an ended job's. Non-numeric values (text, an empty distribution's min) are left out.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from strom.cluster import views
from strom.cluster.dispatcher import Dispatcher

_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_ENDED = ("FINISHED", "CANCELED", "FAILED")
JOB = ("job_id", "job_name")
TASK = (*JOB, "task_id", "task_name", "subtask_index")
OPERATOR = (*TASK, "operator_name")


def metric_name(*parts: str) -> str:
    """A Prometheus metric name of ``parts`` joined by ``_`` (invalid characters become ``_``)."""
    return _INVALID.sub("_", "_".join(parts))


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


class _Families:
    """Gauge families by name, each with one label set; a repeated sample is kept once."""

    def __init__(self) -> None:
        self.families: dict[str, GaugeMetricFamily] = {}
        self.labels: dict[str, tuple[str, ...]] = {}
        self.seen: set[tuple[str, tuple[str, ...]]] = set()

    def add(self, name: str, labels: tuple[str, ...], values: tuple[str, ...], value: Any,
            help_text: str) -> None:
        number = _numeric(value)
        if number is None or (name, values) in self.seen:
            return
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = GaugeMetricFamily(name, help_text, labels=labels)
            self.labels[name] = labels
        elif self.labels[name] != labels:  # one name at two scopes: the first scope keeps it
            return
        self.seen.add((name, values))
        family.add_metric(values, number)


class StromCollector(Collector):
    """Reads a dispatcher's jobs and TaskManagers at each scrape."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def collect(self) -> Iterator[GaugeMetricFamily]:
        out = _Families()
        overview = views.overview(self.dispatcher)
        for key, name in (("jobs-running", "numRunningJobs"),
                          ("taskmanagers", "numRegisteredTaskManagers"),
                          ("slots-total", "taskSlotsTotal"),
                          ("slots-available", "taskSlotsAvailable")):
            out.add(metric_name("flink_jobmanager", name), (), (), overview[key],
                    f"the cluster's {name}")
        for tm in self.dispatcher.taskmanagers():
            for key, value in dict(tm.metrics).items():
                out.add(metric_name("flink_taskmanager", key), ("tm_id",), (tm.id,), value,
                        f"TaskManager {key}")
        for record in self.dispatcher.all_jobs():
            if record.status not in _ENDED:
                self._job(out, record)
        yield from out.families.values()

    def _job(self, out: _Families, record: Any) -> None:
        job = (record.job_id, record.name)
        for key, value in views.job_metrics(record).items():
            out.add(metric_name("flink_jobmanager_job", key), JOB, job, value, f"job {key}")
        graph = record.graph
        for vertex in graph.vertices:
            operators = sorted({graph.nodes[n].name for n in vertex.nodes}, key=len,
                               reverse=True)
            task = (*job, views.vertex_id(record, vertex), vertex.name)
            for subtask in range(vertex.parallelism):
                labels = (*task, str(subtask))
                for key, value in views.subtask_metrics(record, vertex, subtask).items():
                    operator = next((op for op in operators if key.startswith(op + ".")), None)
                    if operator is None:
                        out.add(metric_name("flink_taskmanager_job_task", key), TASK, labels,
                                value, f"task metric {key}")
                    else:
                        rest = key[len(operator) + 1:]
                        out.add(metric_name("flink_taskmanager_job_task_operator", rest),
                                OPERATOR, (*labels, operator), value, f"operator metric {rest}")


def registry_for(dispatcher: Dispatcher) -> CollectorRegistry:
    """A collector registry holding only the dispatcher's metrics (not this process's
    default ones)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StromCollector(dispatcher))
    return registry
