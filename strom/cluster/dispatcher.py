"""The JobManager's front (Flink's Dispatcher), and what it shows of the TaskManagers.

A :class:`Dispatcher` keeps every job it knows as a :class:`JobRecord`: jobs submitted to it
(:meth:`Dispatcher.submit`, the REST API's ``POST /jobs``), run on the executor it was given,
and jobs started in this process by ``env.execute()`` while it listens
(:meth:`Dispatcher.listen`, used by ``strom run --web``). It cancels jobs, triggers savepoints
asynchronously (Flink's trigger id + status polling) and lists the TaskManagers that offer
slots (:func:`taskmanager_infos`). The REST layer (``strom.cluster.rest``) only reads and calls
this class.

Example:
    >>> d = Dispatcher()            # doctest: +SKIP
    >>> record = d.submit(payload)  # doctest: +SKIP
    >>> d.cancel(record.job_id)     # doctest: +SKIP
"""
from __future__ import annotations

import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from strom.cluster.process_status import ProcessStatus
from strom.cluster.submission import JobSubmission, unpack
from strom.errors import ClusterError, JobNotFoundError
from strom.runtime.executors import executor_class
from strom.runtime.job import JobClient, JobControl, add_job_listener, remove_job_listener
from strom.time.clock import SystemClock


def now_ms() -> int:
    """Milliseconds since the epoch (the REST API's timestamps)."""
    return time.time_ns() // 1_000_000


@dataclass
class SavepointRequest:
    """One asynchronous savepoint (or stop-with-savepoint) a client triggered."""

    request_id: str
    job_id: str
    target_directory: str | None
    stop: bool = False
    drain: bool = False
    status: str = "IN_PROGRESS"  # IN_PROGRESS, COMPLETED (location or failure set)
    location: str | None = None
    failure: BaseException | None = None
    triggered: int = field(default_factory=now_ms)


@dataclass
class JobRecord:
    """What the dispatcher knows of one job.

    Attributes:
        job_id, name: the job's id (32 hex digits) and name.
        start_time, end_time: ms since the epoch; ``end_time`` is -1 while the job runs.
        graph: the ``JobGraph`` being run.
        control: the ``JobControl`` the executor updates (status, metrics, coordinator).
        executor: the executor's name (``inline``, ``threads``, ``local``, ...).
        config: the submitted configuration keys (``configuration`` of the executor config).
        submitted: True when the job came through :meth:`Dispatcher.submit` (REST), False when
            ``env.execute()`` of this process started it.
    """

    job_id: str
    name: str
    start_time: int
    graph: Any
    control: JobControl
    executor: str
    config: dict[str, str] = field(default_factory=dict)
    submitted: bool = False
    end_time: int = -1
    savepoints: dict[str, SavepointRequest] = field(default_factory=dict)
    timestamps: dict[str, int] = field(default_factory=dict)  # state -> first seen (ms)

    @property
    def client(self) -> JobClient:
        """A ``JobClient`` over the job (cancel, savepoints, result)."""
        return JobClient(self.control)

    @property
    def status(self) -> str:
        """The job's state as Flink names it (RUNNING, FINISHED, CANCELED, FAILED, ...)."""
        state = self.control.status.value
        self.timestamps.setdefault(state, now_ms())
        if self.control.done.is_set() and self.end_time < 0:
            self.end_time = now_ms()
        return state

    @property
    def duration(self) -> int:
        """Milliseconds from start to end (or to now while it runs)."""
        self.status  # noqa: B018 - records the end time once done
        end = self.end_time if self.end_time >= 0 else now_ms()
        return max(0, end - self.start_time)


@dataclass
class TaskManagerInfo:
    """A TaskManager as it registered with the resource manager (Flink's TaskManagerInfo).

    Attributes:
        id: unique id (e.g. ``"localhost:41233-0a1b2c"``).
        path: where it is reached (``"tcp://127.0.0.1:41233"`` or ``"embedded"``).
        data_port: the port of its data channels (-1 when in-process).
        slots: number of task slots.
        free_slots: slots not held by a job.
        pid: its OS process id.
        last_heartbeat: ms since the epoch of its last heartbeat.
        cpu_cores, physical_memory: what the machine offers it.
        metrics: its process's last sample (``strom.cluster.process_status``: CPU load and
            time, resident memory, the machine's memory).
    """

    id: str
    path: str
    slots: int
    free_slots: int
    data_port: int = -1
    pid: int = field(default_factory=os.getpid)
    last_heartbeat: int = field(default_factory=now_ms)
    cpu_cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    physical_memory: int = -1
    metrics: dict[str, Any] = field(default_factory=dict)


