"""PyFlink's ``pyflink.datastream.formats.json``: re-exports only."""
from strom.connectors.json_rows import (  # noqa: F401
    JsonRowDeserializationSchema,
    JsonRowSerializationSchema,
)
