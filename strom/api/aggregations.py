"""Field aggregations of ``KeyedStream`` (sum, min, max, min_by, max_by) as reduce functions.

A field is addressed by position (tuples, lists, Rows) or by name (Rows, dicts, objects with
attributes). ``sum``/``min``/``max`` keep the first element's other fields and replace the
aggregated one; ``min_by``/``max_by`` keep the whole element holding the extreme (the first
one on ties), as Flink does. A plain number is aggregated as a whole when the position is 0.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from strom.api.row import Row
from strom.errors import UserFunctionError, describe


def _getter(field: int | str) -> Callable[[Any], Any]:
    def get(value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and field == 0:
            return value
        try:
            if isinstance(field, str) and not isinstance(value, (dict, Row)):
                return getattr(value, field)
            return value[field]
        except (IndexError, KeyError, TypeError, AttributeError) as exc:
            msg = (f"aggregation: cannot read field {field!r} of element {describe(value)} "
                   f"({type(value).__name__}): {exc}. Hint: pass a valid position or field name.")
            raise UserFunctionError(msg, operator="aggregation", element=value) from exc
    return get


def _setter(field: int | str) -> Callable[[Any, Any], Any]:
    def put(element: Any, new: Any) -> Any:
        if isinstance(element, (int, float)) and not isinstance(element, bool):
            return new
        if isinstance(element, tuple) and not isinstance(element, Row):
            items = list(element)
            items[field] = new  # type: ignore[index]
            return type(element)(items) if type(element) is tuple else type(element)(*items)
        if isinstance(element, Row):
            values = list(element._values)
            index = field if isinstance(field, int) else element._fields.index(field)
            values[index] = new
            row = Row(*values)
            if element._fields is not None:
                row.set_field_names(element._fields)
            row.set_row_kind(element.get_row_kind())
            return row
        if isinstance(element, list):
            items = list(element)
            items[field] = new  # type: ignore[index]
            return items
        if isinstance(element, dict):
            return {**element, field: new}
        clone = copy.copy(element)
        setattr(clone, field, new)  # type: ignore[arg-type]
        return clone
    return put


def aggregation(kind: str, field: int | str) -> Callable[[Any, Any], Any]:
    """A reduce function ``(current, new) -> updated`` for ``kind`` on ``field``."""
    get, put = _getter(field), _setter(field)
    if kind == "sum":
        return lambda cur, new: put(cur, get(cur) + get(new))
    if kind == "min":
        return lambda cur, new: put(cur, min(get(cur), get(new)))
    if kind == "max":
        return lambda cur, new: put(cur, max(get(cur), get(new)))
    if kind == "min_by":
        return lambda cur, new: new if get(new) < get(cur) else cur
    if kind == "max_by":
        return lambda cur, new: new if get(new) > get(cur) else cur
    raise ValueError(kind)
