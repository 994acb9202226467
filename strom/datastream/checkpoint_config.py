"""PyFlink's ``pyflink.datastream.checkpoint_config``: re-exports only."""
from strom.api.checkpoint_config import CheckpointConfig  # noqa: F401
