"""How TaskManager processes are started: forked from a zygote, or spawned.

``fork`` (the default on Linux and macOS): when the ResourceManager starts, it starts a small
*zygote*: a fresh interpreter (``python -m strom.cluster.launcher``) that imports the
TaskManager's modules once and then forks each TaskManager on request, so a TaskManager is
ready in milliseconds instead of the ~0.3 s a fresh interpreter takes. The zygote never runs
threads and never loads the client's libraries, so forking from it is safe even when the
client uses libraries that are not (librdkafka, for one: a copy of a process with Kafka
clients hangs in them). ``spawn`` starts ``python -m strom.cluster.taskmanager`` per
TaskManager instead (``taskmanager.start-method: spawn``; the only way on Windows). Either way a TaskManager ignores Ctrl-C (the terminal
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
    """A fresh, thread-free interpreter with strom imported that forks TaskManagers."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the client's modules
        self.process = subprocess.Popen([sys.executable, "-m", "strom.cluster.launcher"],
                                        stdin=subprocess.PIPE, env=env, text=True,
                                        start_new_session=False)

    def start(self, jobmanager: tuple[str, int], slots: int, tm_id: str, host: str) -> Forked:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps([list(jobmanager), slots, tm_id, host]) + "\n")
        self.process.stdin.flush()
        return Forked()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _serve_zygote(requests: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # TaskManagers are reaped automatically
    from strom.cluster.taskmanager import TaskManager  # imported once, before any fork

    for line in requests:
        jobmanager, slots, tm_id, host = json.loads(line)
        if os.fork() == 0:  # a TaskManager
            code = 0
            try:
                requests.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
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


if __name__ == "__main__":  # the zygote: TaskManager requests on stdin, one JSON line each
    _serve_zygote(sys.stdin)
