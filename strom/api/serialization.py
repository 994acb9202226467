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

from strom.api.typeinfo import TypeInformation, Types, _java_to_string
from strom.errors import InvalidTypeError, describe


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
        return (_java_to_string(element, type_info) + "\n").encode(self.charset)

    def __repr__(self) -> str:
        return f"Encoder.simple_string_encoder({self.charset!r})"
