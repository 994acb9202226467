"""Record formats for ``FileSource``: CSV (PyFlink's ``CsvReaderFormat``) and JSON lines.

``CsvReaderFormat.for_schema(CsvSchema.builder()...build())`` reads rows as named ``Row``
records of the schema's column types (PyFlink: ``Types.ROW_NAMED``). PyFlink types the columns
with Table API ``DataTypes``; strom has no Table API, so ``add_number_column`` takes
``Types.INT()``, ``Types.LONG()``, ``Types.FLOAT()``, ``Types.DOUBLE()``, ``Types.BIG_DEC()``
... (default ``Types.LONG()``) and ``add_array_column`` an element ``Types`` (default
``Types.STRING()``). ``JsonLinesFormat`` (strom's addition: PyFlink has JSON only as a
Kafka deserialization schema) reads one JSON object per line, as a ``dict`` or, given a
``Types.ROW_NAMED`` type, as a named ``Row`` (absent fields are None).

**Malformed input.** By default a record that cannot be parsed (a CSV row with the wrong number
of columns or a value that is not of its column's type, a line that is not a JSON object or
does not fit the type) fails the job with an :class:`~strom.errors.InputFormatError` naming the
file, the line and what was wrong; under a restart strategy the job then fails again at the
same record, so fix or remove the file. ``with_ignore_parse_errors()`` skips such records
instead, each with a logged warning (logger ``strom.connectors.file_formats``) naming file, line
and reason: never silently. Blank lines are not records in either format. A record's position (for
checkpoints) counts the records emitted, so skipped lines are skipped again on a restore.
"""
from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from strom.api.file_source import open_text
from strom.api.row import Row
from strom.api.typeinfo import BasicTypeInfo, RowTypeInfo, TypeInformation
from strom.api.types import Types
from strom.connectors.file_source import StreamFormat
from strom.errors import InputFormatError, InvalidTypeError, JobDefinitionError, describe

__all__ = ["CsvReaderFormat", "CsvSchema", "CsvSchemaBuilder", "JsonLinesFormat"]

log = logging.getLogger(__name__)

_INTS = {"BYTE", "SHORT", "INT", "LONG", "BIG_INT"}
_FLOATS = {"FLOAT", "DOUBLE"}


def _parse_scalar(text: str, type_info: TypeInformation) -> Any:
    """``text`` as a value of a basic type; ValueError when it is not one."""
    name = getattr(type_info, "_name", None)
    if name in _INTS:
        return int(text.strip())
    if name in _FLOATS:
        return float(text.strip())
    if name == "BIG_DEC":
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {text!r}") from None
    if name == "BOOLEAN":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError(f"not a boolean (true/false): {text!r}")
        return lowered == "true"
    return text


class CsvSchema:
    """The columns of a CSV file and how it is written (PyFlink's ``CsvSchema``)."""

    def __init__(self, columns: list[tuple[str, str, TypeInformation, str]],
                 options: dict[str, Any]) -> None:
        self.columns = columns  # (name, kind, type, array separator)
        self.options = options

    @staticmethod
    def builder() -> CsvSchemaBuilder:
        """A :class:`CsvSchemaBuilder`."""
        return CsvSchemaBuilder()

    @property
    def type_info(self) -> RowTypeInfo:
        """``Types.ROW_NAMED`` of the columns: the type of the records read."""
        types = [Types.LIST(t) if kind == "array" else t for _, kind, t, _ in self.columns]
        return Types.ROW_NAMED([c[0] for c in self.columns], types)

    def size(self) -> int:
        """The number of columns."""
        return len(self.columns)

    def __len__(self) -> int:
        return self.size()

    def __repr__(self) -> str:
        return f"CsvSchema({[c[0] for c in self.columns]}, {self.options})"


