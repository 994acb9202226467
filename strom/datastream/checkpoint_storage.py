"""PyFlink's ``pyflink.datastream.checkpoint_storage``: re-exports only."""
from strom.api.checkpoint_storage import (
    CheckpointStorage,
    FileSystemCheckpointStorage,
    JobManagerCheckpointStorage,
)
from strom.api.java_wrappers import CustomCheckpointStorage

__all__ = ["CheckpointStorage", "CustomCheckpointStorage", "FileSystemCheckpointStorage", "JobManagerCheckpointStorage"]
