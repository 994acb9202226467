"""PyFlink's ``pyflink.datastream.execution_mode``: re-exports only."""
from strom.api.environment import RuntimeExecutionMode

__all__ = ["RuntimeExecutionMode"]
