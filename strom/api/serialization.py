"""Record <-> bytes schemas and file encoders: PyFlink's ``pyflink.common.serialization``.

Connectors call a :class:`SerializationSchema` for each record they write and a
:class:`DeserializationSchema` for each message they read; file sinks call an :class:`Encoder`.
Implementations must be picklable and keep no per-record state.

Example::

    >>> schema = SimpleStringSchema()
    >>> schema.deserialize(schema.serialize("héllo"))
    'héllo'
    >>> Encoder.simple_string_encoder().encode(3.0)
    b'3.0\\n'
"""
from __future__ import annotations

import codecs
from typing import Any

from strom.api.java_strings import java_to_string
from strom.api.row import Row
from strom.api.typeinfo import TypeInformation, Types
from strom.errors import InvalidTypeError, JobDefinitionError, describe
from strom.state.type_serializer import TypeSerializer

__all__ = ["ByteArraySchema", "DeserializationSchema", "Encoder", "RowFieldExtractorSchema",
           "SerializationSchema", "SimpleStringSchema", "TypeSerializer"]


def _charset(charset: str, where: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        msg = f"{where}: unknown charset {charset!r}; hint: use 'UTF-8'"
        raise InvalidTypeError(msg) from None


class SerializationSchema:
    """Turns a record into the bytes a sink writes. Subclasses implement :meth:`serialize`."""

    def serialize(self, element: Any) -> bytes:
        """The bytes for ``element``; called once per record, never concurrently."""
        raise NotImplementedError


class DeserializationSchema:
    """Turns the bytes a source reads into a record. Subclasses implement :meth:`deserialize`
    and set :attr:`produced_type`, the type of the records it makes."""

    produced_type: TypeInformation = Types.PICKLED_BYTE_ARRAY()

    def deserialize(self, message: bytes) -> Any:
        """The record for ``message``; called once per message, never concurrently."""
        raise NotImplementedError

    def is_end_of_stream(self, next_element: Any) -> bool:
        """Whether ``next_element`` ends the stream (never, by default)."""
        return False


class SimpleStringSchema(SerializationSchema, DeserializationSchema):
    """Strings as encoded bytes, UTF-8 unless ``charset`` says otherwise."""

    produced_type = Types.STRING()

    def __init__(self, charset: str = "UTF-8") -> None:
        self.charset = _charset(charset, "SimpleStringSchema")

    def serialize(self, element: str) -> bytes:
        """``element`` encoded in the charset."""
        if not isinstance(element, str):
            msg = (f"SimpleStringSchema.serialize: expected str but got {describe(element)} "
                   f"of type {type(element).__name__}; hint: map the stream to str first")
            raise InvalidTypeError(msg)
        return element.encode(self.charset)

    def deserialize(self, message: bytes) -> str:
        """``message`` decoded from the charset."""
        return bytes(message).decode(self.charset)

    def __repr__(self) -> str:
        return f"SimpleStringSchema({self.charset!r})"


class ByteArraySchema(SerializationSchema, DeserializationSchema):
    """Raw bytes in and out."""

    produced_type = Types.PRIMITIVE_ARRAY(Types.BYTE())

    def serialize(self, element: bytes) -> bytes:
        """``element`` as bytes."""
        return bytes(element)

    def deserialize(self, message: bytes) -> bytes:
        """``message`` unchanged."""
        return bytes(message)


class RowFieldExtractorSchema(SerializationSchema):
    """The bytes of one field of a :class:`Row` (for example a Kafka record's key).

    The field must already hold ``bytes``; anything else fails the record, naming the field.
    """

    def __init__(self, field_index: int) -> None:
        if not isinstance(field_index, int) or isinstance(field_index, bool) or field_index < 0:
            msg = (f"RowFieldExtractorSchema: expected a field index >= 0 but got "
                   f"{describe(field_index)}")
            raise JobDefinitionError(msg)
        self.field_index = field_index

    def serialize(self, element: Any) -> bytes:
        """Field ``field_index`` of the row ``element``."""
        if not isinstance(element, (Row, tuple, list)):
            msg = (f"RowFieldExtractorSchema({self.field_index}).serialize: expected a Row but got "
                   f"{describe(element)} of type {type(element).__name__}")
            raise InvalidTypeError(msg)
        if self.field_index >= len(element):
            msg = (f"RowFieldExtractorSchema({self.field_index}).serialize: the row {describe(element)}"
                   f" has only {len(element)} fields")
            raise InvalidTypeError(msg)
        value = element[self.field_index]
        if not isinstance(value, (bytes, bytearray)):
            msg = (f"RowFieldExtractorSchema({self.field_index}).serialize: field "
                   f"{self.field_index} holds {describe(value)} of type {type(value).__name__}, "
                   f"expected bytes; hint: encode it in a map() before the sink")
            raise InvalidTypeError(msg)
        return bytes(value)

    def __repr__(self) -> str:
        return f"RowFieldExtractorSchema({self.field_index})"


class Encoder:
    """Writes records to a file sink's part files; build it with :meth:`simple_string_encoder`."""

    def __init__(self, charset: str = "UTF-8") -> None:
        self.charset = _charset(charset, "Encoder")

    @staticmethod
    def simple_string_encoder(charset_name: str = "UTF-8") -> Encoder:
        """Write each record's ``toString`` followed by a newline (Flink's
        ``SimpleStringEncoder``)."""
        return Encoder(charset_name)

    def encode(self, element: Any, type_info: TypeInformation | None = None) -> bytes:
        """The line written for ``element`` of the stream's declared ``type_info``.

        Java's ``toString`` of the declared type, or Python's ``str`` for untyped (pickled)
        streams; unlike ``print()`` a row is written as Java's ``+I[a, 1]``.
        """
        return (java_to_string(element, type_info) + "\n").encode(self.charset)

    def __repr__(self) -> str:
        return f"Encoder.simple_string_encoder({self.charset!r})"
