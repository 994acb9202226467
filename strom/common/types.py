"""PyFlink's ``pyflink.common.types``: re-exports only."""
from strom.api.row import Row, RowKind

__all__ = ["Row", "RowKind"]
