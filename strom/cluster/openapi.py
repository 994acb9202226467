"""The OpenAPI 3.0 description of the REST API (served at ``/openapi.json``).

Written out by hand next to the views (``strom.cluster.views``) so that clients and the tests
(schemathesis, ``tests/test_rest.py``) check every response against it: a view that changes a
field without changing this description fails the tests.
"""
from __future__ import annotations

from typing import Any

from strom import __version__

_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_NUM = {"type": "number"}
_NULL_STR = {"type": "string", "nullable": True}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_ERROR = _obj({"errors": _array(_STR)})
_STATES = ["CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED", "CANCELING", "CANCELED",
           "FAILED", "RECONCILING", "INITIALIZING"]
_JOB_STATES = ["INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING",
               "CANCELED", "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING"]
_TASK_COUNTS = _obj({s: _INT for s in _STATES})
_IO_METRICS = _obj({k: (_BOOL if k.endswith("complete") else _INT) for k in (
    "read-bytes", "read-bytes-complete", "write-bytes", "write-bytes-complete", "read-records",
    "read-records-complete", "write-records", "write-records-complete",
    "accumulated-backpressured-time", "accumulated-idle-time", "accumulated-busy-time")})
_PLAN = _obj({"jid": _STR, "name": _STR, "type": _STR, "nodes": _array(_obj(
    {"id": _STR, "parallelism": _INT, "operator": _STR, "operator_strategy": _STR,
     "description": _STR, "optimizer_properties": {"type": "object"}},
    {"inputs": _array(_obj({"num": _INT, "id": _STR, "ship_strategy": _STR,
                            "exchange": _STR}))}))})
_VERTEX = _obj({"id": _STR, "name": _STR, "maxParallelism": _INT, "parallelism": _INT,
                "status": {"type": "string", "enum": _STATES}, "start-time": _INT,
                "end-time": _INT, "duration": _INT, "tasks": _TASK_COUNTS,
                "metrics": _IO_METRICS})
_JOB_STATE = {"type": "string", "enum": _JOB_STATES}
_CHECKPOINT = _obj({"id": _INT, "status": _STR, "is_savepoint": _BOOL, "checkpoint_type": _STR,
                    "trigger_timestamp": _INT, "latest_ack_timestamp": _INT, "state_size": _INT,
                    "checkpointed_size": _INT, "end_to_end_duration": _INT,
                    "alignment_buffered": _INT, "alignment_duration": _NUM,
                    "sync_duration": _NUM, "external_path": _NULL_STR,
                    "failure_message": _NULL_STR, "operator_sizes": {"type": "object"}})
_NULL_CHECKPOINT = {**_CHECKPOINT, "nullable": True}
_MIN_MAX_AVG = _obj({"min": _NUM, "max": _NUM, "avg": _NUM})
_METRIC_IDS = _array(_obj({"id": _STR}, {"value": _STR}))

