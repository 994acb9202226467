"""What a TaskManager process uses of its machine: CPU load and time, resident memory, and the
machine's memory (Flink's ``Status.JVM.*`` TaskManager metrics, for a Python process).

A TaskManager samples it with every heartbeat; the JobManager shows the samples at
``/taskmanagers`` and ``/taskmanagers/:id`` (``hardware`` and ``metrics``) and under
``/taskmanagers/:id/metrics``. The embedded TaskManager of the in-process executors samples
the client process itself.

Example:
    >>> status = ProcessStatus()
    >>> sorted(status.sample())[:2]
    ['Status.Process.CPU.Load', 'Status.Process.CPU.Time']
"""
from __future__ import annotations

import os
import resource
import time
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def physical_memory() -> int:
    """The machine's memory in bytes (-1 if the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return -1


def available_memory() -> int:
    """Memory the machine can still hand out, in bytes (Linux ``MemAvailable``; -1 elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def resident_memory() -> int:
    """This process's resident set size in bytes (its peak where the current one is unknown)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * (1 if os.uname().sysname == "Darwin" else 1024)


class ProcessStatus:
    """Samples this process: CPU load is the share of one core used since the last sample."""

    def __init__(self) -> None:
        self._cpu = self._cpu_seconds()
        self._at = time.monotonic()

    @staticmethod
    def _cpu_seconds() -> float:
        t = os.times()
        return t.user + t.system

    def sample(self) -> dict[str, Any]:
        """The metrics now: ``Status.Process.CPU.Load`` (0..cores), ``.CPU.Time`` (ms),
        ``Status.Process.Memory.RSS`` (bytes), ``Status.Machine.Memory.Total`` / ``.Available``
        (bytes), ``Status.Machine.CPU.Cores``."""
        cpu, at = self._cpu_seconds(), time.monotonic()
        elapsed = at - self._at
        load = (cpu - self._cpu) / elapsed if elapsed > 0 else 0.0
        self._cpu, self._at = cpu, at
        return {"Status.Process.CPU.Load": round(max(0.0, load), 4),
                "Status.Process.CPU.Time": int(cpu * 1000),
                "Status.Process.Memory.RSS": resident_memory(),
                "Status.Machine.Memory.Total": physical_memory(),
                "Status.Machine.Memory.Available": available_memory(),
                "Status.Machine.CPU.Cores": os.cpu_count() or 1}