class EmbeddedTaskManagers:
    """TaskManagers registered by hand: the one "embedded" TaskManager that stands for this
    process when jobs run on an in-process executor, or any a test registers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taskmanagers: dict[str, TaskManagerInfo] = {}
        self._status = ProcessStatus()  # of this process, which the embedded one stands for

    def register(self, info: TaskManagerInfo) -> None:
        """Add (or replace) a TaskManager."""
        with self._lock:
            self._taskmanagers[info.id] = info

    def unregister(self, tm_id: str) -> None:
        """Remove a TaskManager (no error if it is gone already)."""
        with self._lock:
            self._taskmanagers.pop(tm_id, None)

    def infos(self) -> list[TaskManagerInfo]:
        """Every registered TaskManager, in registration order (the embedded one with a fresh
        sample of this process)."""
        with self._lock:
            infos = list(self._taskmanagers.values())
            for info in infos:
                if info.path == "embedded":
                    info.metrics = self._status.sample()
                    info.physical_memory = info.metrics["Status.Machine.Memory.Total"]
            return infos


def taskmanager_infos(resources: Any) -> list[TaskManagerInfo]:
    """The TaskManagers of ``resources``: an object with ``infos()`` (as
    :class:`EmbeddedTaskManagers`), or the process runtime's ResourceManager, read duck-typed
    (``taskmanagers``: id -> handle with ``tm_id``, ``slots``, ``data_address``, ``pid``,
    ``owner``, ``alive``, ``last_heartbeat`` on the monotonic clock)."""
    infos = getattr(resources, "infos", None)
    if callable(infos):
        return infos()
    out = []
    now_mono, now = time.monotonic(), now_ms()
    for h in list(getattr(resources, "taskmanagers", {}).values()):
        if not getattr(h, "alive", True):
            continue
        host, port = h.data_address
        status = dict(getattr(h, "status", None) or {})
        out.append(TaskManagerInfo(
            h.tm_id, f"tcp://{host}:{port}", h.slots, 0 if h.owner is not None else h.slots,
            data_port=port, pid=h.pid,
            last_heartbeat=now - int((now_mono - h.last_heartbeat) * 1000),
            cpu_cores=status.get("Status.Machine.CPU.Cores", os.cpu_count() or 1),
            physical_memory=status.get("Status.Machine.Memory.Total", -1), metrics=status))
    return out


class Dispatcher:
    """The registry of jobs, and what clients may ask of them.

    Args:
        executor: the execution target submitted jobs run on (``threads`` by default; the
            standalone cluster will run them on ``local`` TaskManager processes).
        config: the cluster's configuration (served at ``/config``, ``rest.*`` keys).
        resources: where the TaskManagers are (see :func:`taskmanager_infos`): the process
            runtime's ResourceManager; when None, one embedded TaskManager with ``slots``
            slots stands for this process (in-process executors).
        slots: the embedded TaskManager's slots (default: the number of cores).
    """

    def __init__(self, executor: str = "threads", config: dict[str, str] | None = None,
                 resources: Any = None,
                 slots: int | None = None) -> None:
        executor_class(executor)  # fail early on an unknown target
        self.executor = executor
        self.config = dict(config or {})
        self.started = now_ms()
        self.jobs: dict[str, JobRecord] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.embedded = resources is None
        if resources is None:
            n = slots or os.cpu_count() or 1
            resources = EmbeddedTaskManagers()
            resources.register(TaskManagerInfo("embedded", "embedded", n, n))
        self.resources = resources

    # -- jobs ---------------------------------------------------------------------------------

    def register(self, control: JobControl, graph: Any, executor: Any,
                 submitted: bool = False) -> JobRecord:
        """Record a job that starts (the job listener ``env.execute()`` calls)."""
        config = getattr(executor, "config", {}) or {}
        record = JobRecord(job_id=control.job_id, name=control.job_name, start_time=now_ms(),
                           graph=graph, control=control,
                           executor=getattr(executor, "name", type(executor).__name__),
                           config={str(k): str(v) for k, v in
                                   (config.get("configuration") or {}).items()},
                           submitted=submitted)
        record.timestamps["CREATED"] = record.start_time
        with self._lock:
            self.jobs[record.job_id] = record
        return record

    def listen(self) -> None:
        """Register every job ``env.execute()`` starts in this process from now on."""
        add_job_listener(self._on_job_started)

    def stop_listening(self) -> None:
        """Undo :meth:`listen`."""
        remove_job_listener(self._on_job_started)

    def _on_job_started(self, control: JobControl, graph: Any, executor: Any) -> None:
        self.register(control, graph, executor)

    def submit(self, payload: bytes | JobSubmission) -> JobRecord:
        """Run a submitted job (a cloudpickled :class:`JobSubmission` or one) on this
        dispatcher's executor; returns at once. ``ValueError`` if the payload is not one."""
        submission = unpack(payload) if isinstance(payload, bytes) else payload
        cls = executor_class(self.executor)
        config = dict(submission.config)
        executor = cls(submission.clock or SystemClock(), config)
        control = JobControl(submission.job_name)
        record = self.register(control, submission.graph, executor, submitted=True)

        def run() -> None:
            try:
                executor.run(submission.graph, control, submission.job_parameters)
            except BaseException:  # noqa: S110 - recorded in control (status, error)
                pass
            finally:
                record.status  # noqa: B018 - stamps the end time

        thread = threading.Thread(target=run, name=f"job {submission.job_name}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return record

    def job(self, job_id: str) -> JobRecord:
        """The job with id ``job_id``; ``JobNotFoundError`` if there is none."""
        with self._lock:
            record = self.jobs.get(job_id)
        if record is None:
            raise JobNotFoundError(f"Job {job_id} not found (the dispatcher knows "
                                   f"{len(self.jobs)} job(s)); hint: `strom list` shows them")
        return record

    def all_jobs(self) -> list[JobRecord]:
        """Every job, oldest first."""
        with self._lock:
            return list(self.jobs.values())

    def cancel(self, job_id: str) -> JobRecord:
        """Ask the job to cancel (returns at once; it ends CANCELED)."""
        record = self.job(job_id)
        record.control.request_cancel()
        return record

    # -- savepoints ---------------------------------------------------------------------------

    def trigger_savepoint(self, job_id: str, target_directory: str | None = None,
                          cancel_job: bool = False) -> SavepointRequest:
        """Start a savepoint (then cancel the job if ``cancel_job``); poll
        :meth:`savepoint_status` with the returned request's id."""
        record = self.job(job_id)
        request = SavepointRequest(uuid.uuid4().hex, job_id, target_directory)

        def take() -> None:
            path = record.client.trigger_savepoint(target_directory).result()
            if cancel_job:
                record.control.request_cancel()
            return path

        return self._start(record, request, take)

    def stop_with_savepoint(self, job_id: str, target_directory: str | None = None,
                            drain: bool = False) -> SavepointRequest:
        """Take a savepoint and stop the job (Flink's ``POST /jobs/:id/stop``); with ``drain``
        the sources emit MAX_WATERMARK first so every event-time window fires."""
        record = self.job(job_id)
        request = SavepointRequest(uuid.uuid4().hex, job_id, target_directory, stop=True,
                                   drain=drain)
        return self._start(record, request, lambda: record.client.stop_with_savepoint(
            drain, target_directory).result())

    def _start(self, record: JobRecord, request: SavepointRequest, take: Any) -> SavepointRequest:
        if record.control.done.is_set():
            raise ClusterError(f"job {record.job_id} ('{record.name}') is {record.status}, not "
                               "running, so there is nothing to take a savepoint of",
                               status=409)
        record.savepoints[request.request_id] = request

        def run() -> None:
            try:
                request.location = take()
            except Exception as exc:  # reported through savepoint_status
                request.failure = exc
            request.status = "COMPLETED"

        threading.Thread(target=run, name=f"savepoint {request.request_id}", daemon=True).start()
        return request

    def savepoint_status(self, job_id: str, request_id: str) -> SavepointRequest:
        """The savepoint request ``request_id`` of job ``job_id``."""
        record = self.job(job_id)
        request = record.savepoints.get(request_id)
        if request is None:
            raise JobNotFoundError(f"There is no savepoint operation with triggerId={request_id} "
                                   f"for job {job_id}; hint: use the request-id the trigger "
                                   "returned")
        return request

    # -- the cluster --------------------------------------------------------------------------

    def taskmanagers(self) -> list[TaskManagerInfo]:
        """The TaskManagers offering slots; an embedded TaskManager's running jobs hold as many
        slots as their largest vertex parallelism (slot sharing)."""
        tms = taskmanager_infos(self.resources)
        if self.embedded and tms:
            used = sum(max((v.parallelism for v in r.graph.vertices), default=1)
                       for r in self.all_jobs() if not r.control.done.is_set())
            tms[0].free_slots = max(0, tms[0].slots - used)
            tms[0].last_heartbeat = now_ms()
        return tms

    def taskmanager(self, tm_id: str) -> TaskManagerInfo:
        """The TaskManager ``tm_id``; a 404 ``ClusterError`` if none has that id."""
        tms = self.taskmanagers()
        for tm in tms:
            if tm.id == tm_id:
                return tm
        raise ClusterError(f"TaskManager {tm_id} not found (the cluster has {len(tms)}); "
                           "hint: GET /taskmanagers lists their ids", status=404)

    def slots(self) -> tuple[int, int]:
        """(total, available) task slots over every TaskManager."""
        tms = self.taskmanagers()
        return sum(tm.slots for tm in tms), sum(tm.free_slots for tm in tms)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every running job and wait up to ``timeout`` s for them to end."""
        self.stop_listening()
        for record in self.all_jobs():
            if not record.control.done.is_set():
                record.control.request_cancel()
        deadline = time.monotonic() + timeout
        for record in self.all_jobs():
            record.control.done.wait(max(0.0, deadline - time.monotonic()))


def exception_text(error: BaseException) -> tuple[str, str]:
    """(one-line root exception, full traceback text) of a job failure."""
    root = f"{type(error).__module__}.{type(error).__qualname__}: {error}"
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return root, text
