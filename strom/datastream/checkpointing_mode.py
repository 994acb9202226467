"""PyFlink's ``pyflink.datastream.checkpointing_mode``: re-exports only."""
from strom.api.configuration import CheckpointingMode  # noqa: F401
