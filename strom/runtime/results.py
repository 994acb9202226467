"""Where ``execute_and_collect`` records go: a result target the collect sink names by id.

The client registers a ``deliver(value)`` callable and gets a picklable :class:`ResultTarget`
for the plan. A task resolves it through ``TaskInfo.results``: in this process that is the
registered callable itself; in a TaskManager process it is a buffer the TaskManager ships to
the JobManager (in batches, over its connection), which hands them to the registered callable.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_targets: dict[str, Callable[[Any], None]] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ResultTarget:
    """A registered receiver of collected records, by id (plain data: it travels in plans)."""

    sink_id: str


def register(deliver: Callable[[Any], None]) -> ResultTarget:
    """Receive collected records with ``deliver``; unregister when done."""
    target = ResultTarget(uuid.uuid4().hex)
    with _lock:
        _targets[target.sink_id] = deliver
    return target


def unregister(target: ResultTarget) -> None:
    with _lock:
        _targets.pop(target.sink_id, None)


def local_results(sink_id: str) -> Callable[[Any], None]:
    """The registered receiver ``sink_id`` (this process's)."""
    try:
        return _targets[sink_id]
    except KeyError:
        raise LookupError(f"no result receiver {sink_id!r} in this process (the collecting "
                          "client is gone)") from None


def deliver_all(sink_id: str, values: list[Any]) -> None:
    """Hand a batch of records that came from another process to its receiver."""
    deliver = _targets.get(sink_id)
    if deliver is not None:  # gone: the client stopped iterating (closed) and cancels the job
        for value in values:
            deliver(value)
