"""CSV message formats for connectors: PyFlink's ``CsvRowSerializationSchema`` and
``CsvRowDeserializationSchema`` (``pyflink.datastream.formats.csv``), and ``CsvBulkWriters``.

A message is one CSV line; a record is a ``Row`` of the declared ``Types.ROW(...)`` /
``Types.ROW_NAMED(...)``. Flink's defaults: fields separated by ``,``, array elements by ``;``,
``"`` quotes a field that needs it, no escape character, the empty string is null, and a
serialized row ends with ``\\n``. Deserializing checks the number of fields and converts each
to its field type (numbers, booleans, decimals, strings, arrays of those); a line that does not
fit raises, or with ``set_ignore_parse_errors(True)`` is dropped with a logged warning (logger
``strom.connectors.csv_rows``), as is a ``#`` comment line with ``set_allow_comments(True)``.

Example::

    >>> from strom.api.types import Types
    >>> row_type = Types.ROW_NAMED(["id", "tags"], [Types.INT(), Types.LIST(Types.STRING())])
    >>> out = CsvRowSerializationSchema.Builder(row_type).build()
    >>> out.serialize(Row(id=1, tags=["a", "b,c"]))
    b'1,"a;b,c"\\n'
    >>> CsvRowDeserializationSchema.Builder(row_type).build().deserialize(b'1,"a;b,c"')
    Row(id=1, tags=['a', 'b,c'])
"""
from __future__ import annotations

import csv
import io
import logging
from typing import Any

from strom.api.java_strings import java_string
from strom.api.java_wrappers import BulkWriterFactory
from strom.api.row import Row
from strom.api.serialization import DeserializationSchema, SerializationSchema
from strom.api.typeinfo import RowTypeInfo, TypeInformation, _ElementsTypeInfo
from strom.connectors.file_formats import _parse_scalar
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe

__all__ = ["CsvBulkWriters", "CsvRowDeserializationSchema", "CsvRowSerializationSchema"]

log = logging.getLogger(__name__)

_LINE_DELIMITERS = ("\n", "\r", "\r\n", "")


def _row_type(type_info: Any, where: str) -> RowTypeInfo:
    if not isinstance(type_info, RowTypeInfo):
        raise InvalidTypeError(f"{where}: expected Types.ROW([...]) or Types.ROW_NAMED([...], "
                               f"[...]), got {describe(type_info)}")
    return type_info


