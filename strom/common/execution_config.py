"""PyFlink's ``pyflink.common.execution_config``: re-exports only."""
from strom.api.configuration import ExecutionConfig

__all__ = ["ExecutionConfig"]
