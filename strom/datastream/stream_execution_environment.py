"""PyFlink's ``pyflink.datastream.stream_execution_environment``: re-exports only."""
from strom.api.environment import StreamExecutionEnvironment  # noqa: F401
