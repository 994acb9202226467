"""PyFlink's checkpoint storages: where completed checkpoints are written.

``JobManagerCheckpointStorage`` keeps checkpoints in the job's memory (Flink's default when no
checkpoint directory is configured); ``FileSystemCheckpointStorage(path)`` writes them under a
directory or URI. Give either to ``CheckpointConfig.set_checkpoint_storage``, or set
``execution.checkpointing.dir`` in the configuration.

Example::

    >>> FileSystemCheckpointStorage("file:///tmp/checkpoints").checkpoint_path
    'file:///tmp/checkpoints'
"""
from __future__ import annotations

from dataclasses import dataclass

from strom.errors import JobDefinitionError, UnsupportedError, describe


class CheckpointStorage:
    """Base of the checkpoint storages (PyFlink's ``CheckpointStorage``)."""

    checkpoint_path: str | None


@dataclass(frozen=True, slots=True)
class JobManagerCheckpointStorage(CheckpointStorage):
    """Checkpoints in memory; ``checkpoint_path``, if given, is where savepoints and metadata go.

    ``max_state_size`` is PyFlink's signature only: strom enforces no size limit, so passing
    one raises :class:`~strom.errors.UnsupportedError`.
    """

    checkpoint_path: str | None = None
    max_state_size: int | None = None

    def __post_init__(self) -> None:
        _unsupported("JobManagerCheckpointStorage", "max_state_size", self.max_state_size, None)

    def get_checkpoint_path(self) -> str | None:
        """PyFlink's getter: the optional path, or ``None``."""
        return self.checkpoint_path

    def get_max_state_size(self) -> int | None:
        """PyFlink's getter: the size given to the constructor, or ``None``."""
        return self.max_state_size

    def get_savepoint_path(self) -> str | None:
        """``None``: a storage holds no savepoint directory in strom (set it with
        ``env.set_default_savepoint_directory`` or ``execution.checkpointing.savepoint-dir``)."""
        return None


@dataclass(frozen=True, slots=True)
class FileSystemCheckpointStorage(CheckpointStorage):
    """Checkpoints as files under ``checkpoint_path`` (a path, ``file://`` or ``s3://`` URI).

    The size tuning arguments are PyFlink's signature only; strom's file layout has no such
    knobs, so passing them raises :class:`~strom.errors.UnsupportedError`.
    """

    checkpoint_path: str | None = None
    file_state_size_threshold: int | None = None
    write_buffer_size: int = -1

    def __post_init__(self) -> None:
        if not isinstance(self.checkpoint_path, str) or not self.checkpoint_path:
            msg = (f"FileSystemCheckpointStorage: expected a directory path or URI such as "
                   f"'file:///tmp/checkpoints' but got {describe(self.checkpoint_path)}")
            raise JobDefinitionError(msg)
        _unsupported("FileSystemCheckpointStorage", "file_state_size_threshold",
                     self.file_state_size_threshold, None)
        _unsupported("FileSystemCheckpointStorage", "write_buffer_size", self.write_buffer_size, -1)

    def get_checkpoint_path(self) -> str:
        """PyFlink's getter: the checkpoint directory."""
        return self.checkpoint_path  # type: ignore[return-value]

    def get_savepoint_path(self) -> str | None:
        """``None``: a storage holds no savepoint directory in strom (set it with
        ``env.set_default_savepoint_directory`` or ``execution.checkpointing.savepoint-dir``)."""
        return None

    def get_min_file_size_threshold(self) -> int:
        """-1 (not set): strom has no such threshold (passing one is rejected)."""
        return -1

    def get_write_buffer_size(self) -> int:
        """-1 (not set): strom has no write-buffer setting."""
        return self.write_buffer_size


def _unsupported(owner: str, name: str, value: object, default: object) -> None:
    if value != default:
        msg = (f"{owner}({name}={describe(value)}): strom does not honour {name}; "
               f"hint: leave it out (strom writes each checkpoint as whole files)")
        raise UnsupportedError(msg)
