"""PyFlink's ``pyflink.datastream.formats.csv`` (the reading side): re-exports only."""
from strom.connectors.file_formats import CsvReaderFormat, CsvSchema, CsvSchemaBuilder

__all__ = [
    "CsvReaderFormat", "CsvSchema", "CsvSchemaBuilder",
]