_SCHEMAS: dict[str, Any] = {
    "Error": _ERROR,
    "Config": _obj({"refresh-interval": _INT, "timezone-name": _STR, "timezone-offset": _INT,
                    "flink-version": _STR, "flink-revision": _STR,
                    "features": {"type": "object"}}),
    "Overview": _obj({"taskmanagers": _INT, "slots-total": _INT, "slots-available": _INT,
                      "jobs-running": _INT, "jobs-finished": _INT, "jobs-cancelled": _INT,
                      "jobs-failed": _INT, "flink-version": _STR, "flink-commit": _STR},
                     {"slots-free-and-blocked": _INT, "taskmanagers-blocked": _INT}),
    "TaskManagers": _obj({"taskmanagers": _array(_obj(
        {"id": _STR, "path": _STR, "dataPort": _INT, "jmxPort": _INT,
         "timeSinceLastHeartbeat": _INT, "slotsNumber": _INT, "freeSlots": _INT,
         "hardware": _obj({"cpuCores": _INT, "physicalMemory": _INT, "freeMemory": _INT,
                           "managedMemory": _INT})},
        {"pid": _INT, "lastHeartbeatAgeMs": _INT}))}),
    "TaskManager": _obj(
        {"id": _STR, "path": _STR, "dataPort": _INT, "jmxPort": _INT,
         "timeSinceLastHeartbeat": _INT, "slotsNumber": _INT, "freeSlots": _INT,
         "hardware": _obj({"cpuCores": _INT, "physicalMemory": _INT, "freeMemory": _INT,
                           "managedMemory": _INT}),
         "metrics": _obj({"cpuLoad": _NUM, "cpuTime": _INT, "memoryRss": _INT})},
        {"pid": _INT, "lastHeartbeatAgeMs": _INT}),
    "JobManagerConfig": _array(_obj({"key": _STR, "value": _STR})),
    "JobConfig": _obj({"jid": _STR, "name": _STR, "execution-config": _obj(
        {"execution-mode": _STR, "restart-strategy": _STR, "job-parallelism": _INT,
         "object-reuse-mode": _BOOL, "user-config": {"type": "object"}}),
        "configuration": {"type": "object"}}),
    "CheckpointConfig": _obj({"mode": {"type": "string", "enum": ["exactly_once",
                                                                  "at_least_once"]},
                              "interval": _INT, "timeout": _INT, "min_pause": _INT,
                              "max_concurrent": _INT, "tolerable_failed_checkpoints": _INT,
                              "unaligned_checkpoints": _BOOL, "num_retained": _INT,
                              "checkpoint_storage": _STR, "job_type": _STR}),
    "Jobs": _obj({"jobs": _array(_obj({"id": _STR, "status": _JOB_STATE}))}),
    "JobsOverview": _obj({"jobs": _array(_obj(
        {"jid": _STR, "name": _STR, "state": _JOB_STATE, "start-time": _INT, "end-time": _INT,
         "duration": _INT, "last-modification": _INT,
         "tasks": _obj({"total": _INT, **{s.lower(): _INT for s in _STATES}})}))}),
    "Job": _obj({"jid": _STR, "name": _STR, "isStoppable": _BOOL, "state": _JOB_STATE,
                 "job-type": _STR, "start-time": _INT, "end-time": _INT, "duration": _INT,
                 "maxParallelism": _INT, "now": _INT, "timestamps": {"type": "object"},
                 "vertices": _array(_VERTEX), "status-counts": _TASK_COUNTS, "plan": _PLAN},
                {"executor": _STR}),
    "Plan": _obj({"plan": _PLAN}),
    "Vertex": _obj({"id": _STR, "name": _STR, "parallelism": _INT, "maxParallelism": _INT,
                    "now": _INT, "subtasks": _array(_obj(
                        {"subtask": _INT, "status": {"type": "string", "enum": _STATES},
                         "attempt": _INT, "taskmanager-id": _STR, "start-time": _INT,
                         "end-time": _INT, "duration": _INT, "metrics": _IO_METRICS}))}),
    "Metrics": _METRIC_IDS,
    "AggregatedMetrics": _array(_obj({"id": _STR}, {"min": _NUM, "max": _NUM, "avg": _NUM,
                                                     "sum": _NUM})),
    "Backpressure": _obj({"status": _STR, "backpressure-level": _STR, "end-timestamp": _INT,
                          "subtasks": _array(_obj(
                              {"subtask": _INT, "attempt-number": _INT,
                               "backpressure-level": _STR, "ratio": _NUM, "idleRatio": _NUM,
                               "busyRatio": _NUM}))}),
    "Watermarks": _array(_obj({"id": _STR, "value": _STR})),
    "Checkpoints": _obj({"counts": _obj({k: _INT for k in ("restored", "total", "in_progress",
                                                           "completed", "failed")}),
                         "summary": _obj({"state_size": _MIN_MAX_AVG,
                                          "checkpointed_size": _MIN_MAX_AVG,
                                          "end_to_end_duration": _MIN_MAX_AVG}),
                         "latest": _obj({"completed": _NULL_CHECKPOINT,
                                         "savepoint": _NULL_CHECKPOINT,
                                         "failed": _NULL_CHECKPOINT,
                                         "restored": {"type": "object", "nullable": True}}),
                         "history": _array(_CHECKPOINT)}),
    "Exceptions": _obj({"root-exception": _NULL_STR, "timestamp": {**_INT, "nullable": True},
                        "all-exceptions": _array({"type": "object"}), "truncated": _BOOL,
                        "exceptionHistory": _obj({"entries": _array(_obj(
                            {"exceptionName": _STR, "stacktrace": _STR, "timestamp": _INT})),
                            "truncated": _BOOL})},
                       {"root-summary": _STR}),
    "TriggerId": _obj({"request-id": _STR}),
    "SavepointStatus": _obj({"status": _obj({"id": {"type": "string",
                                                    "enum": ["IN_PROGRESS", "COMPLETED"]}}),
                             "operation": {"type": "object", "nullable": True, "properties": {
                                 "location": _NULL_STR,
                                 "failure-cause": _obj({"class": _STR, "stack-trace": _STR},
                                                       {"message": _STR})}}}),
    "Submitted": _obj({"jobUrl": _STR, "jid": _STR}),
    "SavepointTrigger": {"type": "object", "properties": {
        "target-directory": _NULL_STR, "cancel-job": _BOOL}},
    "StopWithSavepoint": {"type": "object", "properties": {
        "targetDirectory": _NULL_STR, "drain": _BOOL}},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(name: str, status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {status: {"description": description,
                     "content": {"application/json": {"schema": _ref(name)}}}}


def _errors(*statuses: str) -> dict[str, Any]:
    texts = {"400": "Malformed request", "401": "Missing or wrong bearer token",
             "404": "Unknown job, vertex, TaskManager or trigger id", "409": "The job is not running"}
    return {s: {"description": texts[s], "content": {"application/json": {"schema": _ref("Error")}}}
            for s in (*statuses, "401")}


def _param(name: str, where: str = "path", description: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": _STR,
            "description": description}


def _get(summary: str, schema: str, *params: dict[str, Any],
         errors: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**_ok(schema), **_errors(*errors)}}
    if params:
        op["parameters"] = list(params)
    return {"get": op}


def openapi_schema() -> dict[str, Any]:
    """The API's OpenAPI 3.0 document."""
    jid, vid = _param("jobid", description="32 hex digits"), _param("vertexid")
    get = _param("get", "query", "comma-separated metric names")
    tmid = _param("taskmanagerid")
    paths: dict[str, Any] = {
        "/metrics": {"get": {
            "summary": "Every running job's metrics in Prometheus' text format, with Flink's "
                       "metric names and labels (for a Prometheus scrape)",
            "responses": {"200": {"description": "Prometheus text exposition format 0.0.4",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}},
                          **_errors()}}},
        "/config": _get("The cluster's web configuration", "Config"),
        "/overview": _get("TaskManagers, slots and job counts", "Overview"),
        "/taskmanagers": _get("The TaskManagers that offered slots", "TaskManagers"),
        "/taskmanagers/{taskmanagerid}": _get(
            "A TaskManager, with what its process uses (CPU, memory)", "TaskManager", tmid,
            errors=("404",)),
        "/taskmanagers/{taskmanagerid}/metrics": _get(
            "A TaskManager's process metrics (Status.Process.*, Status.Machine.*)", "Metrics",
            tmid, get, errors=("404",)),
        "/jobmanager/config": _get("The cluster's configuration keys", "JobManagerConfig"),
        "/jobs": {**_get("Every job's id and state", "Jobs"), "post": {
            "summary": "Submit a job: the body is a cloudpickled strom JobSubmission, as `strom "
                       "run -d` sends it. It runs the code it is sent: for trusted clients only",
            "requestBody": {"required": True, "content": {
                "application/x-strom-submission": {"schema": {"type": "string",
                                                              "format": "binary"}}}},
            "responses": {**_ok("Submitted", "202", "Accepted: the job runs"),
                          **_errors("400")}}},
        "/jobs/overview": _get("Every job with its times and task counts", "JobsOverview"),
        "/jobs/{jobid}": {**_get("A job: state, times, vertices, plan", "Job", jid,
                                 errors=("404",)),
                          "patch": {"summary": "Cancel the job", "parameters": [
                              jid, {"name": "mode", "in": "query", "required": False,
                                    "schema": {"type": "string", "enum": ["cancel"]}}],
                              "responses": {"202": {"description": "Cancelling",
                                                    "content": {"application/json": {
                                                        "schema": {"type": "object"}}}},
                                            **_errors("400", "404")}}},
        "/jobs/{jobid}/plan": _get("The job's dataflow plan", "Plan", jid, errors=("404",)),
        "/jobs/{jobid}/config": _get("How the job runs: restart strategy, parallelism, job "
                                     "parameters, configuration", "JobConfig", jid,
                                     errors=("404",)),
        "/jobs/{jobid}/checkpoints": _get("Checkpoint counts, latest and history",
                                          "Checkpoints", jid, errors=("404",)),
        "/jobs/{jobid}/checkpoints/config": _get(
            "How the job checkpoints (404 when it does not)", "CheckpointConfig", jid,
            errors=("404",)),
        "/jobs/{jobid}/exceptions": _get("The job's failure with its traceback", "Exceptions",
                                         jid, errors=("404",)),
        "/jobs/{jobid}/metrics": _get("Job metrics", "Metrics", jid, get, errors=("404",)),
        "/jobs/{jobid}/savepoints": {"post": {
            "summary": "Trigger a savepoint (asynchronous: poll the request id)",
            "parameters": [jid],
            "requestBody": {"required": False, "content": {
                "application/json": {"schema": _ref("SavepointTrigger")}}},
            "responses": {**_ok("TriggerId", "202", "Triggered"),
                          **_errors("400", "404", "409")}}},
        "/jobs/{jobid}/savepoints/{triggerid}": _get(
            "The status of a savepoint", "SavepointStatus", jid, _param("triggerid"),
            errors=("404",)),
        "/jobs/{jobid}/stop": {"post": {
            "summary": "Stop the job with a savepoint (drain: fire every event-time window)",
            "parameters": [jid],
            "requestBody": {"required": False, "content": {
                "application/json": {"schema": _ref("StopWithSavepoint")}}},
            "responses": {**_ok("TriggerId", "202", "Triggered"),
                          **_errors("400", "404", "409")}}},
        "/jobs/{jobid}/vertices/{vertexid}": _get("A vertex and its subtasks", "Vertex", jid,
                                                  vid, errors=("404",)),
        "/jobs/{jobid}/vertices/{vertexid}/metrics": _get(
            "Per-subtask metrics (<subtask>.<name>)", "Metrics", jid, vid, get,
            errors=("404",)),
        "/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics": _get(
            "Metrics aggregated over the subtasks", "AggregatedMetrics", jid, vid, get,
            errors=("404",)),
        "/jobs/{jobid}/vertices/{vertexid}/backpressure": _get(
            "Back pressure per subtask", "Backpressure", jid, vid, errors=("404",)),
        "/jobs/{jobid}/vertices/{vertexid}/watermarks": _get(
            "Current watermarks per subtask", "Watermarks", jid, vid, errors=("404",)),
    }
    return {"openapi": "3.0.3",
            "info": {"title": "strom REST API", "version": __version__,
                     "description": "Flink's REST API shape on strom's JobManager."},
            "paths": paths,
            "components": {"schemas": _SCHEMAS, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{}, {"bearer": []}]}
