"""``Row`` and ``RowKind``: PyFlink's ``pyflink.common.types`` with the same semantics.

Followed from PyFlink 2.3 (``pyflink/common/types.py`` in the ``apache-flink`` wheel):

* ``Row(1, 'a')`` is positional; ``Row(name='a', age=1)`` is named and keeps the given order
  (PyFlink before 1.16 sorted keyword names; current PyFlink does not).
* ``Row('name', 'age')`` used as a factory: ``Row('name', 'age')('Alice', 11)`` gives
  ``Row(name='Alice', age=11)``.
* Named rows compare equal field by field whatever the field order; the row kind takes part
  in equality. ``repr`` is ``Row(name='a', age=1)`` for named rows and ``<Row(1, 'a')>`` for
  positional ones; ``str`` is the same as ``repr``.
* ``str(RowKind.INSERT)`` is ``'+I'`` (likewise ``-U``, ``+U``, ``-D``).

Deliberate difference: looking up a missing field name with ``row['x']`` raises ``KeyError``
(PyFlink raises ``ValueError``).
"""
from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

from strom.errors import InvalidTypeError, UnsupportedError


class RowKind(Enum):
    """The change a row describes in a changelog; ``str()`` gives Flink's short string."""

    INSERT = 0
    UPDATE_BEFORE = 1
    UPDATE_AFTER = 2
    DELETE = 3

    def __str__(self) -> str:
        return _SHORT_STRINGS[self]

    def to_j_row_kind(self) -> Any:
        """Java's ``RowKind``: strom has none (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError(f"RowKind.{self.name}.to_j_row_kind(): strom runs without a JVM; "
                               "hint: use the RowKind itself")


_SHORT_STRINGS = {RowKind.INSERT: "+I", RowKind.UPDATE_BEFORE: "-U",
                  RowKind.UPDATE_AFTER: "+U", RowKind.DELETE: "-D"}


def _create_row(fields: list[str] | None, values: tuple, row_kind: RowKind) -> Row:
    """Rebuild a row (used by pickling and by the factory form)."""
    row = Row(*values)
    row._fields = None if fields is None else list(fields)
    row._row_kind = row_kind
    return row


class Row:
    """A record of positional or named fields, as in PyFlink.

    Fields are read as ``row[0]``, ``row['name']`` or ``row.name``; ``len``, iteration and
    ``in`` work as for a sequence (``in`` tests field names for a named row).

    Example::

        >>> row = Row(name="Alice", age=11)
        >>> row.name, row["age"], row[0]
        ('Alice', 11, 'Alice')
        >>> Row("name", "age")("Bob", 12)
        Row(name='Bob', age=12)
        >>> str(Row(1, "a").get_row_kind())
        '+I'
    """

    __slots__ = ("_fields", "_values", "_row_kind")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            msg = "Row: pass either positional values or keyword fields, not both"
            raise InvalidTypeError(msg)
        self._fields: list[str] | None = list(kwargs) if kwargs else None
        self._values: list[Any] = list(kwargs.values()) if kwargs else list(args)
        self._row_kind = RowKind.INSERT

    @staticmethod
    def of_kind(row_kind: RowKind, *args: Any, **kwargs: Any) -> Row:
        """A row of the given kind, built like ``Row(*args, **kwargs)``."""
        row = Row(*args, **kwargs)
        row._row_kind = row_kind
        return row

    def as_dict(self, recursive: bool = False) -> dict[str, Any]:
        """The named fields as a dict; with ``recursive`` nested rows become dicts too."""
        if self._fields is None:
            msg = f"Row.as_dict: {self!r} has no field names; use set_field_names first"
            raise InvalidTypeError(msg)
        if not recursive:
            return dict(zip(self._fields, self._values, strict=False))

        def conv(obj: Any) -> Any:
            if isinstance(obj, Row):
                return obj.as_dict(True)
            if isinstance(obj, list):
                return [conv(o) for o in obj]
            if isinstance(obj, dict):
                return {k: conv(v) for k, v in obj.items()}
            return obj

        return {k: conv(v) for k, v in zip(self._fields, self._values, strict=False)}

    def get_row_kind(self) -> RowKind:
        """The row's kind (``RowKind.INSERT`` unless set)."""
        return self._row_kind

    def set_row_kind(self, row_kind: RowKind) -> None:
        """Set the row's kind."""
        self._row_kind = row_kind

    def set_field_names(self, field_names: list[str]) -> None:
        """Name the fields (in position order)."""
        self._fields = list(field_names)

    def get_fields_by_names(self, names: list[str]) -> list[Any]:
        """The values of the named fields, in the order of ``names``."""
        if self._fields is None or names == self._fields:
            return self._values
        missing = [n for n in names if n not in self._fields]
        if missing:
            msg = f"Row: field names {missing} do not exist in {self._fields}"
            raise InvalidTypeError(msg)
        return [self._values[self._fields.index(n)] for n in names]

    def _index(self, name: str) -> int:
        if self._fields is None or name not in self._fields:
            raise KeyError(name)
        return self._fields.index(name)

    def __call__(self, *args: Any) -> Row:
        """Use a row of field names as a factory: ``Row('a', 'b')(1, 2)``."""
        if len(args) > len(self):
            msg = (f"Row: cannot create a row with fields {self!r}: expected at most "
                   f"{len(self)} values but got {args!r}")
            raise InvalidTypeError(msg)
        return _create_row(self._values, args, self._row_kind)

    def __getitem__(self, item: int | slice | str) -> Any:
        if isinstance(item, int | slice):
            return self._values[item]
        return self._values[self._index(item)]

    def __setitem__(self, key: int | slice | str, value: Any) -> None:
        if isinstance(key, int | slice):
            self._values[key] = value
        else:
            self._values[self._index(key)] = value

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)
        try:
            return self._values[self._index(item)]
        except KeyError:
            raise AttributeError(item) from None

    def __contains__(self, item: object) -> bool:
        return item in (self._fields if self._fields is not None else self._values)

    def __reduce__(self) -> tuple:
        return _create_row, (self._fields, tuple(self._values), self._row_kind)

    def __repr__(self) -> str:
        if self._fields is not None:
            fields = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self._values,
                                                              strict=False))
            return f"Row({fields})"
        return "<Row({})>".format(", ".join(repr(v) for v in self._values))

    def _by_name(self) -> list[tuple[str, Any]]:
        pairs = zip(self._fields or (), self._values, strict=False)
        return sorted(pairs, key=lambda pair: pair[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        if (self._fields is None) != (other._fields is None) or self._row_kind != other._row_kind:
            return False
        if self._fields is None:
            return self._values == other._values
        return len(self) == len(other) and self._by_name() == other._by_name()

    def __hash__(self) -> int:
        if self._fields is None:
            return hash(tuple(self._values))
        return hash(tuple(v for _, v in self._by_name()))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)
