"""Executors: what drives a job's tasks, chosen by name (``execution.target``).

``inline`` (default) runs every task on one thread; ``threads`` runs each task on a thread of
its own (Flink's model); ``local`` starts a mini-cluster: a JobManager in this process and
TaskManager processes that use every core. A name maps to a class here or to a
``"module:Class"`` path loaded on first use, so executors built on the cluster package (which
the core never imports) plug in by name.
"""
from __future__ import annotations

import importlib
from typing import Any

from strom.errors import UnsupportedError
from strom.runtime.executors.inline import InlineExecutor
from strom.runtime.executors.threads import ThreadsExecutor

EXECUTORS: dict[str, Any] = {
    "inline": InlineExecutor,
    "threads": ThreadsExecutor,
    "local": "strom.cluster.minicluster:LocalClusterExecutor",
}
"""The executors every end-to-end test runs on: name -> class or ``"module:Class"``."""

TARGETS: dict[str, Any] = {**EXECUTORS, "local": "strom.cluster.minicluster:LocalClusterExecutor",
                           "remote": "strom.cluster.remote:RemoteExecutor"}
"""Every ``execution.target``: the executors, plus targets that need a running cluster."""


def executor_class(name: str) -> Any:
    """The executor class registered as ``name`` (``execution.target``)."""
    try:
        entry = TARGETS[name]
    except KeyError:
        raise UnsupportedError(
            f"unknown execution target {name!r}; expected one of {sorted(TARGETS)}. Hint: set "
            "execution.target (or env.executor) to 'inline', 'threads' or 'local'") from None
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    return entry


__all__ = ["EXECUTORS", "TARGETS", "InlineExecutor", "ThreadsExecutor", "executor_class"]
