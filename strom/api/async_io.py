"""PyFlink's async I/O: ``AsyncFunction`` and ``AsyncDataStream`` (``pyflink.datastream.async_data_stream``).

An ``AsyncFunction``'s ``async_invoke(value)`` is a coroutine returning a list of results; up to
``capacity`` calls per subtask are in flight at once, on an event loop the operator owns (see
:mod:`strom.runtime.operators.async_wait` for the runtime rules, Flink's ``AsyncWaitOperator``).

Example:
    >>> class Lookup(AsyncFunction):  # doctest: +SKIP
    ...     async def async_invoke(self, value):
    ...         return [await client.get(value)]
    >>> AsyncDataStream.unordered_wait(ds, Lookup(), Time.seconds(1), 100)  # doctest: +SKIP
"""
from __future__ import annotations

import enum
import inspect
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from strom.api._functions import fresh
from strom.api.functions import Function
from strom.errors import JobDefinitionError, UnsupportedError, describe
from strom.graph.transformations import Kind
from strom.runtime.operators.async_wait import AsyncWaitOperator
from strom.time.durations import to_millis

if TYPE_CHECKING:
    from strom.api.datastream import DataStream
    from strom.api.typeinfo import TypeInformation

IN = TypeVar("IN")
OUT = TypeVar("OUT")

OPERATOR_NAME = "async wait operator"  # PyFlink's name for the transformation


class AsyncFunction(Function, Generic[IN, OUT]):
    """Triggers one asynchronous operation per input element (PyFlink's ``AsyncFunction``)."""

    async def async_invoke(self, value: Any) -> list:
        """The results for ``value`` as a list (``[]`` for none). Raise to fail the job."""
        raise NotImplementedError("AsyncFunction.async_invoke must be overridden")

    def timeout(self, value: Any) -> list:
        """Called when ``async_invoke(value)`` did not complete in time; return results to go on
        with (a fallback), or raise. By default it raises a ``TimeoutError`` (the job fails)."""
        raise TimeoutError("Async function call has timed out for input: " + str(value))


class AsyncFunctionDescriptor:
    """What ``AsyncDataStream`` hands the operator (PyFlink's descriptor, kept for parity)."""

    class OutputMode(enum.Enum):
        ORDERED = 0
        UNORDERED = 1

    def __init__(self, async_function: Any, timeout: Any, capacity: int, async_retry_strategy: Any,
                 output_mode: AsyncFunctionDescriptor.OutputMode) -> None:
        self.async_function = async_function
        self.timeout = timeout
        self.capacity = capacity
        self.async_retry_strategy = async_retry_strategy
        self.output_mode = output_mode


class AsyncDataStream:
    """Applies an :class:`AsyncFunction` to a data stream (PyFlink's ``AsyncDataStream``)."""

    @staticmethod
    def unordered_wait(data_stream: DataStream, async_function: AsyncFunction, timeout: Any,
                       capacity: int = 100, output_type: TypeInformation | None = None) -> DataStream:
        """Results go out as their calls complete (never across a watermark).

        :param timeout: ``Time``, ``Duration``, ``timedelta`` or int ms; <= 0 means no timeout.
        :param capacity: the most calls in flight per subtask; more input waits (backpressure).
        """
        return _apply(data_stream, async_function, timeout, capacity, output_type,
                      AsyncFunctionDescriptor.OutputMode.UNORDERED)

    @staticmethod
    def ordered_wait(data_stream: DataStream, async_function: AsyncFunction, timeout: Any,
                     capacity: int = 100, output_type: TypeInformation | None = None) -> DataStream:
        """Results go out in input order.

        :param timeout: ``Time``, ``Duration``, ``timedelta`` or int ms; <= 0 means no timeout.
        :param capacity: the most calls in flight per subtask; more input waits (backpressure).
        """
        return _apply(data_stream, async_function, timeout, capacity, output_type,
                      AsyncFunctionDescriptor.OutputMode.ORDERED)

    @staticmethod
    def unordered_wait_with_retry(data_stream: DataStream, async_function: AsyncFunction, timeout: Any,
                                  async_retry_strategy: Any, capacity: int = 100,
                                  output_type: TypeInformation | None = None) -> DataStream:
        """Not yet in strom: async I/O with retries (raises ``UnsupportedError``)."""
        raise UnsupportedError(
            "AsyncDataStream.unordered_wait_with_retry: retries of async calls are not in strom yet. "
            "Hint: retry inside async_invoke, or use unordered_wait (docs/compatibility.md).")

    @staticmethod
    def ordered_wait_with_retry(data_stream: DataStream, async_function: AsyncFunction, timeout: Any,
                                async_retry_strategy: Any, capacity: int = 100,
                                output_type: TypeInformation | None = None) -> DataStream:
        """Not yet in strom: async I/O with retries (raises ``UnsupportedError``)."""
        raise UnsupportedError(
            "AsyncDataStream.ordered_wait_with_retry: retries of async calls are not in strom yet. "
            "Hint: retry inside async_invoke, or use ordered_wait (docs/compatibility.md).")


def _apply(data_stream: DataStream, async_function: Any, timeout: Any, capacity: int,
           output_type: Any, mode: AsyncFunctionDescriptor.OutputMode) -> DataStream:
    where = f"AsyncDataStream.{'ordered' if mode is mode.ORDERED else 'unordered'}_wait"
    if isinstance(async_function, type):
        raise JobDefinitionError(
            f"{where}: got the class {async_function.__name__}, not an instance. "
            f"Hint: pass {async_function.__name__}() instead of {async_function.__name__}.")
    invoke = getattr(async_function, "async_invoke", None)
    if not inspect.iscoroutinefunction(invoke):
        raise JobDefinitionError(
            f"{where}: method 'async_invoke' of {describe(async_function)} "
            f"({type(async_function).__name__}) should be declared as 'async def' (a coroutine "
            "function returning a list of results). Hint: write 'async def async_invoke(self, value)'.")
    timeout_ms = to_millis(timeout, f"{where} timeout")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
        raise JobDefinitionError(
            f"{where}: capacity must be a positive int (the most calls in flight per subtask), "
            f"got {describe(capacity)}. Hint: the default is 100.")
    ordered = mode is AsyncFunctionDescriptor.OutputMode.ORDERED

    def factory() -> AsyncWaitOperator:
        return AsyncWaitOperator(OPERATOR_NAME, fresh(async_function), timeout_ms, capacity, ordered)

    return data_stream._udf(Kind.ONE_INPUT, OPERATOR_NAME, factory, output_type)


__all__ = ["AsyncDataStream", "AsyncFunction", "AsyncFunctionDescriptor"]