class CsvSchemaBuilder:
    """Builds a :class:`CsvSchema` (PyFlink's ``CsvSchemaBuilder``)."""

    def __init__(self) -> None:
        self._columns: list[tuple[str, str, TypeInformation, str]] = []
        self._options: dict[str, Any] = {
            "column_separator": ",", "quote_char": '"', "escape_char": None,
            "null_value": None, "allow_comments": False, "use_header": False,
            "skip_first_data_row": False, "strict_headers": False, "line_separator": "\n",
            "array_element_separator": ";"}

    def build(self) -> CsvSchema:
        """The schema."""
        return CsvSchema(list(self._columns), dict(self._options))

    def _add(self, name: str, kind: str, type_info: TypeInformation, separator: str = "") -> CsvSchemaBuilder:
        if not isinstance(name, str) or not name:
            raise JobDefinitionError(f"CsvSchemaBuilder: a column name must be a non-empty str, got {describe(name)}")
        if not isinstance(type_info, BasicTypeInfo):
            msg = (f"CsvSchemaBuilder: column {name!r} needs a basic type (strom's Types stand "
                   f"for PyFlink's DataTypes), got {describe(type_info)}; hint: Types.INT()")
            raise InvalidTypeError(msg)
        self._columns.append((name, kind, type_info, separator))
        return self

    def add_array_column(self, name: str, separator: str = ";",
                         element_type: TypeInformation | None = None) -> CsvSchemaBuilder:
        """A column of ``separator``-separated values of ``element_type`` (default STRING)."""
        return self._add(name, "array", element_type or Types.STRING(), separator)

    def add_boolean_column(self, name: str) -> CsvSchemaBuilder:
        """A ``true``/``false`` column."""
        return self._add(name, "scalar", Types.BOOLEAN())

    def add_number_column(self, name: str, number_type: TypeInformation | None = None) -> CsvSchemaBuilder:
        """A number column of ``number_type`` (default ``Types.LONG()``)."""
        return self._add(name, "scalar", number_type or Types.LONG())

    def add_string_column(self, name: str) -> CsvSchemaBuilder:
        """A string column."""
        return self._add(name, "scalar", Types.STRING())

    def add_columns_from(self, schema: CsvSchema) -> CsvSchemaBuilder:
        """The columns of ``schema``, after these."""
        self._columns.extend(schema.columns)
        return self

    def clear_columns(self) -> CsvSchemaBuilder:
        """No columns."""
        self._columns = []
        return self

    def _set(self, key: str, value: Any) -> CsvSchemaBuilder:
        self._options[key] = value
        return self

    def set_allow_comments(self, allow: bool = True) -> CsvSchemaBuilder:
        """Lines starting with ``#`` are comments."""
        return self._set("allow_comments", allow)

    def set_any_property_name(self, name: str) -> CsvSchemaBuilder:
        """Accepted (it names extra columns when writing; reading does not use it)."""
        return self._set("any_property_name", name)

    def disable_array_element_separator(self) -> CsvSchemaBuilder:
        """Array columns are not split."""
        return self._set("array_element_separator", "")

    def remove_array_element_separator(self, index: int) -> CsvSchemaBuilder:
        """Column ``index`` (an array column) is not split."""
        name, kind, type_info, _ = self._columns[index]
        self._columns[index] = (name, kind, type_info, "")
        return self

    def set_array_element_separator(self, separator: str) -> CsvSchemaBuilder:
        """The default separator of array columns."""
        return self._set("array_element_separator", separator)

    def set_column_separator(self, char: str) -> CsvSchemaBuilder:
        """The column separator (default ``,``)."""
        return self._set("column_separator", char)

    def disable_escape_char(self) -> CsvSchemaBuilder:
        """No escape character (the default)."""
        return self._set("escape_char", None)

    def set_escape_char(self, char: str) -> CsvSchemaBuilder:
        """The escape character inside values."""
        return self._set("escape_char", char)

    def set_line_separator(self, separator: str) -> CsvSchemaBuilder:
        """Accepted (for writing); reading splits lines at ``\\n``, ``\\r\\n`` and ``\\r``."""
        return self._set("line_separator", separator)

    def set_null_value(self, null_value: str) -> CsvSchemaBuilder:
        """The text read as None."""
        return self._set("null_value", null_value)

    def disable_quote_char(self) -> CsvSchemaBuilder:
        """Values are never quoted."""
        return self._set("quote_char", None)

    def set_quote_char(self, char: str) -> CsvSchemaBuilder:
        """The quote character (default ``"``)."""
        return self._set("quote_char", char)

    def set_skip_first_data_row(self, skip: bool = True) -> CsvSchemaBuilder:
        """Skip the first row (a header not used for column names)."""
        return self._set("skip_first_data_row", skip)

    def set_strict_headers(self, strict: bool = True) -> CsvSchemaBuilder:
        """With a header: it must name the schema's columns in order."""
        return self._set("strict_headers", strict)

    def set_use_header(self, use: bool = True) -> CsvSchemaBuilder:
        """The first row is a header (skipped; checked with ``set_strict_headers``)."""
        return self._set("use_header", use)

    def size(self) -> int:
        """The number of columns so far."""
        return len(self._columns)

    def __len__(self) -> int:
        return self.size()


class _Lenient(StreamFormat):
    """Shared by the formats: ``with_ignore_parse_errors`` and the malformed-record report."""

    ignore_parse_errors = False

    def with_ignore_parse_errors(self) -> _Lenient:
        """Skip malformed records (each logged with file, line and reason) instead of failing."""
        self.ignore_parse_errors = True
        return self

    def _bad(self, path: str, line: int, reason: str, hint: str) -> None:
        msg = f"{type(self).__name__}: {path}, line {line}: {reason}"
        if self.ignore_parse_errors:
            log.warning("%s; skipped (with_ignore_parse_errors)", msg)
            return
        raise InputFormatError(f"{msg}; hint: {hint}, or skip malformed records with "
                               f"{type(self).__name__}...with_ignore_parse_errors()")


