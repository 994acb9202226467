"""Type information: PyFlink's ``Types`` constructors, value validation and Java rendering.

A ``TypeInformation`` is the declared type of a stream's records (``output_type=``) or of a
state descriptor. strom never serialises by type, so a type does two jobs here:

* :meth:`TypeInformation.validate` checks a value against the declaration, the way PyFlink's
  coders fail on a value they cannot encode, but with a message naming the operator;
* ``_java`` renders a value as Java's ``toString`` (``strom.api.java_strings`` builds the
  lines ``ds.print()`` and Java sinks show from it).

Which values are accepted (``None`` follows the PyFlink ``Types`` docstrings):

* ``STRING``, ``BIG_INT``, ``BIG_DEC``, ``INSTANT``, the SQL and local date/time types accept
  ``None``. ``BYTE``, ``BOOLEAN``, ``SHORT``, ``INT``, ``LONG``, ``FLOAT``, ``DOUBLE``, ``CHAR``
  do not ("Does not support a None value"), nor do ``ROW``, ``TUPLE``, arrays, ``LIST`` and
  ``MAP`` themselves ("must not be null").
* Inside a ``ROW`` every field may be ``None`` (Flink's row serializer keeps a null mask).
  Elements of ``BASIC_ARRAY``/``OBJECT_ARRAY`` and ``MAP`` values may be ``None``; ``TUPLE``
  fields, ``LIST`` elements, ``PRIMITIVE_ARRAY`` elements and ``MAP`` keys follow their own
  type's rule (Flink's tuple, list and primitive-array serializers reject null).
* Integer types check their Java range and reject ``bool``; ``FLOAT``/``DOUBLE`` take ``int``
  or ``float``; ``CHAR`` is a one-character ``str``; ``BIG_DEC`` takes ``Decimal`` or ``int``.
* ``ROW`` takes a ``Row``, ``tuple`` or ``list`` of the right arity (PyFlink converts all
  three); a named ``Row`` against ``ROW_NAMED`` is matched by field name. ``TUPLE`` takes a
  ``tuple``, ``list`` or ``Row`` of the right arity. ``PICKLED_BYTE_ARRAY`` takes anything.

``repr`` of a type is the ``Types`` call that builds it (``Types.ROW([Types.INT()])``), unlike
PyFlink's ``RowTypeInfo(Integer)``, so messages show what to write. Equality follows Java:
row field names take part (unnamed rows are named ``f0``, ``f1``, ...).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from strom.api._java_format import (
    java_double,
    java_float,
    java_instant,
    java_local_date_time,
    java_local_time,
    java_sql_timestamp,
)
from strom.api.row import Row, RowKind
from strom.errors import InvalidTypeError, UnsupportedError, describe
from strom.time.durations import Instant

_HINT = "declare output_type=Types.PICKLED_BYTE_ARRAY() or fix the function"


@dataclass(frozen=True, slots=True)
class _Mismatch:
    """Where inside a value the declaration was broken (``path`` empty at top level)."""

    path: str
    expected: TypeInformation
    value: object
    reason: str = ""


def _at(path: str, part: str) -> str:
    """Extend a location inside a value: ``field 'a' > [0]``."""
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path} > {part}"


class TypeInformation:
    """Base of all type information; build instances with :class:`Types`.

    Subclasses define ``_mismatch`` (validation) and ``_java`` (Java ``toString``).
    Instances are immutable, hashable and compare by structure.
    """

    __slots__ = ()

    #: Whether ``None`` is a valid value of this type at the top level.
    nullable: bool = True

    #: Whether values of this type can never change in place (checkpoints may then share them
    #: instead of copying: keyed state declared with such a type is snapshotted by reference).
    immutable_values: bool = False

    def validate(self, value: object, where: str, hint: str = _HINT) -> None:
        """Check that ``value`` is a valid value of this type.

        The runtime calls this on each record an operator emits when its output type is
        declared (and on values put into typed state or side outputs). Nested rows, tuples,
        lists, maps and arrays are checked recursively.

        Args:
            value: the value to check.
            where: the operator or input being checked, named in the message.
            hint: the message's hint (by default: declare a pickled output type, or fix the function).

        Raises:
            InvalidTypeError: naming ``where``, the expected type, the value, its Python type,
                the path inside the value, and a hint.
        """
        bad = self._check(value, "")
        if bad is None:
            return
        inner = f" at {bad.path}" if bad.path else ""
        reason = f" ({bad.reason})" if bad.reason else ""
        outer = f" (declared {self!r})" if bad.path else ""
        msg = (f"{where}: expected {bad.expected!r}{inner}{outer} but got "
               f"{describe(bad.value)} of type {type(bad.value).__name__}{reason}; "
               f"hint: {hint}")
        raise InvalidTypeError(msg)

    def fast_check(self) -> Callable[[object], bool]:
        """A quick ``value -> bool`` for the per-record path, compiled once.

        It never accepts a value that :meth:`validate` rejects, but may reject valid ones (for
        example subclasses); callers then fall back to :meth:`validate`, which is authoritative.
        """
        expr = self._fast_expr("v")
        if expr is None:
            return lambda v: self._check(v, "") is None
        return eval(f"lambda v: {expr}", self.fast_globals())  # noqa: S307 - built from our own parts

    def fast_expression(self, var: str) -> str | None:
        """The quick check of :meth:`fast_check` as a Python expression over the variable ``var``
        (it may refer to ``Row``), for inlining into generated code; None when there is none."""
        return self._fast_expr(var)

    @staticmethod
    def fast_globals() -> dict[str, Any]:
        """The names a :meth:`fast_expression` may refer to."""
        return {"Row": Row}

    def _fast_expr(self, var: str) -> str | None:
        """A Python expression over ``var`` that is true only for valid values (None: no fast form)."""
        return None

    # PyFlink's conversions to and from the Table runtime's internal form. strom has no such
    # form (records stay Python values end to end), so there is nothing to convert.
    def need_conversion(self) -> bool:
        """Always ``False``: strom keeps values as Python objects."""
        return False

    def to_internal_type(self, obj: Any) -> Any:
        """``obj`` unchanged (see :meth:`need_conversion`)."""
        return obj

    def from_internal_type(self, obj: Any) -> Any:
        """``obj`` unchanged (see :meth:`need_conversion`)."""
        return obj

    def get_java_type_info(self) -> Any:
        """Java's type information: strom has none (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError(f"{self!r}.get_java_type_info(): strom runs without a JVM and "
                               "has no Java type information; hint: the TypeInformation "
                               "itself describes the type")

    def _check(self, value: object, path: str) -> _Mismatch | None:
        if value is None:
            return None if self.nullable else _Mismatch(path, self, value, "null not allowed")
        return self._mismatch(value, path)

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        raise NotImplementedError

    def _java(self, value: Any) -> str:
        """Java ``toString`` of a (valid) value of this type; ``None`` is ``null``."""
        raise NotImplementedError

    def _key(self) -> tuple:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))


