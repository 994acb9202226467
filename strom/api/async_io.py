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
from strom.api.async_retry import NO_RETRY_STRATEGY, AsyncRetryStrategy
from strom.api.functions import Function
from strom.errors import JobDefinitionError, describe
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
                                  async_retry_strategy: AsyncRetryStrategy, capacity: int = 100,
                                  output_type: TypeInformation | None = None) -> DataStream:
        """``unordered_wait`` whose calls are tried again as ``async_retry_strategy`` says (see
        :mod:`strom.api.async_retry`); the timeout (required, > 0) covers every attempt."""
        return _apply(data_stream, async_function, timeout, capacity, output_type,
                      AsyncFunctionDescriptor.OutputMode.UNORDERED, async_retry_strategy)

    @staticmethod
    def ordered_wait_with_retry(data_stream: DataStream, async_function: AsyncFunction, timeout: Any,
                                async_retry_strategy: AsyncRetryStrategy, capacity: int = 100,
                                output_type: TypeInformation | None = None) -> DataStream:
        """``ordered_wait`` whose calls are tried again as ``async_retry_strategy`` says (see
        :mod:`strom.api.async_retry`); the timeout (required, > 0) covers every attempt."""
        return _apply(data_stream, async_function, timeout, capacity, output_type,
                      AsyncFunctionDescriptor.OutputMode.ORDERED, async_retry_strategy)


def _apply(data_stream: DataStream, async_function: Any, timeout: Any, capacity: int,
           output_type: Any, mode: AsyncFunctionDescriptor.OutputMode,
           retry_strategy: Any = NO_RETRY_STRATEGY) -> DataStream:
    where = f"AsyncDataStream.{'ordered' if mode is mode.ORDERED else 'unordered'}_wait"
    if retry_strategy is not NO_RETRY_STRATEGY:
        where += "_with_retry"
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
    _check_retry(retry_strategy, timeout_ms, where)
    ordered = mode is AsyncFunctionDescriptor.OutputMode.ORDERED
    retry = None if retry_strategy is NO_RETRY_STRATEGY else retry_strategy

    def factory() -> AsyncWaitOperator:
        return AsyncWaitOperator(OPERATOR_NAME, fresh(async_function), timeout_ms, capacity, ordered,
                                 fresh(retry) if retry is not None else None)

    return data_stream._udf(Kind.ONE_INPUT, OPERATOR_NAME, factory, output_type)


def _check_retry(strategy: Any, timeout_ms: int, where: str) -> None:
    """PyFlink's checks of a retry strategy, as JobDefinitionErrors."""
    if strategy is None:
        raise JobDefinitionError(f"{where}: the async retry strategy should not be None. "
                                 "Hint: AsyncRetryStrategy.no_restart() for none.")
    if strategy is NO_RETRY_STRATEGY:
        return
    if not isinstance(strategy, AsyncRetryStrategy):
        raise JobDefinitionError(
            f"{where}: expected an AsyncRetryStrategy, got {describe(strategy)} ({type(strategy).__name__}). "
            "Hint: AsyncRetryStrategy.fixed_delay(...) or exponential_backoff(...).")
    if timeout_ms <= 0:
        raise JobDefinitionError(f"{where}: a timeout (> 0) must be configured with a retry strategy; "
                                 f"got {timeout_ms} ms. Hint: it bounds all attempts of a call.")
    if strategy.get_retry_predicate() is None:
        raise JobDefinitionError(f"{where}: the retry predicate of {type(strategy).__name__} is None.")


__all__ = ["AsyncDataStream", "AsyncFunction", "AsyncFunctionDescriptor"]
