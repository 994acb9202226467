"""The JSON bodies of the REST API, in the shape and with the field names of Flink's REST API.

Pure functions from the dispatcher's records to plain dicts (``strom.cluster.rest`` routes to
them, the OpenAPI description in ``strom.cluster.openapi`` describes them). Per-subtask data
comes from the job's ``MetricRegistry`` (scope ``<job>.<vertex>.<subtask>.``, Flink's metric
names: numRecordsIn/Out, numBytesIn/Out, busy/idle/backPressuredTimeMsPerSecond,
currentInputWatermark, currentOutputWatermark) and, when the executor records them, from
``JobControl.subtask_states`` (``{(vertex id, subtask): "RUNNING"}``) and
``JobControl.subtask_locations`` (``{(vertex id, subtask): TaskManager id}``).
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

from strom import __version__
from strom.cluster.dispatcher import (
    Dispatcher,
    JobRecord,
    SavepointRequest,
    TaskManagerInfo,
    exception_text,
    now_ms,
)
from strom.errors import ClusterError

TASK_STATES = ("CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED", "CANCELING",
               "CANCELED", "FAILED", "RECONCILING", "INITIALIZING")
"""Flink's execution states, the keys of every ``tasks`` / ``status-counts`` object."""

_TASK_STATE_OF_JOB = {"CREATED": "CREATED", "RUNNING": "RUNNING", "FAILING": "FAILED",
                      "FAILED": "FAILED", "CANCELLING": "CANCELING", "CANCELED": "CANCELED",
                      "FINISHED": "FINISHED"}


def vertex_id(record: JobRecord, vertex: Any) -> str:
    """A vertex's id as the REST API shows it: 32 hex digits, stable for the job."""
    return hashlib.md5(f"{record.job_id}/{vertex.id}".encode()).hexdigest()


def find_vertex(record: JobRecord, vid: str) -> Any | None:
    """The graph vertex whose REST id (or plain number) is ``vid``."""
    for v in record.graph.vertices:
        if vid in (vertex_id(record, v), str(v.id)):
            return v
    return None


# -- metrics ----------------------------------------------------------------------------------

def _number(value: Any) -> Any:
    """A metric value JSON can carry (finite numbers, else text)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else str(value)
    return str(value)


def subtask_metrics(record: JobRecord, vertex: Any, subtask: int) -> dict[str, Any]:
    """Every metric of one subtask, by name relative to the subtask's scope."""
    registry = record.control.metrics
    if registry is None:
        return {}
    prefix = f"{record.graph.job_name}.{vertex.name}.{subtask}."
    return {name: _number(value) for name, value in registry.values(prefix).items()}


def job_metrics(record: JobRecord) -> dict[str, Any]:
    """The job-level metrics (checkpoint counters and timings, restarts, uptime)."""
    registry = record.control.metrics
    out: dict[str, Any] = {"numRestarts": record.control.restarts,
                           "uptime": record.duration if not record.control.done.is_set() else 0}
    if registry is not None:
        prefix = f"{record.graph.job_name}.checkpoints.0."
        for name in list(registry.metrics):
            if name.startswith(prefix):
                out[name[len(prefix):]] = _number(registry.value(name))
    return out


def _sum(values: list[Any]) -> int:
    return int(sum(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)))


def subtask_state(record: JobRecord, vertex: Any, subtask: int) -> str:
    """A subtask's execution state: as the executor recorded it, else the job's."""
    states = getattr(record.control, "subtask_states", None) or {}
    state = states.get((vertex.id, subtask))
    return state or _TASK_STATE_OF_JOB.get(record.status, "RUNNING")


