"""How TaskManager processes are started: forked from a zygote, or spawned.

``fork`` (the default on Linux and macOS): when the ResourceManager starts, it forks a small
*zygote* process while it has no threads of its own yet; the zygote forks each TaskManager on
request. A TaskManager so started has strom and the job's modules already imported and is
ready in milliseconds (a fresh interpreter takes ~0.3 s per process). The zygote itself never
runs threads, so forking from it is safe. ``spawn`` starts ``python -m
strom.cluster.taskmanager`` instead (``taskmanager.start-method: spawn``; the only way on
Windows, and what remote hosts do). Either way a TaskManager ignores Ctrl-C (the terminal
sends it to the whole process group; the JobManager cancels and stops them) and exits when
its JobManager connection closes.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any


class Spawned:
    """A TaskManager started as a fresh interpreter."""

    def __init__(self, jobmanager: tuple[str, int], slots: int, tm_id: str, host: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the client's modules
        cmd = [sys.executable, "-m", "strom.cluster.taskmanager", "--jobmanager",
               f"{jobmanager[0]}:{jobmanager[1]}", "--slots", str(slots), "--id", tm_id,
               "--host", host]
        self.process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
        self.pid: int | None = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()

    def wait(self, timeout: float) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class Forked:
    """A TaskManager forked by the zygote; its pid is known once it registered."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.started = time.monotonic()

    def alive(self) -> bool:
        if self.pid is None:
            return time.monotonic() - self.started < 30  # still starting
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.alive() and self.pid is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.alive():
            self.kill()


class Zygote:
    """A forked, thread-free copy of this process that forks TaskManagers on request.

    Create it before the caller starts threads of its own. ``close_fds``: descriptors the
    TaskManagers must not keep (the JobManager's listening socket).
    """

    def __init__(self, close_fds: tuple[int, ...] = ()) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the zygote
            try:
                os.close(write)
                for fd in close_fds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                _serve_zygote(read)
            finally:
                os._exit(0)
        os.close(read)
        self.pid = pid
        self._pipe = os.fdopen(write, "w", buffering=1)

    def start(self, jobmanager: tuple[str, int], slots: int, tm_id: str, host: str) -> Forked:
        self._pipe.write(json.dumps([list(jobmanager), slots, tm_id, host]) + "\n")
        return Forked()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.close()
        with contextlib.suppress(OSError, ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve_zygote(read: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # TaskManagers are reaped automatically
    with os.fdopen(read) as requests:
        for line in requests:
            jobmanager, slots, tm_id, host = json.loads(line)
            if os.fork() == 0:  # a TaskManager
                code = 0
                try:
                    requests.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    from strom.cluster.taskmanager import TaskManager

                    TaskManager(tuple(jobmanager), slots, tm_id, host).serve()
                except BaseException:  # noqa: BLE001 - a dead TaskManager is reported by the JM
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)


def default_start_method(config: dict[str, Any] | None = None) -> str:
    """``taskmanager.start-method`` if set, else ``fork`` where the OS has it."""
    chosen = (config or {}).get("taskmanager.start-method")
    if chosen:
        return str(chosen)
    return "fork" if hasattr(os, "fork") else "spawn"
