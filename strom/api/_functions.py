"""Turning what the user passed (function object, plain callable) into what operators call."""
from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

from strom.errors import JobDefinitionError, describe


def resolve(func: Any, method: str, what: str, base: str) -> Callable:
    """``func.method`` for a function object, ``func`` itself for a plain callable."""
    if isinstance(func, type) and callable(getattr(func, method, None)):
        msg = (f"{what}: got the class {func.__name__}, not an instance. "
               f"Hint: pass {func.__name__}() instead of {func.__name__}.")
        raise JobDefinitionError(msg)
    bound = getattr(func, method, None)
    if callable(bound):
        return bound
    if callable(func):
        return func  # functions, lambdas, and types such as str or int
    msg = (f"{what}: expected a {base} or a callable, got {describe(func)} "
           f"({type(func).__name__}). Hint: pass a function, a lambda or a {base} instance.")
    raise JobDefinitionError(msg)


def require_methods(func: Any, methods: tuple[str, ...], what: str, base: str) -> None:
    """Fail at graph-building time when a function object lacks a required method."""
    missing = [m for m in methods if not callable(getattr(func, m, None))]
    if missing:
        msg = (f"{what}: expected a {base} implementing {', '.join(methods)}; "
               f"{describe(func)} ({type(func).__name__}) lacks {', '.join(missing)}.")
        raise JobDefinitionError(msg)


def positional_arity(fn: Callable) -> int:
    """How many positional parameters ``fn`` takes (bound ``self`` excluded); -1 if unknown."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return -1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return -1
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def fresh(func: Any) -> Any:
    """A private copy of a user function for one subtask (Flink deserializes one per subtask).

    Without it, parallel subtasks would share the attributes ``open`` sets (state handles).
    Plain functions and lambdas are returned as they are; objects that cannot be copied (they
    hold a lock or a socket) are shared, as a last resort.
    """
    if inspect.isroutine(func):
        return func
    try:
        return copy.deepcopy(func)
    except Exception:  # noqa: BLE001 - uncopyable objects are shared (documented above)
        return func
