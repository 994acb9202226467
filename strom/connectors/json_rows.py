"""JSON message formats for connectors: PyFlink's ``JsonRowDeserializationSchema`` and
``JsonRowSerializationSchema`` (``pyflink.datastream.formats.json``).

A message is one JSON object; a record is a named ``Row`` of the declared
``Types.ROW_NAMED(...)``. Deserializing: absent fields are None (or an error with
``fail_on_missing_field()``), values are checked against the declared field types; a message
that is not such an object raises, so a Kafka source routes it to its dead-letter output, or
with ``ignore_parse_errors()`` is dropped (deserialize returns None: no record, as in Flink).
"""
from __future__ import annotations

import json
from typing import Any

from strom.api.row import Row
from strom.api.serialization import DeserializationSchema, SerializationSchema
from strom.api.typeinfo import RowTypeInfo
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe


def _row_type(type_info: Any, where: str) -> RowTypeInfo:
    if not isinstance(type_info, RowTypeInfo):
        raise InvalidTypeError(f"{where}: expected Types.ROW_NAMED([...], [...]), got "
                               f"{describe(type_info)}; hint: Types.ROW_NAMED(['id', 'name'], "
                               "[Types.LONG(), Types.STRING()])")
    return type_info


class JsonRowDeserializationSchema(DeserializationSchema):
    """JSON objects -> named Rows; build with :meth:`builder`."""

    def __init__(self, type_info: RowTypeInfo, fail_on_missing_field: bool = False,
                 ignore_parse_errors: bool = False) -> None:
        self.type_info = type_info
        self.names = type_info.get_field_names()
        self.fail_on_missing = fail_on_missing_field
        self.ignore_errors = ignore_parse_errors

    @staticmethod
    def builder() -> JsonRowDeserializationSchema.Builder:
        return JsonRowDeserializationSchema.Builder()

    class Builder:
        """PyFlink's ``JsonRowDeserializationSchema.Builder``."""

        def __init__(self) -> None:
            self._type_info: RowTypeInfo | None = None
            self._fail_on_missing = False
            self._ignore_errors = False

        def type_info(self, type_info: Any) -> JsonRowDeserializationSchema.Builder:
            """The Row type of the records (``Types.ROW_NAMED``)."""
            self._type_info = _row_type(type_info, "JsonRowDeserializationSchema.type_info")
            return self

        def json_schema(self, json_schema: str) -> JsonRowDeserializationSchema.Builder:
            """Deriving the type from a JSON schema is not available; declare it instead."""
            raise UnsupportedError("JsonRowDeserializationSchema.json_schema: strom does not derive "
                                   "types from JSON schemas; hint: .type_info(Types.ROW_NAMED(...))")

        def fail_on_missing_field(self) -> JsonRowDeserializationSchema.Builder:
            """A message without one of the fields raises instead of giving None."""
            self._fail_on_missing = True
            return self

        def ignore_parse_errors(self) -> JsonRowDeserializationSchema.Builder:
            """A message that is not valid JSON (or misses a field) gives no record."""
            self._ignore_errors = True
            return self

        def build(self) -> JsonRowDeserializationSchema:
            if self._type_info is None:
                raise JobDefinitionError("JsonRowDeserializationSchema.builder().build(): no type; "
                                         "hint: .type_info(Types.ROW_NAMED(['id'], [Types.LONG()]))")
            return JsonRowDeserializationSchema(self._type_info, self._fail_on_missing,
                                                self._ignore_errors)

    def deserialize(self, message: bytes) -> Row | None:
        """The Row of one JSON object (see the module doc for errors)."""
        try:
            return self._row(message)
        except (ValueError, InvalidTypeError):
            if self.ignore_errors:
                return None
            raise

    def _row(self, message: bytes) -> Row:
        value = json.loads(message)
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object, got {describe(value)}")
        if self.fail_on_missing:
            missing = [n for n in self.names if n not in value]
            if missing:
                raise ValueError(f"the JSON object has no field {missing[0]!r} (fields: "
                                 f"{sorted(value)})")
        row = Row(**{name: value.get(name) for name in self.names})
        self.type_info.validate(row, "JSON message")
        return row

    def get_produced_type(self) -> RowTypeInfo:
        return self.type_info


class JsonRowSerializationSchema(SerializationSchema):
    """Rows (or tuples in field order, or dicts) -> JSON objects; build with :meth:`builder`."""

    def __init__(self, type_info: RowTypeInfo) -> None:
        self.type_info = type_info
        self.names = type_info.get_field_names()

    @staticmethod
    def builder() -> JsonRowSerializationSchema.Builder:
        return JsonRowSerializationSchema.Builder()

    class Builder:
        """PyFlink's ``JsonRowSerializationSchema.Builder``."""

        def __init__(self) -> None:
            self._type_info: RowTypeInfo | None = None

        def with_type_info(self, type_info: Any) -> JsonRowSerializationSchema.Builder:
            self._type_info = _row_type(type_info, "JsonRowSerializationSchema.with_type_info")
            return self

        def build(self) -> JsonRowSerializationSchema:
            if self._type_info is None:
                raise JobDefinitionError("JsonRowSerializationSchema.builder().build(): no type; "
                                         "hint: .with_type_info(Types.ROW_NAMED(...))")
            return JsonRowSerializationSchema(self._type_info)

    def serialize(self, element: Any) -> bytes:
        if isinstance(element, dict):
            data = {n: element.get(n) for n in self.names}
        elif isinstance(element, Row) and element._fields is not None:
            data = {n: element[n] for n in self.names}
        else:
            data = dict(zip(self.names, element, strict=True))
        return json.dumps(data, separators=(",", ":")).encode()


__all__ = ["JsonRowDeserializationSchema", "JsonRowSerializationSchema"]
