"""PyFlink's async I/O: ``AsyncFunction`` and ``AsyncDataStream`` (``pyflink.datastream.async_data_stream``).

An ``AsyncFunction``'s ``async_invoke(value)`` is a coroutine returning a list of results; up to
``capacity`` calls per subtask are in flight at once, on an event loop the operator owns (see
:mod:`strom.runtime.operators.async_wait` for the runtime rules, Flink's ``AsyncWaitOperator``).
An ``AsyncBatchFunction``'s ``async_invoke_batch(inputs)`` gets up to ``batch_size`` records at
once (the ``*_wait_batch`` forms of Flink 2.x; :mod:`strom.runtime.operators.async_batch_wait`).

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
from strom.runtime.operators.async_batch_wait import AsyncBatchWaitOperator
from strom.runtime.operators.async_result import ResultFuture
from strom.runtime.operators.async_wait import AsyncWaitOperator
from strom.time.durations import to_millis

if TYPE_CHECKING:
    from strom.api.datastream import DataStream
    from strom.api.typeinfo import TypeInformation

IN = TypeVar("IN")
OUT = TypeVar("OUT")

OPERATOR_NAME = "async wait operator"  # PyFlink's names for the transformations
BATCH_OPERATOR_NAME = "async batch wait operator"
ORDERED_BATCH_OPERATOR_NAME = "async batch wait operator (ordered)"


class AsyncFunction(Function, Generic[IN, OUT]):
    """Triggers one asynchronous operation per input element (PyFlink's ``AsyncFunction``).

    ``async_invoke(self, value)`` returns the list of results; the Flink 2.x form
    ``async_invoke(self, value, result_future)`` completes the :class:`ResultFuture` instead
    (``result_future.complete([...])``, maybe from a callback after the coroutine returned), and
    ``timeout(self, value, result_future)`` likewise.
    """

    async def async_invoke(self, value: Any) -> list:
        """The results for ``value`` as a list (``[]`` for none). Raise to fail the job."""
        raise NotImplementedError("AsyncFunction.async_invoke must be overridden")

    def timeout(self, value: Any) -> list:
        """Called when ``async_invoke(value)`` did not complete in time; return results to go on
        with (a fallback), or raise. By default it raises a ``TimeoutError`` (the job fails)."""
        raise TimeoutError("Async function call has timed out for input: " + str(value))


class AsyncBatchFunction(Function, Generic[IN, OUT]):
    """Triggers one asynchronous operation per batch of input elements (PyFlink's
    ``AsyncBatchFunction``, for services that answer many requests at once, such as model
    inference)."""

    async def async_invoke_batch(self, inputs: list) -> list:
        """The results for the batch ``inputs`` as one list (any number of results, in the order
        they should go out). Raise to fail the job."""
        raise NotImplementedError("AsyncBatchFunction.async_invoke_batch must be overridden")

    def timeout_batch(self, inputs: list) -> list:
        """Called when ``async_invoke_batch(inputs)`` did not complete in time; return results to
        go on with (a fallback), or raise. By default it raises a ``TimeoutError`` (the job fails)."""
        raise TimeoutError("Async batch function call has timed out for inputs: " + str(inputs))


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

    @staticmethod
    def unordered_wait_batch(data_stream: DataStream, async_batch_function: AsyncBatchFunction,
                             timeout: Any, batch_size: int, batch_timeout: Any = None,
                             capacity: int = 100, output_type: TypeInformation | None = None) -> DataStream:
        """Records go to ``async_batch_function.async_invoke_batch`` in batches; results go out as
        the batches complete (never across a watermark).

        :param timeout: how long one batch call may take (> 0): ``Time``, ``Duration``,
            ``timedelta`` or int ms; then ``timeout_batch(inputs)`` is called.
        :param batch_size: the most records in one batch (> 0); a full batch goes out at once.
        :param batch_timeout: how long (processing time) a partial batch may wait for more
            records; None: until it is full, a watermark comes or input ends.
        :param capacity: the most batches in flight per subtask; more input waits (backpressure).
        """
        return _wait_batch(data_stream, async_batch_function, timeout, batch_size, batch_timeout,
                           capacity, output_type, ordered=False)

    @staticmethod
    def ordered_wait_batch(data_stream: DataStream, async_batch_function: AsyncBatchFunction,
                           timeout: Any, batch_size: int, batch_timeout: Any = None,
                           capacity: int = 100, output_type: TypeInformation | None = None) -> DataStream:
        """``unordered_wait_batch`` whose results go out in input order (batch after batch, each
        batch's results in the order its call returned them)."""
        return _wait_batch(data_stream, async_batch_function, timeout, batch_size, batch_timeout,
                           capacity, output_type, ordered=True)


class AsyncBatchFunctionDescriptor:
    """What the ``*_wait_batch`` forms hand the operator (PyFlink's descriptor, kept for parity)."""

    OutputMode = AsyncFunctionDescriptor.OutputMode

    def __init__(self, async_function: Any, timeout: Any, batch_size: int, batch_timeout: Any,
                 capacity: int, output_mode: AsyncFunctionDescriptor.OutputMode) -> None:
        self.async_function = async_function
        self.timeout = timeout
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self.capacity = capacity
        self.output_mode = output_mode


def _wait_batch(data_stream: Any, async_batch_function: Any, timeout: Any, batch_size: int,
                batch_timeout: Any, capacity: int, output_type: Any, ordered: bool) -> DataStream:
    where = f"AsyncDataStream.{'ordered' if ordered else 'unordered'}_wait_batch"
    _check_function(async_batch_function, "async_invoke_batch", where)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise JobDefinitionError(
            f"{where}: batch_size must be a positive int (the most records in one call), got "
            f"{describe(batch_size)}. Hint: batch_size=32.")
    timeout_ms = to_millis(timeout, f"{where} timeout")
    if timeout_ms <= 0:
        raise JobDefinitionError(f"{where}: the timeout must be positive for async batch calls, got "
                                 f"{timeout_ms} ms. Hint: timeout=Time.seconds(10).")
    batch_timeout_ms = 0 if batch_timeout is None else to_millis(batch_timeout, f"{where} batch_timeout")
    if batch_timeout_ms < 0:
        raise JobDefinitionError(f"{where}: batch_timeout cannot be negative, got {batch_timeout_ms} ms. "
                                 "Hint: None flushes a partial batch only at a watermark or the end.")
    _check_capacity(capacity, where)
    name = ORDERED_BATCH_OPERATOR_NAME if ordered else BATCH_OPERATOR_NAME

    def factory() -> AsyncBatchWaitOperator:
        return AsyncBatchWaitOperator(name, fresh(async_batch_function), timeout_ms, batch_size,
                                      batch_timeout_ms, capacity, ordered)

    return data_stream._udf(Kind.ONE_INPUT, name, factory, output_type)


def _check_function(function: Any, method: str, where: str) -> None:
    """The function is an instance whose ``method`` is a coroutine function."""
    if isinstance(function, type):
        raise JobDefinitionError(
            f"{where}: got the class {function.__name__}, not an instance. "
            f"Hint: pass {function.__name__}() instead of {function.__name__}.")
    if not inspect.iscoroutinefunction(getattr(function, method, None)):
        arg = "inputs" if method.endswith("_batch") else "value"
        raise JobDefinitionError(
            f"{where}: method '{method}' of {describe(function)} ({type(function).__name__}) "
            "should be declared as 'async def' (a coroutine function returning a list of "
            f"results). Hint: write 'async def {method}(self, {arg})'.")


def _check_capacity(capacity: Any, where: str) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
        raise JobDefinitionError(
            f"{where}: capacity must be a positive int (the most calls in flight per subtask), "
            f"got {describe(capacity)}. Hint: the default is 100.")


def _apply(data_stream: DataStream, async_function: Any, timeout: Any, capacity: int,
           output_type: Any, mode: AsyncFunctionDescriptor.OutputMode,
           retry_strategy: Any = NO_RETRY_STRATEGY) -> DataStream:
    where = f"AsyncDataStream.{'ordered' if mode is mode.ORDERED else 'unordered'}_wait"
    if retry_strategy is not NO_RETRY_STRATEGY:
        where += "_with_retry"
    _check_function(async_function, "async_invoke", where)
    timeout_ms = to_millis(timeout, f"{where} timeout")
    _check_capacity(capacity, where)
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


__all__ = ["AsyncBatchFunction", "AsyncBatchFunctionDescriptor", "AsyncDataStream", "AsyncFunction",
           "AsyncFunctionDescriptor", "ResultFuture"]
