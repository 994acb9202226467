"""The ResourceManager: TaskManager processes, their slots, heartbeats and replacements.

It listens for TaskManagers on a control port (loopback by default), starts TaskManager
processes when it manages them (the local mini-cluster, the session cluster), hands whole
TaskManagers to a job's JobMaster (a TaskManager serves one job at a time), and watches them:
a TaskManager whose connection closes (the process died) or that misses heartbeats for
``heartbeat.timeout`` is lost; its job is told, and a managed one is replaced.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from strom.cluster.launcher import Spawned, Zygote, default_start_method
from strom.cluster.protocol import TASKMANAGER_HEARTBEAT_MS, Connection
from strom.errors import StromError, UnsupportedError
from strom.time.duration_text import parse_duration_ms

HEARTBEAT_TIMEOUT_MS = 10_000


def heartbeat_timeout_ms(config: dict[str, Any] | None) -> int:
    """``heartbeat.timeout`` of ``config`` in ms (default 10 s): how long a TaskManager may be
    silent before it counts as lost. It must exceed the TaskManagers' 1 s reporting interval."""
    raw = (config or {}).get("heartbeat.timeout")
    if raw is None:
        return HEARTBEAT_TIMEOUT_MS
    value = parse_duration_ms(str(raw), "heartbeat.timeout")
    if value <= TASKMANAGER_HEARTBEAT_MS:
        raise UnsupportedError(
            f"heartbeat.timeout: {raw!r} ({value} ms) is not longer than the TaskManagers' "
            f"heartbeat interval ({TASKMANAGER_HEARTBEAT_MS} ms), so every TaskManager would "
            "count as lost; hint: use at least a few seconds, e.g. '10 s'")
    return value
SLOT_REQUEST_TIMEOUT_MS = 300_000


class NoResourceAvailableError(StromError):
    """A job could not get the slots it needs within ``slot.request.timeout``."""


@dataclass(eq=False)
class TaskManagerHandle:
    """The JobManager's view of one registered TaskManager."""

    tm_id: str
    slots: int
    data_address: tuple[str, int]
    pid: int
    conn: Connection
    registered_ms: int
    last_heartbeat: float = field(default_factory=time.monotonic)
    alive: bool = True
    owner: Any = None  # the JobMaster using it, None when free
    metrics: dict[str, Any] = field(default_factory=dict)  # its subtasks' metrics
    status: dict[str, Any] = field(default_factory=dict)  # its process (ProcessStatus)

    def send(self, *message: Any) -> None:
        try:
            self.conn.send(*message)
        except OSError:
            pass  # it died: the reader thread reports the loss


