"""``DataStream.project``'s map: the chosen fields of a tuple or Row, in the given order."""
from __future__ import annotations

from typing import Any

from strom.api.row import Row
from strom.errors import UserFunctionError, describe


class Projection:
    """``project``'s map: the chosen fields of a tuple (a tuple) or Row (a Row, names kept)."""

    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes

    def __call__(self, value: Any) -> Any:
        indexes = self.indexes
        try:
            if isinstance(value, Row):
                row = Row(*(value[i] for i in indexes))
                names = value._fields
                if names is not None:
                    row.set_field_names([names[i] for i in indexes])
                row.set_row_kind(value.get_row_kind())
                return row
            if isinstance(value, (tuple, list)):
                return tuple(value[i] for i in indexes)
        except IndexError:
            msg = (f"project{indexes}: element {describe(value)} has no field "
                   f"{max(indexes)}; project needs elements with at least {max(indexes) + 1} fields")
            raise UserFunctionError(msg, operator="Projection", element=value) from None
        msg = (f"project{indexes}: expected a tuple or Row element, got {describe(value)} "
               f"({type(value).__name__}). Hint: map to a tuple first")
        raise UserFunctionError(msg, operator="Projection", element=value)
