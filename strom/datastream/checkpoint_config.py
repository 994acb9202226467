"""PyFlink's ``pyflink.datastream.checkpoint_config``: re-exports only."""
from strom.api.checkpoint_config import (  # noqa: F401
    CheckpointConfig,
    ExternalizedCheckpointCleanup,
)