def _char(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 1:
        raise JobDefinitionError(f"{where}: expected one character, got {describe(value)}")
    return value


def _dialect(delimiter: str, quote: str | None, escape: str | None) -> dict[str, Any]:
    return {"delimiter": delimiter, "quotechar": quote or '"',
            "quoting": csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
            "escapechar": escape, "doublequote": escape is None, "strict": True}


class CsvRowSerializationSchema(SerializationSchema):
    """Rows -> CSV lines; build with ``CsvRowSerializationSchema.Builder(type_info)``."""

    def __init__(self, type_info: RowTypeInfo | None = None, field_delimiter: str = ",",
                 line_delimiter: str = "\n", array_element_delimiter: str = ";",
                 quote_character: str | None = '"', escape_character: str | None = None,
                 null_literal: str = "") -> None:
        self.type_info = _row_type(type_info, "CsvRowSerializationSchema")
        self.types = self.type_info.get_field_types()
        self.line_delimiter = line_delimiter
        self.array_delimiter = array_element_delimiter
        self.null_literal = null_literal
        self.dialect = _dialect(field_delimiter, quote_character, escape_character)

    def serialize(self, element: Any) -> bytes:
        """``element`` (a Row or tuple of the declared type) as one CSV line."""
        where = "CsvRowSerializationSchema.serialize"
        if not isinstance(element, (Row, tuple, list)) or len(element) != len(self.types):
            raise InvalidTypeError(f"{where}: expected a row of {len(self.types)} fields "
                                   f"({self.type_info}) but got {describe(element)}")
        fields = [self._text(v, t) for v, t in zip(element, self.types)]
        out = io.StringIO()
        csv.writer(out, lineterminator="", **self.dialect).writerow(fields)
        return (out.getvalue() + self.line_delimiter).encode("utf-8")

    def _text(self, value: Any, type_info: TypeInformation) -> str:
        if value is None:
            return self.null_literal
        if isinstance(type_info, _ElementsTypeInfo):
            element = type_info._element
            return self.array_delimiter.join(
                self.null_literal if v is None else java_string(v, element) for v in value)
        if isinstance(type_info, RowTypeInfo):
            raise UnsupportedError("CsvRowSerializationSchema: nested rows are not supported; "
                                   "hint: flatten the row before the sink")
        return value if isinstance(value, str) else java_string(value, type_info)

    class Builder:
        """PyFlink's ``CsvRowSerializationSchema.Builder``."""

        def __init__(self, type_info: TypeInformation | None = None) -> None:
            self._type_info = _row_type(type_info, "CsvRowSerializationSchema.Builder")
            self._options: dict[str, Any] = {}

        def set_field_delimiter(self, c: str) -> CsvRowSerializationSchema.Builder:
            """The character between fields (default ``,``)."""
            self._options["field_delimiter"] = _char(c, "set_field_delimiter")
            return self

        def set_line_delimiter(self, delimiter: str) -> CsvRowSerializationSchema.Builder:
            """What ends each line: ``\\n`` (default), ``\\r``, ``\\r\\n`` or nothing."""
            if delimiter not in _LINE_DELIMITERS:
                raise JobDefinitionError(f"set_line_delimiter: expected one of "
                                         f"{_LINE_DELIMITERS!r}, got {delimiter!r}")
            self._options["line_delimiter"] = delimiter
            return self

        def set_array_element_delimiter(self, delimiter: str) -> CsvRowSerializationSchema.Builder:
            """The text between array elements (default ``;``)."""
            self._options["array_element_delimiter"] = delimiter
            return self

        def disable_quote_character(self) -> CsvRowSerializationSchema.Builder:
            """Never quote fields."""
            self._options["quote_character"] = None
            return self

        def set_quote_character(self, c: str) -> CsvRowSerializationSchema.Builder:
            """The character quoting fields that need it (default ``"``)."""
            self._options["quote_character"] = _char(c, "set_quote_character")
            return self

        def set_escape_character(self, c: str) -> CsvRowSerializationSchema.Builder:
            """The character escaping quotes and delimiters (default: none)."""
            self._options["escape_character"] = _char(c, "set_escape_character")
            return self

        def set_null_literal(self, s: str) -> CsvRowSerializationSchema.Builder:
            """The text written for null (default: the empty string)."""
            self._options["null_literal"] = s
            return self

        def build(self) -> CsvRowSerializationSchema:
            """The schema."""
            return CsvRowSerializationSchema(self._type_info, **self._options)


class CsvRowDeserializationSchema(DeserializationSchema):
    """CSV lines -> Rows; build with ``CsvRowDeserializationSchema.Builder(type_info)``."""

    def __init__(self, type_info: RowTypeInfo | None = None, field_delimiter: str = ",",
                 allow_comments: bool = False, array_element_delimiter: str = ";",
                 quote_character: str | None = '"', escape_character: str | None = None,
                 null_literal: str = "", ignore_parse_errors: bool = False) -> None:
        self.type_info = self.produced_type = _row_type(type_info, "CsvRowDeserializationSchema")
        self.types = self.type_info.get_field_types()
        self.names = self.type_info.get_field_names()
        self.allow_comments = allow_comments
        self.array_delimiter = array_element_delimiter
        self.null_literal = null_literal
        self.ignore_errors = ignore_parse_errors
        self.dialect = _dialect(field_delimiter, quote_character, escape_character)

    def deserialize(self, message: bytes) -> Row | None:
        """The Row of one CSV line; None (no record) for a comment or, when parse errors are
        ignored, a line that does not fit (logged)."""
        text = bytes(message).decode("utf-8").rstrip("\r\n")
        if self.allow_comments and text.startswith("#"):
            return None
        try:
            fields = next(csv.reader([text], **self.dialect))
            if len(fields) != len(self.types):
                raise ValueError(f"expected {len(self.types)} fields {self.names}, got "
                                 f"{len(fields)}")
            values = [self._value(f, t, n) for f, t, n in zip(fields, self.types, self.names)]
        except (ValueError, csv.Error) as exc:
            reason = f"CsvRowDeserializationSchema: the line {text!r} does not fit {self.type_info}: {exc}"
            if self.ignore_errors:
                log.warning("%s; dropped (set_ignore_parse_errors)", reason)
                return None
            raise InvalidTypeError(f"{reason}; hint: fix the producer, or "
                                   "set_ignore_parse_errors(True) to drop such lines") from None
        row = Row(*values)
        row.set_field_names(self.names)
        return row

    def _value(self, text: str, type_info: TypeInformation, name: str) -> Any:
        if text == self.null_literal:
            return None
        try:
            if isinstance(type_info, _ElementsTypeInfo):
                return [None if p == self.null_literal else _parse_scalar(p, type_info._element)
                        for p in text.split(self.array_delimiter)]
            return _parse_scalar(text, type_info)
        except ValueError as exc:
            raise ValueError(f"field {name!r}: {exc}") from None

    class Builder:
        """PyFlink's ``CsvRowDeserializationSchema.Builder``."""

        def __init__(self, type_info: TypeInformation | None = None) -> None:
            self._type_info = _row_type(type_info, "CsvRowDeserializationSchema.Builder")
            self._options: dict[str, Any] = {}

        def set_field_delimiter(self, delimiter: str) -> CsvRowDeserializationSchema.Builder:
            """The character between fields (default ``,``)."""
            self._options["field_delimiter"] = _char(delimiter, "set_field_delimiter")
            return self

        def set_allow_comments(self, allow_comments: bool) -> CsvRowDeserializationSchema.Builder:
            """Drop lines starting with ``#``."""
            self._options["allow_comments"] = bool(allow_comments)
            return self

        def set_array_element_delimiter(self, delimiter: str
                                        ) -> CsvRowDeserializationSchema.Builder:
            """The text between array elements (default ``;``)."""
            self._options["array_element_delimiter"] = delimiter
            return self

        def set_quote_character(self, c: str) -> CsvRowDeserializationSchema.Builder:
            """The character quoting fields (default ``"``)."""
            self._options["quote_character"] = _char(c, "set_quote_character")
            return self

        def set_escape_character(self, c: str) -> CsvRowDeserializationSchema.Builder:
            """The character escaping quotes and delimiters (default: none)."""
            self._options["escape_character"] = _char(c, "set_escape_character")
            return self

        def set_null_literal(self, null_literal: str) -> CsvRowDeserializationSchema.Builder:
            """The text read as null (default: the empty string)."""
            self._options["null_literal"] = null_literal
            return self

        def set_ignore_parse_errors(self, ignore_parse_errors: bool
                                    ) -> CsvRowDeserializationSchema.Builder:
            """Drop (with a logged warning) lines that do not fit instead of failing."""
            self._options["ignore_parse_errors"] = bool(ignore_parse_errors)
            return self

        def build(self) -> CsvRowDeserializationSchema:
            """The schema."""
            return CsvRowDeserializationSchema(self._type_info, **self._options)


class CsvBulkWriters:
    """Bulk CSV writers for ``FileSink.for_bulk_format``: strom has no bulk writers."""

    @staticmethod
    def for_schema(schema: Any) -> BulkWriterFactory:
        """Raises ``UnsupportedFeatureError`` naming the row format to use instead."""
        raise UnsupportedError(
            "CsvBulkWriters.for_schema: strom has no bulk file writers; hint: "
            "FileSink.for_row_format(path, Encoder.simple_string_encoder()) after mapping rows "
            "to CSV lines, e.g. with CsvRowSerializationSchema")