class ResourceManager:
    """Registered TaskManagers and the processes it started.

    Args:
        host: address of the control port and of the TaskManagers it starts.
        managed: start and replace TaskManager processes itself.
        heartbeat_timeout_ms: a TaskManager silent this long is lost.
    """

    def __init__(self, host: str = "127.0.0.1", managed: bool = True,
                 heartbeat_timeout_ms: int = HEARTBEAT_TIMEOUT_MS,
                 start_method: str | None = None, slots_per_taskmanager: int = 1,
                 elastic: bool = True) -> None:
        self.host = host
        self.managed = managed
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.taskmanagers: dict[str, TaskManagerHandle] = {}
        self.processes: dict[str, Any] = {}  # TaskManagers it started: Spawned or Forked
        self.changed = threading.Condition()
        self._listener = socket.create_server((host, 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._closed = False
        self._next = 0
        self.start_method = start_method or default_start_method()
        if self.start_method not in ("fork", "spawn"):
            raise UnsupportedError(
                f"taskmanager.start-method: expected 'fork' or 'spawn', got "
                f"{self.start_method!r}")
        self.slots_per_taskmanager = slots_per_taskmanager
        self.elastic = managed and elastic  # start TaskManagers when jobs are short of slots
        self._zygote: Zygote | None = None
        if managed and self.start_method == "fork":
            self._zygote = Zygote()
        threading.Thread(target=self._accept, daemon=True, name="strom rm acceptor").start()
        threading.Thread(target=self._watch, daemon=True, name="strom rm heartbeats").start()

    # -- processes ----------------------------------------------------------------------------

    def start_taskmanager(self, slots: int = 1) -> str:
        """Start a TaskManager process with ``slots`` slots; returns its id (it registers soon)."""
        with self.changed:
            self._next += 1
            tm_id = f"taskmanager-{os.getpid()}-{self._next}"
        if self._zygote is not None:
            self.processes[tm_id] = self._zygote.start(self.address, slots, tm_id, self.host)
        else:
            self.processes[tm_id] = Spawned(self.address, slots, tm_id, self.host)
        return tm_id

    def allocate(self, owner: Any, slots: int, timeout_ms: int = SLOT_REQUEST_TIMEOUT_MS,
                 cancelled: threading.Event | None = None) -> list[TaskManagerHandle]:
        """Free TaskManagers with at least ``slots`` slots together, now owned by ``owner``.

        An elastic ResourceManager starts TaskManagers for any shortfall. Raises
        :class:`NoResourceAvailableError` after ``timeout_ms``.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        with self.changed:
            free = [tm for tm in self.taskmanagers.values() if tm.alive and tm.owner is None]
            short = slots - sum(tm.slots for tm in free)
            starting = sum(1 for tm_id, p in self.processes.items()
                           if tm_id not in self.taskmanagers and p.alive())
        if self.elastic:
            per = self.slots_per_taskmanager
            for _ in range(max(0, -(-short // per) - starting)):
                self.start_taskmanager(per)
        with self.changed:
            while True:
                free = [tm for tm in self.taskmanagers.values() if tm.alive and tm.owner is None]
                free.sort(key=lambda tm: tm.registered_ms)
                chosen, have = [], 0
                for tm in free:
                    if have >= slots:
                        break
                    chosen.append(tm)
                    have += tm.slots
                if have >= slots:
                    for tm in chosen:
                        tm.owner = owner
                    return chosen
                left = deadline - time.monotonic()
                if left <= 0 or (cancelled is not None and cancelled.is_set()):
                    total = sum(tm.slots for tm in self.taskmanagers.values() if tm.alive)
                    raise NoResourceAvailableError(
                        f"could not get {slots} task slot(s) within {timeout_ms} ms: the cluster "
                        f"has {len(self.taskmanagers)} TaskManager(s) with {total} slot(s), "
                        f"{have} of them free. Hint: lower the job's parallelism, start more "
                        "TaskManagers or slots (taskmanager.numberOfTaskSlots), or raise "
                        "slot.request.timeout")
                self.changed.wait(min(left, 0.5))

    def release(self, owner: Any) -> None:
        with self.changed:
            for tm in self.taskmanagers.values():
                if tm.owner is owner:
                    tm.owner = None
            self.changed.notify_all()

    # -- registration and heartbeats ----------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(Connection(sock),), daemon=True,
                             name="strom rm reader").start()

    def _serve(self, conn: Connection) -> None:
        try:
            hello = conn.receive()
        except OSError:
            hello = None
        if not hello or hello[0] != "register":
            conn.close()
            return
        _, tm_id, slots, data_address, pid = hello
        tm = TaskManagerHandle(tm_id, slots, tuple(data_address), pid, conn,
                               int(time.time() * 1000))
        with self.changed:
            self.taskmanagers[tm_id] = tm
            process = self.processes.get(tm_id)
            if process is not None and process.pid is None:
                process.pid = pid  # forked: known now
            self.changed.notify_all()
        reason = "its connection closed (the process exited or was killed)"
        try:
            while True:
                message = conn.receive()
                if message is None:
                    break
                tm.last_heartbeat = time.monotonic()
                owner = tm.owner
                if message[0] == "heartbeat":
                    tm.metrics, tm.status = message[2], message[3]
                    if owner is not None:
                        owner.on_metrics(tm, message[1], message[2])
                    continue
                if owner is not None:
                    owner.on_message(tm, message)
        except Exception as exc:  # a broken frame: the TaskManager is unusable
            reason = f"its connection failed: {exc}"
        self._lost(tm, reason)

    def _lost(self, tm: TaskManagerHandle, reason: str) -> None:
        with self.changed:
            if not tm.alive:
                return
            tm.alive = False
            self.taskmanagers.pop(tm.tm_id, None)
            owner = tm.owner
            self.changed.notify_all()
        tm.conn.close()
        process = self.processes.pop(tm.tm_id, None)
        if process is not None:
            process.kill()
        if owner is not None:
            owner.on_lost(tm, f"TaskManager {tm.tm_id} (pid {tm.pid}) was lost: {reason}")
        if self.managed and not self._closed and process is not None:
            self.start_taskmanager(tm.slots)  # a replacement, as Flink's active resource managers do

    def _watch(self) -> None:
        while not self._closed:
            time.sleep(0.5)
            limit = time.monotonic() - self.heartbeat_timeout_ms / 1000
            for tm in list(self.taskmanagers.values()):
                if tm.last_heartbeat < limit:
                    self._lost(tm, f"no heartbeat for {self.heartbeat_timeout_ms} ms")

    def shutdown(self) -> None:
        """Stop every TaskManager and the control port."""
        self._closed = True
        for tm in list(self.taskmanagers.values()):
            tm.send("shutdown")
            tm.conn.close()
        with contextlib.suppress(OSError):
            self._listener.close()
        for process in list(self.processes.values()):
            process.wait(2)
        self.processes.clear()
        if self._zygote is not None:
            self._zygote.close()
