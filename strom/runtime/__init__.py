"""The runtime: deploys a job graph as tasks and runs them (Flink's task side).

``deploy.build_tasks`` makes one :class:`StreamTask` per vertex subtask (its chain of
operators, input gates, record writers); :mod:`~strom.runtime.executors` drive the tasks;
:mod:`~strom.runtime.operators` are the built-in operators. The runtime uses ``strom.graph``
(the plan it deploys), ``strom.checkpoint``, ``strom.window``, ``strom.state`` and
``strom.time``; it never imports ``strom.api`` (enforced by ``tests/test_layering.py``).

Public surface (``__all__``), loaded on first access so that importing one runtime module does
not import them all: :class:`StreamTask`, :func:`build_tasks`, :class:`ProcessingTimeService`,
:class:`TaskInfo`, :class:`StreamingRuntimeContext`, :class:`Channel`, :class:`LocalChannel`,
:class:`RecordWriter`, :class:`OutputTag`, :class:`EndOfPartition`, :class:`JobClient`,
:class:`JobControl`, :class:`JobExecutionResult`, :class:`JobStatus`.
"""
from importlib import import_module

_EXPORTS = {
    "Channel": "channels", "LocalChannel": "channels", "RecordWriter": "channels",
    "StreamingRuntimeContext": "context", "TaskInfo": "context", "build_tasks": "deploy",
    "EndOfPartition": "elements", "OutputTag": "elements", "JobClient": "job",
    "JobControl": "job", "JobExecutionResult": "job", "JobStatus": "job",
    "ProcessingTimeService": "processing_time", "StreamTask": "task",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'strom.runtime' has no attribute {name!r}")
    return getattr(import_module(f"strom.runtime.{module}"), name)