# ---------------------------------------------------------------- scalar types

def _int_range(bits: int) -> Callable[[object], str | None]:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(v: object) -> str | None:
        if not isinstance(v, int) or isinstance(v, bool):
            return ""
        return None if low <= v <= high else f"out of range [{low}, {high}]"

    return check


def _is(*types: type, exclude: tuple[type, ...] = (bool,)) -> Callable[[object], str | None]:
    def check(v: object) -> str | None:
        ok = isinstance(v, types) and not isinstance(v, exclude)
        return None if ok else ""

    return check


def _check_float32(v: object) -> str | None:
    if _is(int, float)(v) is not None:
        return ""
    f = float(v)  # type: ignore[arg-type]
    return None if math.isinf(f) or math.isnan(f) or abs(f) <= 3.4028234663852886e38 \
        else "out of range for a 32-bit float"


def _check_char(v: object) -> str | None:
    return None if isinstance(v, str) and len(v) == 1 else "a CHAR is a one-character str"


@dataclass(frozen=True, slots=True)
class _Scalar:
    name: str
    nullable: bool
    check: Callable[[object], str | None]
    java: Callable[[Any], str]


_not_datetime = (bool, dt.datetime)
_SCALARS = {s.name: s for s in (
    _Scalar("STRING", True, _is(str), str),
    _Scalar("BYTE", False, _int_range(8), str),
    _Scalar("BOOLEAN", False, _is(bool, exclude=()), lambda v: "true" if v else "false"),
    _Scalar("SHORT", False, _int_range(16), str),
    _Scalar("INT", False, _int_range(32), str),
    _Scalar("LONG", False, _int_range(64), str),
    _Scalar("FLOAT", False, _check_float32, java_float),
    _Scalar("DOUBLE", False, _is(int, float), java_double),
    _Scalar("CHAR", False, _check_char, str),
    _Scalar("BIG_INT", True, _is(int), str),
    _Scalar("BIG_DEC", True, _is(Decimal, int), lambda v: str(Decimal(v))),
    _Scalar("INSTANT", True, _is(Instant), java_instant),
    _Scalar("SQL_DATE", True, _is(dt.date, exclude=_not_datetime), dt.date.isoformat),
    _Scalar("SQL_TIME", True, _is(dt.time), lambda t: t.strftime("%H:%M:%S")),
    _Scalar("SQL_TIMESTAMP", True, _is(dt.datetime), java_sql_timestamp),
    _Scalar("LOCAL_DATE", True, _is(dt.date, exclude=_not_datetime), dt.date.isoformat),
    _Scalar("LOCAL_TIME", True, _is(dt.time), java_local_time),
    _Scalar("LOCAL_DATE_TIME", True, _is(dt.datetime),
            java_local_date_time),
)}


