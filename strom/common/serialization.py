"""PyFlink's ``pyflink.common.serialization``: re-exports only."""
from strom.api.java_wrappers import BulkWriterFactory
from strom.api.serialization import (
    ByteArraySchema,
    DeserializationSchema,
    Encoder,
    RowFieldExtractorSchema,
    SerializationSchema,
    SimpleStringSchema,
)

__all__ = [
    "BulkWriterFactory",
    "ByteArraySchema",
    "RowFieldExtractorSchema",
    "DeserializationSchema",
    "Encoder",
    "SerializationSchema",
    "SimpleStringSchema",
]