def _task_counts(states: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(TASK_STATES, 0)
    for s in states:
        counts[s] = counts.get(s, 0) + 1
    return counts


def _vertex_metrics(per_subtask: list[dict[str, Any]], complete: bool) -> dict[str, Any]:
    def total(name: str) -> int:
        return _sum([m.get(name) for m in per_subtask])

    return {"read-bytes": total("numBytesIn"), "read-bytes-complete": complete,
            "write-bytes": total("numBytesOut"), "write-bytes-complete": complete,
            "read-records": total("numRecordsIn"), "read-records-complete": complete,
            "write-records": total("numRecordsOut"), "write-records-complete": complete,
            "accumulated-backpressured-time": total("accumulatedBackPressuredTimeMs"),
            "accumulated-idle-time": total("accumulatedIdleTimeMs"),
            "accumulated-busy-time": total("accumulatedBusyTimeMs")}


# -- the cluster ------------------------------------------------------------------------------

def config_view(dispatcher: Dispatcher) -> dict[str, Any]:
    """``GET /config``: what the web UI needs to know about the cluster."""
    import time

    return {"refresh-interval": 3000, "timezone-name": time.tzname[0],
            "timezone-offset": -time.timezone * 1000, "flink-version": __version__,
            "flink-revision": f"strom {__version__}",
            "features": {"web-submit": False, "web-cancel": True, "web-rescale": False,
                         "web-history": False}}


def overview(dispatcher: Dispatcher) -> dict[str, Any]:
    """``GET /overview``: TaskManagers, slots and job counts."""
    tms = dispatcher.taskmanagers()
    total, free = sum(tm.slots for tm in tms), sum(tm.free_slots for tm in tms)
    states = [r.status for r in dispatcher.all_jobs()]
    return {"taskmanagers": len(tms),
            "slots-total": total, "slots-available": free, "slots-free-and-blocked": 0,
            "taskmanagers-blocked": 0,
            "jobs-running": sum(s not in ("FINISHED", "CANCELED", "FAILED") for s in states),
            "jobs-finished": states.count("FINISHED"), "jobs-cancelled": states.count("CANCELED"),
            "jobs-failed": states.count("FAILED"), "flink-version": __version__,
            "flink-commit": f"strom {__version__}"}


def _taskmanager_entry(tm: TaskManagerInfo, now: int) -> dict[str, Any]:
    status = tm.metrics
    return {"id": tm.id, "path": tm.path, "dataPort": tm.data_port, "jmxPort": -1,
            "timeSinceLastHeartbeat": tm.last_heartbeat,
            "lastHeartbeatAgeMs": now - tm.last_heartbeat,
            "slotsNumber": tm.slots, "freeSlots": tm.free_slots, "pid": tm.pid,
            "hardware": {"cpuCores": tm.cpu_cores, "physicalMemory": tm.physical_memory,
                         "freeMemory": status.get("Status.Machine.Memory.Available", -1),
                         "managedMemory": -1}}


def taskmanagers(dispatcher: Dispatcher) -> dict[str, Any]:
    """``GET /taskmanagers``."""
    now = now_ms()
    return {"taskmanagers": [_taskmanager_entry(tm, now) for tm in dispatcher.taskmanagers()]}


def taskmanager_details(tm: TaskManagerInfo) -> dict[str, Any]:
    """``GET /taskmanagers/:id``: as in the list, plus what its process uses (``metrics``:
    CPU load as a share of one core, CPU time in ms, resident memory in bytes)."""
    status = tm.metrics
    entry = _taskmanager_entry(tm, now_ms())
    entry["metrics"] = {"cpuLoad": status.get("Status.Process.CPU.Load", -1),
                        "cpuTime": status.get("Status.Process.CPU.Time", -1),
                        "memoryRss": status.get("Status.Process.Memory.RSS", -1)}
    return entry


def taskmanager_metric_values(tm: TaskManagerInfo) -> dict[str, Any]:
    """``GET /taskmanagers/:id/metrics``: its process's status metrics by name."""
    return dict(tm.metrics)


def jobmanager_config(dispatcher: Dispatcher) -> list[dict[str, str]]:
    """``GET /jobmanager/config``: the cluster's configuration as Flink lists it (tokens are
    never shown)."""
    return [{"key": k, "value": v} for k, v in sorted(dispatcher.config.items())
            if k != "rest.token"]


def job_config(record: JobRecord) -> dict[str, Any]:
    """``GET /jobs/:id/config``: how the job runs (Flink's ExecutionConfig summary; strom adds
    the configuration keys it was submitted with)."""
    control = record.control
    return {"jid": record.job_id, "name": record.name,
            "execution-config": {
                "execution-mode": "PIPELINED",
                "restart-strategy": control.restart_strategy or "(decided when the job starts)",
                "job-parallelism": max((v.parallelism for v in record.graph.vertices),
                                       default=1),
                "object-reuse-mode": False,
                "user-config": dict(control.job_parameters)},
            "configuration": {k: v for k, v in sorted(record.config.items())
                              if k != "rest.token"}}


# -- jobs -------------------------------------------------------------------------------------

def jobs(dispatcher: Dispatcher) -> dict[str, Any]:
    """``GET /jobs``: ids and states."""
    return {"jobs": [{"id": r.job_id, "status": r.status} for r in dispatcher.all_jobs()]}


def _vertex_states(record: JobRecord, vertex: Any) -> list[str]:
    return [subtask_state(record, vertex, s) for s in range(vertex.parallelism)]


def job_summary(record: JobRecord) -> dict[str, Any]:
    """One entry of ``GET /jobs/overview``."""
    state = record.status
    states = [s for v in record.graph.vertices for s in _vertex_states(record, v)]
    return {"jid": record.job_id, "name": record.name, "state": state,
            "start-time": record.start_time, "end-time": record.end_time,
            "duration": record.duration, "last-modification": max(record.timestamps.values()),
            "tasks": {"total": len(states),
                      **{k.lower(): v for k, v in _task_counts(states).items()}}}


def jobs_overview(dispatcher: Dispatcher) -> dict[str, Any]:
    """``GET /jobs/overview``."""
    return {"jobs": [job_summary(r) for r in dispatcher.all_jobs()]}


def _vertex_entry(record: JobRecord, vertex: Any) -> dict[str, Any]:
    states = _vertex_states(record, vertex)
    counts = _task_counts(states)
    status = _vertex_status(states)
    metrics = [subtask_metrics(record, vertex, s) for s in range(vertex.parallelism)]
    return {"id": vertex_id(record, vertex), "name": vertex.name,
            "maxParallelism": vertex.max_parallelism, "parallelism": vertex.parallelism,
            "status": status, "start-time": record.start_time, "end-time": record.end_time,
            "duration": record.duration, "tasks": counts,
            "metrics": _vertex_metrics(metrics, record.control.done.is_set())}


def _vertex_status(states: list[str]) -> str:
    """A vertex's state from its subtasks' (Flink's aggregation: the least advanced one, with
    failure and cancellation winning)."""
    for state in ("FAILED", "CANCELING", "CANCELED", "CREATED", "SCHEDULED", "DEPLOYING",
                  "INITIALIZING", "RUNNING"):
        if state in states:
            return state
    return "FINISHED" if states else "CREATED"


def job_details(record: JobRecord) -> dict[str, Any]:
    """``GET /jobs/:id``."""
    vertices = [_vertex_entry(record, v) for v in record.graph.vertices]
    counts = dict.fromkeys(TASK_STATES, 0)
    for v in vertices:
        counts[v["status"]] = counts.get(v["status"], 0) + 1
    return {"jid": record.job_id, "name": record.name, "isStoppable": False,
            "state": record.status, "job-type": "STREAMING", "start-time": record.start_time,
            "end-time": record.end_time, "duration": record.duration,
            "maxParallelism": max((v.max_parallelism for v in record.graph.vertices), default=-1),
            "now": now_ms(), "timestamps": dict(record.timestamps), "executor": record.executor,
            "vertices": vertices, "status-counts": counts, "plan": plan(record)["plan"]}


def plan(record: JobRecord) -> dict[str, Any]:
    """``GET /jobs/:id/plan``: the job graph (vertices and the edges between them)."""
    by_node = {n: v for v in record.graph.vertices for n in v.nodes}
    nodes = []
    for v in record.graph.vertices:
        inputs = [{"num": i, "id": vertex_id(record, by_node[e.source]),
                   "ship_strategy": _ship_strategy(e.partitioner), "exchange": "pipelined_bounded"}
                  for i, e in enumerate(v.inputs)]
        operators = [record.graph.nodes[n].name for n in v.nodes]
        node: dict[str, Any] = {"id": vertex_id(record, v), "parallelism": v.parallelism,
                                "operator": "", "operator_strategy": "",
                                "description": " -> ".join(operators),
                                "optimizer_properties": {}}
        if inputs:
            node["inputs"] = inputs
        nodes.append(node)
    return {"plan": {"jid": record.job_id, "name": record.name, "type": "STREAMING",
                     "nodes": nodes}}


def _ship_strategy(partitioner: Any) -> str:
    name = str(getattr(partitioner, "name", partitioner))
    return {"forward": "FORWARD", "rebalance": "REBALANCE", "rescale": "RESCALE",
            "shuffle": "SHUFFLE", "broadcast": "BROADCAST", "hash": "HASH",
            "global": "GLOBAL"}.get(name.lower(), name.upper())


def vertex_details(record: JobRecord, vertex: Any) -> dict[str, Any]:
    """``GET /jobs/:id/vertices/:vid``: the vertex and each subtask's state and metrics."""
    locations = getattr(record.control, "subtask_locations", None) or {}
    unknown = "embedded" if record.executor in ("inline", "threads") else "(unknown)"
    subtasks = []
    for s in range(vertex.parallelism):
        m = subtask_metrics(record, vertex, s)
        subtasks.append({"subtask": s, "status": subtask_state(record, vertex, s),
                         "attempt": record.control.restarts,
                         "taskmanager-id": locations.get((vertex.id, s), unknown),
                         "start-time": record.start_time, "end-time": record.end_time,
                         "duration": record.duration,
                         "metrics": _vertex_metrics([m], record.control.done.is_set())})
    return {"id": vertex_id(record, vertex), "name": vertex.name,
            "parallelism": vertex.parallelism, "maxParallelism": vertex.max_parallelism,
            "now": now_ms(), "subtasks": subtasks}


def metric_list(values: dict[str, Any], get: str | None) -> list[dict[str, Any]]:
    """Flink's metric query answer: ``[{"id"}]`` without ``get``, else ``[{"id", "value"}]``
    for the requested (comma-separated) metrics that exist."""
    if not get:
        return [{"id": k} for k in sorted(values)]
    wanted = [g.strip() for g in get.split(",") if g.strip()]
    return [{"id": k, "value": str(values[k])} for k in wanted if k in values]


def vertex_metric_values(record: JobRecord, vertex: Any) -> dict[str, Any]:
    """``/jobs/:id/vertices/:vid/metrics``: every subtask's metrics as ``<subtask>.<name>``."""
    return {f"{s}.{k}": v for s in range(vertex.parallelism)
            for k, v in subtask_metrics(record, vertex, s).items()}


def subtasks_metrics(record: JobRecord, vertex: Any, get: str | None) -> list[dict[str, Any]]:
    """``/jobs/:id/vertices/:vid/subtasks/metrics``: metrics aggregated over the subtasks
    (min, max, avg, sum; numeric metrics only)."""
    per = [subtask_metrics(record, vertex, s) for s in range(vertex.parallelism)]
    names = sorted({k for m in per for k in m})
    if not get:
        return [{"id": n} for n in names]
    out = []
    for name in (g.strip() for g in get.split(",") if g.strip()):
        values = [m[name] for m in per if isinstance(m.get(name), (int, float))
                  and not isinstance(m.get(name), bool)]
        if values:
            out.append({"id": name, "min": min(values), "max": max(values),
                        "avg": sum(values) / len(values), "sum": sum(values)})
    return out


def backpressure(record: JobRecord, vertex: Any) -> dict[str, Any]:
    """``/jobs/:id/vertices/:vid/backpressure``: Flink's levels from each subtask's
    backPressuredTimeMsPerSecond (ok < 10 %, low <= 50 %, high above)."""
    subtasks = []
    for s in range(vertex.parallelism):
        m = subtask_metrics(record, vertex, s)
        ratio = _ratio(m.get("backPressuredTimeMsPerSecond"))
        subtasks.append({"subtask": s, "attempt-number": record.control.restarts,
                         "backpressure-level": _level(ratio), "ratio": ratio,
                         "idleRatio": _ratio(m.get("idleTimeMsPerSecond")),
                         "busyRatio": _ratio(m.get("busyTimeMsPerSecond"))})
    worst = max((s["ratio"] for s in subtasks), default=0.0)
    return {"status": "ok", "backpressure-level": _level(worst), "end-timestamp": now_ms(),
            "subtasks": subtasks}


def _ratio(ms_per_second: Any) -> float:
    if isinstance(ms_per_second, (int, float)) and not isinstance(ms_per_second, bool):
        return round(min(1.0, max(0.0, ms_per_second / 1000.0)), 3)
    return 0.0


def _level(ratio: float) -> str:
    return "ok" if ratio <= 0.10 else ("low" if ratio <= 0.5 else "high")


def watermarks(record: JobRecord, vertex: Any) -> list[dict[str, Any]]:
    """``/jobs/:id/vertices/:vid/watermarks``: each subtask's current input watermark (and
    output watermark when the executor reports it)."""
    out = []
    for s in range(vertex.parallelism):
        m = subtask_metrics(record, vertex, s)
        for name in ("currentInputWatermark", "currentOutputWatermark"):
            if name in m:
                out.append({"id": f"{s}.{name}", "value": str(m[name])})
    return out


def checkpoints(record: JobRecord) -> dict[str, Any]:
    """``/jobs/:id/checkpoints``: counts, latest and history (Flink's field names)."""
    coordinator = record.control.coordinator
    summary = coordinator.summary() if coordinator is not None else {
        "counts": {"completed": 0, "failed": 0, "in_progress": 0}, "latest_completed": None,
        "history": []}
    history = [_checkpoint_entry(c) for c in reversed(summary["history"])]
    counts = summary["counts"]
    latest_savepoint = next((h for h in history if h["is_savepoint"]
                             and h["status"] == "COMPLETED"), None)
    latest_failed = next((h for h in history if h["status"] == "FAILED"), None)
    durations = [h["end_to_end_duration"] for h in history if h["status"] == "COMPLETED"]
    sizes = [h["state_size"] for h in history if h["status"] == "COMPLETED"]
    latest = summary.get("latest_completed")
    return {"counts": {"restored": int(record.control.restarts > 0),
                       "total": counts["completed"] + counts["failed"] + counts["in_progress"],
                       "in_progress": counts["in_progress"], "completed": counts["completed"],
                       "failed": counts["failed"]},
            "summary": {"state_size": _stats(sizes), "checkpointed_size": _stats(sizes),
                        "end_to_end_duration": _stats(durations)},
            "latest": {"completed": _checkpoint_entry(latest) if latest else None,
                       "savepoint": latest_savepoint, "failed": latest_failed, "restored": None},
            "history": history}


def checkpoint_config(record: JobRecord) -> dict[str, Any]:
    """``/jobs/:id/checkpoints/config``: how the job checkpoints (Flink's field names; times in
    ms). ``ClusterError`` 404 when the job does not checkpoint."""
    coordinator = record.control.coordinator
    settings = getattr(coordinator, "settings", None)
    if settings is None or not settings.enabled:
        raise ClusterError(f"Checkpointing is not enabled for job {record.job_id}; hint: "
                           "env.enable_checkpointing(interval_ms) turns it on", status=404)
    storage = getattr(coordinator, "storage", None)
    return {"mode": "exactly_once" if settings.exactly_once else "at_least_once",
            "interval": settings.interval_ms, "timeout": settings.timeout_ms,
            "min_pause": settings.min_pause_ms, "max_concurrent": settings.max_concurrent,
            "tolerable_failed_checkpoints": settings.tolerable_failures,
            "unaligned_checkpoints": False, "num_retained": settings.num_retained,
            "checkpoint_storage": str(getattr(storage, "job_dir", None) or "(none)"),
            "job_type": "STREAMING"}


def _stats(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"min": 0, "max": 0, "avg": 0}
    return {"min": min(values), "max": max(values), "avg": sum(values) // len(values)}


def _checkpoint_entry(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": c["checkpoint_id"], "status": c["status"], "is_savepoint": c["savepoint"],
            "checkpoint_type": "SAVEPOINT" if c["savepoint"] else "CHECKPOINT",
            "trigger_timestamp": c["trigger_timestamp"],
            "latest_ack_timestamp": c["trigger_timestamp"] + c["duration_ms"],
            "state_size": c["size"], "checkpointed_size": c["size"],
            "end_to_end_duration": c["duration_ms"], "alignment_buffered": 0,
            "alignment_duration": c["alignment_ms"], "sync_duration": c["sync_ms"],
            "external_path": c["path"], "failure_message": c["failure"],
            "operator_sizes": dict(c["operator_sizes"])}


def exceptions(record: JobRecord) -> dict[str, Any]:
    """``/jobs/:id/exceptions``: the job's failures, newest first, with their tracebacks: those
    it restarted after and the one it failed with (the root exception is the newest)."""
    control = record.control
    history = list(getattr(control, "failures", []))
    error = control.error
    if error is not None and all(e is not error for _, e in history):
        history.append((record.end_time if record.end_time >= 0 else now_ms(), error))
    if not history:
        return {"root-exception": None, "timestamp": None, "all-exceptions": [],
                "truncated": False, "exceptionHistory": {"entries": [], "truncated": False}}
    entries, texts = [], []
    for when, failure in reversed(history):
        root, text = exception_text(failure)
        operator = getattr(failure, "operator", "") or None
        entries.append({"exceptionName": type(failure).__qualname__, "stacktrace": text,
                        "timestamp": when, "taskName": operator, "endpoint": None,
                        "taskManagerId": None, "failureLabels": {},
                        "concurrentExceptions": []})
        texts.append((root, text, operator, when))
    root, text, operator, when = texts[0]
    return {"root-exception": text, "timestamp": when,
            "all-exceptions": [{"exception": t, "task": op, "location": None, "timestamp": w}
                               for _, t, op, w in texts], "truncated": False,
            "exceptionHistory": {"entries": entries, "truncated": False}, "root-summary": root}


def savepoint_status(request: SavepointRequest) -> dict[str, Any]:
    """``GET /jobs/:id/savepoints/:triggerid``."""
    if request.status != "COMPLETED":
        return {"status": {"id": "IN_PROGRESS"}, "operation": None}
    if request.failure is not None:
        root, text = exception_text(request.failure)
        return {"status": {"id": "COMPLETED"},
                "operation": {"failure-cause": {"class": type(request.failure).__qualname__,
                                                "stack-trace": text, "message": root}}}
    return {"status": {"id": "COMPLETED"}, "operation": {"location": request.location}}
