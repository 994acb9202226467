"""PyFlink's ``pyflink.common.serializer``: re-exports only."""
from strom.api.serialization import TypeSerializer

__all__ = ["TypeSerializer"]
