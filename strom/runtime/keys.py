"""Key selectors on the per-record path: recognising field access, and hashability checks.

Most key selectors only pick a field: ``key_by(lambda e: e[0])``. :func:`field_selector` turns
such a function into ``operator.itemgetter(0)``, which computes exactly ``e[0]`` (the same
``__getitem__`` call, the same exceptions) without a Python frame per record; fused code then
reads the field inline (:func:`key_expression`). Anything else is left as it is.

Keys must be hashable (state, timers and key groups are dicts keyed by them). ``HASHABLE`` are
the types whose instances always are, so the per-record check calls ``hash`` only for others:

    >>> sel = field_selector(lambda e: e[0])
    >>> sel(("a", 1)), type(sel).__name__
    ('a', 'itemgetter')
"""
from __future__ import annotations

import dis
import inspect
import operator
import types
from typing import Any

HASHABLE = frozenset({str, int, float, bool, bytes})
"""Types whose instances are always hashable: no ``hash(key)`` check is needed for them."""

_LOADS_ARG = ("LOAD_FAST", "LOAD_FAST_BORROW")
_LOADS_CONST = ("LOAD_CONST", "LOAD_SMALL_INT")
_IGNORED = ("RESUME", "CACHE", "NOP")
_FLAGS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE \
    | inspect.CO_ASYNC_GENERATOR


def _field_of(fn: Any) -> tuple[bool, Any]:
    """(True, c) when ``fn`` is a plain function whose whole body is ``return arg[c]``."""
    if type(fn) is not types.FunctionType:
        return False, None
    code = fn.__code__
    if code.co_argcount != 1 or code.co_kwonlyargcount or code.co_flags & _FLAGS or code.co_freevars:
        return False, None
    ops = [i for i in dis.get_instructions(code) if i.opname not in _IGNORED]
    if len(ops) != 4:
        return False, None
    load, const, subscr, ret = ops
    if load.opname not in _LOADS_ARG or load.argval != code.co_varnames[0]:
        return False, None
    if const.opname not in _LOADS_CONST:
        return False, None
    if not (subscr.opname == "BINARY_SUBSCR" or (subscr.opname == "BINARY_OP" and subscr.argrepr == "[]")):
        return False, None
    if ret.opname != "RETURN_VALUE":
        return False, None
    return True, const.argval


def field_selector(fn: Any) -> Any:
    """``operator.itemgetter(c)`` for a function that is exactly ``lambda v: v[c]``; else ``fn``."""
    is_field, field = _field_of(fn)
    return operator.itemgetter(field) if is_field else fn


def selected_field(selector: Any) -> tuple[bool, Any]:
    """(True, c) when ``selector`` is ``itemgetter(c)`` with a single item."""
    if type(selector) is operator.itemgetter:
        items = selector.__reduce__()[1]
        if len(items) == 1:
            return True, items[0]
    return False, None


def key_expression(selector: Any, names: dict[str, Any], var: str) -> str:
    """Source (fusion template syntax, ``{p}`` = the step's prefix) computing the key of ``var``;
    binds what it needs in ``names``: ``var[{p}key_field]`` for a field selector, else a call."""
    is_field, field = selected_field(selector)
    if is_field:
        names["key_field"] = field
        return f"{var}[{{p}}key_field]"
    names["ks"] = selector
    return f"{{p}}ks({var})"


class ListKey(list):
    """A list used as a key: PyFlink accepts lists as keys (it hashes their pickled bytes), so
    strom turns a key selector's list into this hashable list. It equals the list and is a
    ``list``; nested lists are ListKeys too. Do not modify a key."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(("ListKey", *self))


def hashable_key(key: Any) -> Any:
    """``key``, with the lists in it (at the top or inside tuples) made :class:`ListKey` s;
    anything else is returned as it is (and fails later if it is unhashable)."""
    kind = type(key)
    if kind is list:
        return ListKey([hashable_key(item) for item in key])
    if kind is tuple:
        try:
            hash(key)
        except TypeError:
            return tuple(hashable_key(item) for item in key)
    return key


def accepting_lists(selector: Any) -> Any:
    """``selector`` with list results made hashable (:func:`hashable_key`). A plain field
    selector (``itemgetter``) is returned as it is, keeping the per-record fast path."""
    if type(selector) is operator.itemgetter:
        return selector

    def key_of(value: Any, _selector: Any = selector, _plain: frozenset = HASHABLE) -> Any:
        key = _selector(value)
        return key if type(key) in _plain else hashable_key(key)

    key_of.__wrapped__ = selector  # type: ignore[attr-defined]
    return key_of