class CsvReaderFormat(_Lenient):
    """Reads CSV rows as named ``Row`` records (PyFlink's ``CsvReaderFormat``)."""

    def __init__(self, schema: CsvSchema) -> None:
        if not isinstance(schema, CsvSchema):
            raise InvalidTypeError(f"CsvReaderFormat.for_schema: expected a CsvSchema, got {describe(schema)}; "
                                   "hint: CsvSchema.builder().add_string_column('name').build()")
        if not schema.columns:
            raise JobDefinitionError("CsvReaderFormat.for_schema: the schema has no columns; "
                                     "hint: add them with add_string_column / add_number_column")
        self.schema = schema
        self.produced_type = schema.type_info

    @staticmethod
    def for_schema(schema: CsvSchema) -> CsvReaderFormat:
        """A format reading rows of ``schema``."""
        return CsvReaderFormat(schema)

    def read(self, path: str, position: int) -> Iterator[Row]:
        """The rows of ``path`` after its first ``position`` records."""
        return islice(self._rows(path), position, None)

    def _rows(self, path: str) -> Iterator[Row]:
        options, columns = self.schema.options, self.schema.columns
        names = [c[0] for c in columns]
        quote = options["quote_char"]
        null = options["null_value"]
        skip_rows = int(bool(options["use_header"])) + int(bool(options["skip_first_data_row"]))
        with open_text(path, "utf-8") as f:
            comments = options["allow_comments"]  # a comment becomes an empty row: line numbers stay
            lines = ("\n" if comments and line.startswith("#") else line for line in f)
            reader = csv.reader(lines, delimiter=options["column_separator"],
                                quotechar=quote or '"',
                                quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
                                escapechar=options["escape_char"], strict=True)
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    self._bad(path, reader.line_num, f"not valid CSV ({exc})", "fix the quoting")
                    continue
                if not fields or fields == [""]:
                    continue
                if skip_rows:
                    skip_rows -= 1
                    if options["use_header"] and options["strict_headers"] and fields != names:
                        self._bad(path, reader.line_num, f"header {fields} is not the schema's columns {names}",
                                  "match the schema's column names and order")
                    continue
                if len(fields) != len(columns):
                    self._bad(path, reader.line_num,
                              f"expected {len(columns)} columns {names}, got {len(fields)}: "
                              f"{describe(fields)}", "check the column separator and the schema")
                    continue
                try:
                    values = [self._value(text, column, null) for text, column in zip(fields, columns)]
                except ValueError as exc:
                    self._bad(path, reader.line_num, str(exc), "check the schema's column types")
                    continue
                yield Row(**dict(zip(names, values)))

    def _value(self, text: str, column: tuple[str, str, TypeInformation, str], null: Any) -> Any:
        name, kind, type_info, separator = column
        if null is not None and text == null:
            return None
        try:
            if kind == "array":
                sep = separator or self.schema.options["array_element_separator"]
                parts = text.split(sep) if sep else [text]
                return [_parse_scalar(p, type_info) for p in parts] if text else []
            return _parse_scalar(text, type_info)
        except ValueError as exc:
            raise ValueError(f"column {name!r} ({type_info}): {exc}") from None

    def __repr__(self) -> str:
        return f"CsvReaderFormat.for_schema({self.schema!r})"


class JsonLinesFormat(_Lenient):
    """One JSON object per line (strom's addition), as a ``dict`` or a named ``Row``."""

    def __init__(self, type_info: RowTypeInfo | None = None) -> None:
        if type_info is not None and not isinstance(type_info, RowTypeInfo):
            raise InvalidTypeError(f"JsonLinesFormat.for_type_info: expected Types.ROW_NAMED(...) or None, "
                                   f"got {describe(type_info)}; hint: Types.ROW_NAMED(['id'], [Types.LONG()])")
        self.type_info = type_info
        self.produced_type = type_info

    @staticmethod
    def for_type_info(type_info: RowTypeInfo | None = None) -> JsonLinesFormat:
        """Records as named Rows of ``type_info`` (absent fields None), or dicts without one."""
        return JsonLinesFormat(type_info)

    def read(self, path: str, position: int) -> Iterator[Any]:
        """The records of ``path`` after its first ``position`` ones."""
        return islice(self._records(path), position, None)

    def _records(self, path: str) -> Iterator[Any]:
        type_info = self.type_info
        names = None if type_info is None else type_info.get_field_names()
        loads = json.loads
        with open_text(path, "utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    value = loads(line)
                except ValueError as exc:
                    self._bad(path, number, f"not valid JSON ({exc}): {describe(line.rstrip())}",
                              "write one JSON object per line")
                    continue
                if not isinstance(value, dict):
                    self._bad(path, number, f"expected a JSON object, got {describe(value)}",
                              "write one JSON object per line")
                    continue
                if names is None:
                    yield value
                    continue
                row = Row(**{name: value.get(name) for name in names})
                try:
                    type_info.validate(row, f"{path}, line {number}")
                except InvalidTypeError as exc:
                    self._bad(path, number, str(exc), "make the line fit the declared type")
                    continue
                yield row

    def __repr__(self) -> str:
        return f"JsonLinesFormat.for_type_info({self.type_info!r})"
