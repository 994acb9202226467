"""PyFlink's ``pyflink.datastream.connectors.number_seq``: re-exports only."""
from strom.api.sources import NumberSequenceSource

__all__ = [
    "NumberSequenceSource",
]
