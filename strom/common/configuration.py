"""PyFlink's ``pyflink.common.configuration``: re-exports only."""
from strom.api.configuration import Configuration

__all__ = ["Configuration"]
