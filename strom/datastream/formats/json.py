"""PyFlink's ``pyflink.datastream.formats.json``: re-exports only."""
from strom.connectors.json_rows import (
    JsonRowDeserializationSchema,
    JsonRowSerializationSchema,
)

__all__ = [
    "JsonRowDeserializationSchema", "JsonRowSerializationSchema",
]
