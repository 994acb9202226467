"""PyFlink's ``pyflink.datastream.connectors.file_system``: re-exports only (the sink side)."""
from strom.api.serialization import Encoder  # noqa: F401
from strom.connectors.file_system import (  # noqa: F401
    BucketAssigner,
    DefaultRollingPolicy,
    FileSink,
    OnCheckpointRollingPolicy,
    OutputFileConfig,
    RollingPolicy,
)
