"""``ResultFuture``: how an ``AsyncFunction`` may complete a call explicitly (Flink 2.x's form).

PyFlink 2.x accepts two forms of ``async_invoke``: ``async def async_invoke(self, value)``
returning the list of results, and ``async def async_invoke(self, value, result_future)`` that
completes ``result_future`` with ``complete([...])`` or ``complete_exceptionally(error)``, maybe
after the coroutine returned (from a callback of a client library); ``timeout(self, value,
result_future)`` likewise. :func:`takes_result_future` tells the forms apart;
:class:`~strom.runtime.operators.async_wait.AsyncWaitOperator` hands a ``ResultFuture`` to the
second form and waits for its completion.

Only the first completion counts (as in Flink); ``complete`` with anything but a list fails the
call, naming what it got.
"""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

OUT = TypeVar("OUT")


class ResultFuture(Generic[OUT]):
    """Collects the results of one asynchronous call (PyFlink's ``ResultFuture``)."""

    __slots__ = ("_loop", "_waiter", "done", "result", "error")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._waiter: asyncio.Future | None = loop.create_future() if loop is not None else None
        self.done = False
        self.result: list | None = None
        self.error: BaseException | None = None

    def complete(self, result: list) -> None:
        """Complete the call with ``result``, the list of its results (``[]`` for none)."""
        if not isinstance(result, list):
            raise TypeError(
                "The 'result_future' of AsyncFunction should be completed with data of list type, "
                f"got {result!r} ({type(result).__name__}). Hint: complete([result]) for one result.")
        self._finish(result, None)

    def complete_exceptionally(self, error: BaseException) -> None:
        """Fail the call with ``error`` (the job fails, or a retry strategy tries again)."""
        self._finish(None, error)

    def _finish(self, result: list | None, error: BaseException | None) -> None:
        if self.done:
            return
        self.done, self.result, self.error = True, result, error
        waiter, loop = self._waiter, self._loop
        if waiter is None or loop is None:
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            _wake(waiter)
        elif not loop.is_closed():  # completed from another thread (a client library's callback)
            try:
                loop.call_soon_threadsafe(_wake, waiter)
            except RuntimeError:
                pass  # the loop closed meanwhile: the operator was closed and its calls cancelled

    async def wait(self) -> list:
        """The results once the call is completed (on the loop the future was made for)."""
        if not self.done:
            assert self._waiter is not None
            await self._waiter
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def takes_result_future(method: Callable[..., Any]) -> bool:
    """Whether ``method`` (bound) takes a ``result_future`` after the value: two positional
    parameters, as ``async_invoke(self, value, result_future)``."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


__all__ = ["ResultFuture", "takes_result_future"]
