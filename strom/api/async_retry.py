"""Retries of async I/O calls: PyFlink's ``AsyncRetryStrategy``/``AsyncRetryPredicate`` and the
strategies of ``pyflink.datastream.async_retry_strategies`` (predicates of ``async_retry_predicates``).

A call is tried again when its result satisfies the result predicate or its exception the
exception predicate, while ``can_retry(attempts)`` holds (attempts count from 1), after
``get_backoff_time_millis(attempts)`` ms on the task's clock; the call's timeout covers every
attempt. When no retry is left, the last result is emitted or the last exception fails the job.

Example:
    >>> strategy = AsyncRetryStrategy.fixed_delay(3, 100, empty_result_predicate,
    ...                                           has_exception_predicate)
    >>> AsyncDataStream.unordered_wait_with_retry(ds, Lookup(), Time.seconds(5), strategy)  # doctest: +SKIP
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from strom.errors import JobDefinitionError, describe

OUT = TypeVar("OUT")


class AsyncRetryPredicate(abc.ABC, Generic[OUT]):
    """When to try a call again: on its result, on its exception (None: never)."""

    @abc.abstractmethod
    def result_predicate(self) -> Callable[[list], bool] | None:
        """``results -> bool``: True to try again; None never retries on a result."""

    @abc.abstractmethod
    def exception_predicate(self) -> Callable[[Exception], bool] | None:
        """``exception -> bool``: True to try again; None never retries on an exception."""


class AsyncRetryStrategy(abc.ABC, Generic[OUT]):
    """How often and after which delay a call is tried again."""

    @abc.abstractmethod
    def can_retry(self, current_attempts: int) -> bool:
        """Whether another attempt may follow attempt ``current_attempts`` (counted from 1)."""

    @abc.abstractmethod
    def get_backoff_time_millis(self, current_attempts: int) -> int:
        """The delay (ms) before the attempt after ``current_attempts``."""

    @abc.abstractmethod
    def get_retry_predicate(self) -> AsyncRetryPredicate[OUT]:
        """The predicate deciding whether a result or exception is retried."""

    @staticmethod
    def no_restart() -> AsyncRetryStrategy:
        """Never retry (PyFlink's name)."""
        return NO_RETRY_STRATEGY

    @staticmethod
    def fixed_delay(max_attempts: int, backoff_time_millis: int,
                    result_predicate: Callable[[list], bool] | None,
                    exception_predicate: Callable[[Exception], bool] | None) -> AsyncRetryStrategy:
        """Up to ``max_attempts`` retries, ``backoff_time_millis`` ms apart."""
        return FixedDelayRetryStrategy(max_attempts, backoff_time_millis, result_predicate,
                                       exception_predicate)

    @staticmethod
    def exponential_backoff(max_attempts: int, initial_delay: int, max_retry_delay: int,
                            multiplier: float, result_predicate: Callable[[list], bool] | None,
                            exception_predicate: Callable[[Exception], bool] | None) -> AsyncRetryStrategy:
        """Up to ``max_attempts`` retries; the delay starts at ``initial_delay`` ms and is multiplied
        by ``multiplier`` each time, up to ``max_retry_delay`` ms."""
        return ExponentialBackoffDelayRetryStrategy(max_attempts, initial_delay, max_retry_delay,
                                                    multiplier, result_predicate, exception_predicate)


class RetryPredicate(AsyncRetryPredicate, Generic[OUT]):
    """A predicate from two optional callables."""

    def __init__(self, result_predicate: Callable[[list], bool] | None,
                 exception_predicate: Callable[[Exception], bool] | None) -> None:
        self._result_predicate = result_predicate
        self._exception_predicate = exception_predicate

    def result_predicate(self) -> Callable[[list], bool] | None:
        return self._result_predicate

    def exception_predicate(self) -> Callable[[Exception], bool] | None:
        return self._exception_predicate


class NoRetryStrategy(AsyncRetryStrategy, Generic[OUT]):
    """Never retries."""

    def can_retry(self, current_attempts: int) -> bool:
        return False

    def get_backoff_time_millis(self, current_attempts: int) -> int:
        return -1

    def get_retry_predicate(self) -> AsyncRetryPredicate[OUT]:
        return RetryPredicate(None, None)


def _positive(value: Any, name: str, strategy: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise JobDefinitionError(f"{strategy}: {name} should be greater than zero, got {describe(value)}.")


class FixedDelayRetryStrategy(AsyncRetryStrategy, Generic[OUT]):
    """Up to ``max_attempts`` retries, a fixed delay apart."""

    def __init__(self, max_attempts: int, backoff_time_millis: int,
                 result_predicate: Callable[[list], bool] | None,
                 exception_predicate: Callable[[Exception], bool] | None) -> None:
        _positive(max_attempts, "max_attempts", "FixedDelayRetryStrategy")
        _positive(backoff_time_millis, "backoff_time_millis", "FixedDelayRetryStrategy")
        self._max_attempts = max_attempts
        self._backoff_time_millis = backoff_time_millis
        self._result_predicate = result_predicate
        self._exception_predicate = exception_predicate

    def can_retry(self, current_attempts: int) -> bool:
        return current_attempts <= self._max_attempts

    def get_backoff_time_millis(self, current_attempts: int) -> int:
        return self._backoff_time_millis

    def get_retry_predicate(self) -> AsyncRetryPredicate[OUT]:
        return RetryPredicate(self._result_predicate, self._exception_predicate)


class ExponentialBackoffDelayRetryStrategy(AsyncRetryStrategy, Generic[OUT]):
    """Up to ``max_attempts`` retries, the delay growing by ``multiplier`` up to ``max_retry_delay``."""

    def __init__(self, max_attempts: int, initial_delay: int, max_retry_delay: int, multiplier: float,
                 result_predicate: Callable[[list], bool] | None,
                 exception_predicate: Callable[[Exception], bool] | None) -> None:
        for value, name in ((max_attempts, "max_attempts"), (initial_delay, "initial_delay"),
                            (max_retry_delay, "max_retry_delay"), (multiplier, "multiplier")):
            _positive(value, name, "ExponentialBackoffDelayRetryStrategy")
        self._max_attempts = max_attempts
        self._initial_delay = initial_delay
        self._max_retry_delay = max_retry_delay
        self._multiplier = multiplier
        self._result_predicate = result_predicate
        self._exception_predicate = exception_predicate

    def can_retry(self, current_attempts: int) -> bool:
        return current_attempts <= self._max_attempts

    def get_backoff_time_millis(self, current_attempts: int) -> int:
        """``initial_delay * multiplier ** (attempts - 1)``, at most ``max_retry_delay`` (the same
        delays as PyFlink's, computed per attempt rather than kept across elements)."""
        delay = float(self._initial_delay)
        for _ in range(max(0, current_attempts - 1)):
            delay = min(delay * self._multiplier, self._max_retry_delay)
            if delay >= self._max_retry_delay:
                break
        return int(delay)

    def get_retry_predicate(self) -> AsyncRetryPredicate[OUT]:
        return RetryPredicate(self._result_predicate, self._exception_predicate)


NO_RETRY_STRATEGY: AsyncRetryStrategy = NoRetryStrategy()


def empty_result_predicate(result: list | None) -> bool:
    """Retry on an empty (or missing) result."""
    return result is None or len(result) == 0


def has_exception_predicate(error: BaseException | None) -> bool:
    """Retry on any exception."""
    return error is not None


def exception_type_predicate(error: BaseException | None, expected_error_type: type) -> bool:
    """Retry on exceptions of ``expected_error_type`` (bind it with ``functools.partial``)."""
    return isinstance(error, expected_error_type)


__all__ = ["AsyncRetryPredicate", "AsyncRetryStrategy", "RetryPredicate", "NoRetryStrategy",
           "FixedDelayRetryStrategy", "ExponentialBackoffDelayRetryStrategy", "NO_RETRY_STRATEGY",
           "empty_result_predicate", "has_exception_predicate", "exception_type_predicate"]
