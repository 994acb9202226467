"""PyFlink's ``pyflink.datastream.connectors``: re-exports only."""
from strom.api.sources import NumberSequenceSource, Source

__all__ = ["NumberSequenceSource", "Source"]