# Quick forms of the common scalar checks (bool is excluded from the integer types).
_FAST_SCALARS = {
    "STRING": "{v} is None or type({v}) is str",
    "BOOLEAN": "type({v}) is bool",
    "BYTE": "type({v}) is int and -128 <= {v} <= 127",
    "SHORT": "type({v}) is int and -32768 <= {v} <= 32767",
    "INT": "type({v}) is int and -2147483648 <= {v} <= 2147483647",
    "LONG": "type({v}) is int and -9223372036854775808 <= {v} <= 9223372036854775807",
    "DOUBLE": "type({v}) is float or type({v}) is int",
    "BIG_INT": "{v} is None or type({v}) is int",
}


class BasicTypeInfo(TypeInformation):
    """A scalar type: Flink's basic types, ``INSTANT``, and the SQL/local date-time types."""

    __slots__ = ("_name",)  # only the name, so that the type pickles
    immutable_values = True  # str, int, float, bool, Decimal, dates and times

    def __init__(self, name: str) -> None:
        if name not in _SCALARS:
            msg = f"BasicTypeInfo: unknown basic type {name!r}; expected one of {list(_SCALARS)}"
            raise InvalidTypeError(msg)
        self._name = name

    @property
    def _scalar(self) -> _Scalar:
        return _SCALARS[self._name]

    @property
    def nullable(self) -> bool:  # type: ignore[override]
        """Whether ``None`` is accepted (see the module docstring)."""
        return self._scalar.nullable

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        reason = self._scalar.check(value)
        return None if reason is None else _Mismatch(path, self, value, reason)

    def _java(self, value: Any) -> str:
        return "null" if value is None else self._scalar.java(value)

    def _fast_expr(self, var: str) -> str | None:
        form = _FAST_SCALARS.get(self._name)
        return None if form is None else "(" + form.format(v=var) + ")"

    def _key(self) -> tuple:
        return (self._scalar.name,)

    def __repr__(self) -> str:
        return f"Types.{self._scalar.name}()"


