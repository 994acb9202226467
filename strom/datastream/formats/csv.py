"""PyFlink's ``pyflink.datastream.formats.csv``: re-exports only."""
from strom.connectors.csv_rows import (
    CsvBulkWriters,
    CsvRowDeserializationSchema,
    CsvRowSerializationSchema,
)
from strom.connectors.file_formats import CsvReaderFormat, CsvSchema, CsvSchemaBuilder

__all__ = [
    "CsvBulkWriters", "CsvReaderFormat", "CsvRowDeserializationSchema", "CsvRowSerializationSchema",
    "CsvSchema", "CsvSchemaBuilder",
]
