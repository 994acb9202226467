"""PyFlink's ``pyflink.datastream.externalized_checkpoint_retention``: re-exports only."""
from strom.api.checkpoint_config import ExternalizedCheckpointRetention

__all__ = ["ExternalizedCheckpointRetention"]
