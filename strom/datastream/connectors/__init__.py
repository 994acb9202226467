"""PyFlink's ``pyflink.datastream.connectors``: re-exports only."""
from strom.api.sources import NumberSequenceSource, Source
from strom.datastream.connectors.file_system import FileSink

__all__ = ["FileSink", "NumberSequenceSource", "Source"]