class PickledBytesTypeInfo(TypeInformation):
    """Any picklable Python value (PyFlink's default when no output type is declared)."""

    __slots__ = ()

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        return None

    def _fast_expr(self, var: str) -> str | None:
        return "True"

    def _java(self, value: Any) -> str:
        # Java would show the pickled byte[]; the Python str is the useful rendering.
        return "null" if value is None else str(value)

    def _key(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return "Types.PICKLED_BYTE_ARRAY()"


def _check_fields(types: Sequence[TypeInformation], values: Sequence[object], path: str,
                  labels: Sequence[str], nullable_fields: bool) -> _Mismatch | None:
    for field_type, value, label in zip(types, values, labels, strict=True):
        if value is None and nullable_fields:
            continue
        bad = field_type._check(value, _at(path, label))
        if bad is not None:
            return bad
    return None


class _FieldsTypeInfo(TypeInformation):
    """Shared body of the row and tuple types: a fixed number of typed fields."""

    __slots__ = ("_types",)
    nullable = False
    _constructor = ""
    _accepts: tuple[type, ...] = ()
    _expected = ""

    def __init__(self, field_types: Sequence[TypeInformation]) -> None:
        _require_types(f"Types.{self._constructor}", field_types)
        self._types = tuple(field_types)

    def get_field_types(self) -> list[TypeInformation]:
        """Field types in position order."""
        return list(self._types)

    def _shape_mismatch(self, value: object, path: str) -> _Mismatch | None:
        """A value of the wrong container type or arity."""
        if not isinstance(value, self._accepts):
            return _Mismatch(path, self, value, self._expected)
        if len(value) != len(self._types):  # type: ignore[arg-type]
            return _Mismatch(path, self, value,
                             f"arity {len(value)}, declared {len(self._types)} fields")  # type: ignore[arg-type]
        return None

    def _fast_fields(self, var: str) -> list[str] | None:
        """The fields' quick checks over ``var[i]``, or None when one has none."""
        fields = [t._fast_expr(f"{var}[{i}]") for i, t in enumerate(self._types)]
        return None if any(f is None for f in fields) else fields  # type: ignore[return-value]


class RowTypeInfo(_FieldsTypeInfo):
    """Type of :class:`Row` records with typed (optionally named) fields."""

    __slots__ = ("_names",)
    _constructor = "ROW"
    _accepts = (Row, tuple, list)
    _expected = "expected a Row, tuple or list"

    def __init__(self, field_types: Sequence[TypeInformation],
                 field_names: Sequence[str] | None = None) -> None:
        super().__init__(field_types)
        if field_names is not None and len(field_names) != len(field_types):
            msg = (f"Types.ROW_NAMED: {len(field_names)} names {list(field_names)} for "
                   f"{len(field_types)} types; give one name per field type")
            raise InvalidTypeError(msg)
        self._names = None if field_names is None else tuple(field_names)

    def get_field_names(self) -> list[str]:
        """Field names; unnamed rows use Flink's defaults ``f0``, ``f1``, ..."""
        return list(self._names or (f"f{i}" for i in range(len(self._types))))

    def get_field_index(self, field_name: str) -> int:
        """Position of the named field, or -1 if there is none."""
        names = self.get_field_names()
        return names.index(field_name) if field_name in names else -1

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        bad = self._shape_mismatch(value, path)
        if bad is not None:
            return bad
        names = self.get_field_names()
        if isinstance(value, Row) and value._fields is not None and self._names is not None:
            if sorted(value._fields) != sorted(names):
                return _Mismatch(path, self, value,
                                 f"field names {value._fields}, declared {names}")
            values: Sequence[object] = [value[n] for n in names]
        else:
            values = list(value)
        labels = [f"field {n!r}" if self._names else f"field {i}" for i, n in enumerate(names)]
        return _check_fields(self._types, values, path, labels, nullable_fields=True)

    def _fast_expr(self, var: str) -> str | None:
        if self._names is not None:
            return None  # named rows may list fields in another order: the full check handles it
        fields = self._fast_fields(var)
        if fields is None:
            return None
        return (f"(type({var}) is tuple and len({var}) == {len(fields)}"
                + "".join(f" and ({var}[{i}] is None or {f})" for i, f in enumerate(fields)) + ")")

    def _java(self, value: Any) -> str:
        # Java Row.toString (a row nested in a tuple, list or map): "+I[a, 1]".
        if value is None:
            return "null"
        kind = value.get_row_kind() if isinstance(value, Row) else RowKind.INSERT
        fields = ", ".join(t._java(v) for t, v in zip(self._types, value, strict=False))
        return f"{kind}[{fields}]"

    def _key(self) -> tuple:
        return (self._types, tuple(self.get_field_names()))

    def __repr__(self) -> str:
        types = ", ".join(map(repr, self._types))
        if self._names is None:
            return f"Types.ROW([{types}])"
        return f"Types.ROW_NAMED({list(self._names)!r}, [{types}])"


class TupleTypeInfo(_FieldsTypeInfo):
    """Type of tuples with typed fields (Java ``TupleN``)."""

    __slots__ = ()
    _constructor = "TUPLE"
    _accepts = (tuple, list, Row)
    _expected = "expected a tuple"

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        bad = self._shape_mismatch(value, path)
        if bad is not None:
            return bad
        labels = [f"field {i}" for i in range(len(self._types))]
        return _check_fields(self._types, list(value), path, labels, nullable_fields=False)

    def _fast_expr(self, var: str) -> str | None:
        fields = self._fast_fields(var)
        if fields is None:
            return None
        return f"(type({var}) is tuple and len({var}) == {len(fields)}" + "".join(f" and {f}" for f in fields) + ")"

    def _java(self, value: Any) -> str:
        # Java Tuple2.toString: "(" + f0 + "," + f1 + ")", no space.
        if value is None:
            return "null"
        return "(" + ",".join(t._java(v) for t, v in zip(self._types, value, strict=False)) + ")"

    def _key(self) -> tuple:
        return self._types

    def __repr__(self) -> str:
        return "Types.TUPLE([{}])".format(", ".join(map(repr, self._types)))


class _ElementsTypeInfo(TypeInformation):
    """Shared body of the array and list types: a sequence of one element type."""

    __slots__ = ("_element",)
    nullable = False
    _constructor = ""
    _null_elements = True
    _accepts: tuple[type, ...] = (list, tuple)

    def __init__(self, element_type: TypeInformation) -> None:
        _require_types(f"Types.{self._constructor}", [element_type])
        self._element = element_type

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        if not isinstance(value, self._accepts):
            names = " or ".join(t.__name__ for t in self._accepts)
            return _Mismatch(path, self, value, f"expected a {names}")
        for i, item in enumerate(value):  # type: ignore[attr-defined]
            if item is None and self._null_elements:
                continue
            bad = self._element._check(item, _at(path, f"[{i}]"))
            if bad is not None:
                return bad
        return None

    def _java(self, value: Any) -> str:
        # java.util.List.toString / Arrays.toString: "[a, b]". A top-level Java array would
        # print as an identity hash ("[I@1b6d3586"); the element list is shown instead.
        if value is None:
            return "null"
        return "[" + ", ".join(self._element._java(v) for v in value) + "]"

    def _key(self) -> tuple:
        return (self._element,)

    def __repr__(self) -> str:
        return f"Types.{self._constructor}({self._element!r})"


class PrimitiveArrayTypeInfo(_ElementsTypeInfo):
    """Array of a primitive type (``int[]``); elements must not be ``None``."""

    __slots__ = ()
    _constructor = "PRIMITIVE_ARRAY"
    _null_elements = False
    _accepts = (list, tuple, bytes, bytearray)

    def __init__(self, element_type: TypeInformation) -> None:
        super().__init__(element_type)
        if not (isinstance(element_type, BasicTypeInfo) and not element_type.nullable):
            msg = (f"Types.PRIMITIVE_ARRAY: element type {element_type!r} is not primitive; "
                   f"use BOOLEAN, BYTE, SHORT, INT, LONG, FLOAT, DOUBLE or CHAR, "
                   f"or Types.BASIC_ARRAY/OBJECT_ARRAY")
            raise InvalidTypeError(msg)

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        # bytes is PyFlink's value for byte[] (Types.PRIMITIVE_ARRAY(Types.BYTE()))
        if isinstance(value, bytes | bytearray):
            is_byte = self._element == BasicTypeInfo("BYTE")
            return None if is_byte else _Mismatch(path, self, value, "bytes need BYTE elements")
        return super()._mismatch(value, path)

    def _java(self, value: Any) -> str:
        if isinstance(value, bytes | bytearray):  # Java bytes are signed
            value = [b - 256 if b > 127 else b for b in value]
        return super()._java(value)


class BasicArrayTypeInfo(_ElementsTypeInfo):
    """Array of a boxed basic type (``Integer[]``, ``String[]``); elements may be ``None``."""

    __slots__ = ()
    _constructor = "BASIC_ARRAY"


class ObjectArrayTypeInfo(_ElementsTypeInfo):
    """Array of any type; elements may be ``None``."""

    __slots__ = ()
    _constructor = "OBJECT_ARRAY"


class ListTypeInfo(_ElementsTypeInfo):
    """A ``java.util.List`` of one element type; elements follow the element type's rule."""

    __slots__ = ()
    _constructor = "LIST"
    _null_elements = False
    _accepts = (list,)


class MapTypeInfo(TypeInformation):
    """A ``java.util.Map``; keys follow the key type's rule, values may be ``None``."""

    __slots__ = ("_key_type", "_value_type")
    nullable = False

    def __init__(self, key_type_info: TypeInformation,
                 value_type_info: TypeInformation) -> None:
        _require_types("Types.MAP", [key_type_info, value_type_info])
        self._key_type = key_type_info
        self._value_type = value_type_info

    def _mismatch(self, value: object, path: str) -> _Mismatch | None:
        if not isinstance(value, dict):
            return _Mismatch(path, self, value, "expected a dict")
        for k, v in value.items():
            bad = self._key_type._check(k, _at(path, f"key {k!r}")) or (
                None if v is None else self._value_type._check(v, _at(path, f"[{k!r}]")))
            if bad is not None:
                return bad
        return None

    def _java(self, value: Any) -> str:
        # java.util.Map.toString "{a=1, b=2}"; Python's insertion order, not Java hash order.
        if value is None:
            return "null"
        items = (f"{self._key_type._java(k)}={self._value_type._java(v)}"
                 for k, v in value.items())
        return "{" + ", ".join(items) + "}"

    def _key(self) -> tuple:
        return (self._key_type, self._value_type)

    def __repr__(self) -> str:
        return f"Types.MAP({self._key_type!r}, {self._value_type!r})"


def _require_types(where: str, types: Sequence[object]) -> None:
    for t in types:
        if not isinstance(t, TypeInformation):
            msg = (f"{where}: expected TypeInformation values but got {describe(t)} of type "
                   f"{type(t).__name__}; hint: call the constructor, e.g. Types.INT() not "
                   f"Types.INT")
            raise InvalidTypeError(msg)


# PyFlink's typeinfo module also holds the Types constructors; they live in strom.api.types.
from strom.api.types import Types  # noqa: E402, F401  (at the end: types.py builds on the classes above)
