"""The window functions users implement: PyFlink's ``WindowFunction``, ``ProcessWindowFunction``,
``AllWindowFunction`` and ``ProcessAllWindowFunction``.

They run when a pane fires and emit by returning an iterable or ``yield``-ing (``yield tag,
value`` goes to a side output). The elements they get are all elements of the pane, or, after
an incremental ``reduce``/``aggregate``, a one-element list holding the pre-aggregated value.
Records they emit carry the window's ``max_timestamp()``.

Example:
    >>> class CountPerWindow(ProcessWindowFunction):
    ...     def process(self, key, context, elements):
    ...         yield key, context.window().start, sum(1 for _ in elements)
"""
from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

IN = TypeVar("IN")
OUT = TypeVar("OUT")
KEY = TypeVar("KEY")
W = TypeVar("W")

__all__ = ["AllWindowFunction", "KeyedStateStore", "ProcessAllWindowFunction",
           "ProcessWindowFunction", "WindowFunction"]


class KeyedStateStore(abc.ABC):
    """Access to keyed state from a window function's context (per window or global)."""

    @abc.abstractmethod
    def get_state(self, state_descriptor: Any) -> Any: ...

    @abc.abstractmethod
    def get_list_state(self, state_descriptor: Any) -> Any: ...

    @abc.abstractmethod
    def get_map_state(self, state_descriptor: Any) -> Any: ...

    @abc.abstractmethod
    def get_reducing_state(self, state_descriptor: Any) -> Any: ...

    @abc.abstractmethod
    def get_aggregating_state(self, state_descriptor: Any) -> Any: ...


class _WindowFunctionBase(abc.ABC):  # noqa: B024 - only optional hooks, as api's Function
    """The optional ``open``/``close`` hooks every window function has.

    The window functions do not inherit ``strom.api.functions.Function`` (``strom.window``
    must not import the api); the api registers them as virtual subclasses instead, so
    ``isinstance(f, Function)`` still holds.
    """

    def open(self, runtime_context: Any) -> None:  # noqa: B027
        """Called once per subtask before the first element."""

    def close(self) -> None:  # noqa: B027
        """Called once per subtask at the end, also after a failure."""


class WindowFunction(_WindowFunctionBase, Generic[IN, OUT, KEY, W]):
    """Evaluates a keyed window: ``apply(key, window, inputs)`` returns/yields the outputs."""

    @abc.abstractmethod
    def apply(self, key: Any, window: Any, inputs: Iterable[Any]) -> Iterable[Any] | None: ...


class AllWindowFunction(_WindowFunctionBase, Generic[IN, OUT, W]):
    """Evaluates a non-keyed window: ``apply(window, inputs)``."""

    @abc.abstractmethod
    def apply(self, window: Any, inputs: Iterable[Any]) -> Iterable[Any] | None: ...


class ProcessWindowFunction(_WindowFunctionBase, Generic[IN, OUT, KEY, W]):
    """Evaluates a keyed window with a context: window, times, per-window and global state."""

    class Context(abc.ABC, Generic[W]):
        @abc.abstractmethod
        def window(self) -> Any:
            """The window being evaluated."""

        @abc.abstractmethod
        def current_processing_time(self) -> int: ...

        @abc.abstractmethod
        def current_watermark(self) -> int: ...

        @abc.abstractmethod
        def window_state(self) -> KeyedStateStore:
            """State of this key in this window; clean it up in :meth:`clear`."""

        @abc.abstractmethod
        def global_state(self) -> KeyedStateStore:
            """State of this key across windows."""

    @abc.abstractmethod
    def process(self, key: Any, context: ProcessWindowFunction.Context,
                elements: Iterable[Any]) -> Iterable[Any] | None: ...

    def clear(self, context: ProcessWindowFunction.Context) -> None:  # noqa: B027
        """The window is disposed of (its cleanup time passed): delete per-window state."""


class ProcessAllWindowFunction(_WindowFunctionBase, Generic[IN, OUT, W]):
    """Evaluates a non-keyed window with a context."""

    Context = ProcessWindowFunction.Context

    @abc.abstractmethod
    def process(self, context: ProcessWindowFunction.Context,
                elements: Iterable[Any]) -> Iterable[Any] | None: ...

    def clear(self, context: ProcessWindowFunction.Context) -> None:  # noqa: B027
        """The window is disposed of: delete per-window state."""
