"""The built-in operators a task chains: sources, stateless steps, keyed process, reduce,
two-input and broadcast, timestamps/watermarks, windows (a runtime operator, as Flink's
``WindowOperator``; the pure window pieces live in ``strom.window``) and sinks.

:mod:`~strom.runtime.operators.base` holds the operator contract (:class:`StreamOperator`,
lifecycle ``setup -> initialize_state -> open -> process* -> end_input -> finish -> close``,
never called concurrently).

Public surface (``__all__``), loaded on first access so that importing one operator module
does not import them all: the operator classes listed in ``_EXPORTS``.
"""
from importlib import import_module

_EXPORTS = {
    "StreamOperator": "base", "UdfOperator": "base", "AsyncWaitOperator": "async_wait",
    "BroadcastProcessOperator": "broadcast",
    "CoMapOperator": "co", "CoProcessOperator": "co", "TwoInputOperator": "co",
    "ProcessOperator": "process", "ReduceOperator": "reduce",
    "CollectSinkOperator": "sinks", "PrintSinkOperator": "sinks", "SinkOperator": "sinks",
    "IteratorSourceOperator": "sources", "SourceOperator": "sources",
    "SplitSourceOperator": "sources", "ThreadedSourceOperator": "sources",
    "DiscoveringSplitSourceOperator": "split_discovery", "SocketSourceOperator": "socket_source",
    "FilterOperator": "stateless", "FlatMapOperator": "stateless", "MapOperator": "stateless",
    "TimestampsAndWatermarksOperator": "timestamps", "WindowOperator": "window",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'strom.runtime.operators' has no attribute {name!r}")
    return getattr(import_module(f"strom.runtime.operators.{module}"), name)
