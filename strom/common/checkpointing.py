"""``CheckpointingMode`` (PyFlink keeps it in ``pyflink.datastream.checkpointing_mode``; older
examples import it from ``pyflink.common.checkpointing``): re-exports only."""
from strom.api.configuration import CheckpointingMode

__all__ = ["CheckpointingMode"]
