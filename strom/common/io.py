"""PyFlink's ``pyflink.common.io``: re-exports only."""
from strom.api.java_wrappers import InputFormat

__all__ = ["InputFormat"]
