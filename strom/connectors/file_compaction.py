"""PyFlink's file-compaction settings for ``FileSink``: ``FileCompactStrategy`` (when to
compact) and ``FileCompactor`` (how). They build and compare as values; strom does not compact
part files, so ``FileSink...enable_compact(strategy, compactor)`` raises
``UnsupportedFeatureError`` naming what to do instead (roll larger part files).

Example::

    >>> strategy = FileCompactStrategy.builder().set_size_threshold(1 << 20).build()
    >>> strategy.size_threshold, FileCompactor.concat_file_compactor(b"\\n").file_delimiter
    (1048576, b'\\n')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strom.errors import JobDefinitionError, UnsupportedError, describe

__all__ = ["FileCompactStrategy", "FileCompactor"]


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise JobDefinitionError(f"FileCompactStrategy.Builder.{where}: expected an int > 0, "
                                 f"got {describe(value)}")
    return value


@dataclass(frozen=True, init=False)
class FileCompactStrategy:
    """When the sink would compact: every ``num_checkpoints_before_compaction`` checkpoints
    and/or once pending files reach ``size_threshold`` bytes, with ``num_compact_threads``."""

    num_checkpoints_before_compaction: int = -1
    size_threshold: int = -1
    num_compact_threads: int = -1

    def __init__(self, j_file_compact_strategy: Any = None, *, num_checkpoints: int = -1,
                 size_threshold: int = -1, num_threads: int = -1) -> None:
        if j_file_compact_strategy is not None:
            raise UnsupportedError("FileCompactStrategy(j_...): strom has no Java strategy to "
                                   "wrap; hint: FileCompactStrategy.builder()...build()")
        object.__setattr__(self, "num_checkpoints_before_compaction", num_checkpoints)
        object.__setattr__(self, "size_threshold", size_threshold)
        object.__setattr__(self, "num_compact_threads", num_threads)

    @staticmethod
    def builder() -> FileCompactStrategy.Builder:
        """A builder with no trigger set."""
        return FileCompactStrategy.Builder()

    class Builder:
        """Sets the strategy's triggers; Flink requires at least one."""

        def __init__(self) -> None:
            self._checkpoints = -1
            self._size = -1
            self._threads = -1

        def enable_compaction_on_checkpoint(self, num_checkpoints_before_compaction: int
                                            ) -> FileCompactStrategy.Builder:
            """Compact every that many checkpoints."""
            self._checkpoints = _positive(num_checkpoints_before_compaction,
                                          "enable_compaction_on_checkpoint")
            return self

        def set_size_threshold(self, size_threshold: int) -> FileCompactStrategy.Builder:
            """Compact once the pending files reach this many bytes."""
            self._size = _positive(size_threshold, "set_size_threshold")
            return self

        def set_num_compact_threads(self, num_compact_threads: int) -> FileCompactStrategy.Builder:
            """How many threads would compact."""
            self._threads = _positive(num_compact_threads, "set_num_compact_threads")
            return self

        def build(self) -> FileCompactStrategy:
            """The strategy."""
            if self._checkpoints < 0 and self._size < 0:
                raise JobDefinitionError("FileCompactStrategy: set a trigger, "
                                         "enable_compaction_on_checkpoint(n) or "
                                         "set_size_threshold(bytes)")
            return FileCompactStrategy(num_checkpoints=self._checkpoints,
                                       size_threshold=self._size, num_threads=self._threads)


@dataclass(frozen=True, init=False)
class FileCompactor:
    """How the sink would compact: concatenate files (with ``file_delimiter`` between them) or
    keep a single file as it is (``identical``)."""

    kind: str = "concat"
    file_delimiter: bytes | None = None

    def __init__(self, j_file_compactor: Any = None, *, kind: str = "concat",
                 file_delimiter: bytes | None = None) -> None:
        if j_file_compactor is not None:
            raise UnsupportedError("FileCompactor(j_...): strom has no Java compactor to wrap; "
                                   "hint: FileCompactor.concat_file_compactor()")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "file_delimiter", file_delimiter)

    @staticmethod
    def concat_file_compactor(file_delimiter: bytes | None = None) -> FileCompactor:
        """Concatenate the files, ``file_delimiter`` between two."""
        return FileCompactor(kind="concat", file_delimiter=file_delimiter)

    @staticmethod
    def identical_file_compactor() -> FileCompactor:
        """Copy a single file unchanged."""
        return FileCompactor(kind="identical")
