"""``FileSource``: PyFlink's file source builder over strom's resumable file split source.

Build it as in PyFlink and hand it to ``from_source``::

    source = (FileSource.for_record_stream_format(StreamFormat.text_line_format(), "/data/in")
              .monitor_continuously(Duration.of_seconds(10))   # or: bounded (the default)
              .build())
    env.from_source(source, WatermarkStrategy.no_watermarks(), "files")

Every file under the paths (files, or directories read recursively; names starting with ``.``
or ``_`` below a path skipped) is a split; its position, the number of its records already
emitted, is checkpointed, so recovery and rescaling from a savepoint resume every file exactly
(see :mod:`strom.api.file_source`, which also lists what a path may be: local, ``file://``,
``s3://`` through fsspec). Bounded by default (the files present at the start); with
``monitor_continuously`` the paths are listed again every interval on the task's timers and each
new file is read once (the files already seen are checkpointed too). Formats:
``StreamFormat.text_line_format``, ``CsvReaderFormat`` and strom's ``JsonLinesFormat``
(:mod:`strom.connectors.file_formats`), or any object with ``read(path, position)``.

Flink's file enumerator splits large files into byte ranges; strom reads a file as one split
(``FileEnumeratorProvider.default_non_splittable_file_enumerator``), so parallelism helps when
there are several files. Bulk formats (Parquet, ORC, Avro) are not available.
"""
from __future__ import annotations

from typing import Any

from strom.api.file_source import FileSplitSource, TextLineFormat
from strom.errors import InvalidTypeError, UnsupportedError, describe
from strom.runtime.operators.sources import SourceOperator
from strom.time.durations import Duration

__all__ = ["BulkFormat", "FileEnumeratorProvider", "FileSource", "FileSourceBuilder",
           "FileSplitAssignerProvider", "StreamFormat"]


class StreamFormat:
    """A format reading records one after the other from a file (PyFlink's ``StreamFormat``).

    Subclasses implement ``read(path, position)``: the records of ``path`` from the
    ``position``-th on (a generator closing the file when done).
    """

    produced_type: Any = None

    @staticmethod
    def text_line_format(charset_name: str = "UTF-8") -> StreamFormat:
        """Each line is a ``str`` record, without its line ending (``\\n``, ``\\r\\n``, ``\\r``)."""
        return _TextLines(charset_name)

    def read(self, path: str, position: int) -> Any:
        """The records of ``path`` after its first ``position`` ones."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(path, position)")


class _TextLines(TextLineFormat, StreamFormat):
    """``StreamFormat.text_line_format``: the core text line format under PyFlink's type."""


class BulkFormat:
    """PyFlink's batch-of-records formats (Parquet, ORC, Avro): not available in strom."""


class FileEnumeratorProvider:
    """Which files (and file regions) become splits. strom reads every file whole, so both of
    PyFlink's providers mean the same: a split per file."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    @staticmethod
    def default_splittable_file_enumerator() -> FileEnumeratorProvider:
        """Flink splits files into byte ranges here; strom reads each file as one split."""
        return FileEnumeratorProvider("splittable")

    @staticmethod
    def default_non_splittable_file_enumerator() -> FileEnumeratorProvider:
        """One split per file (what strom always does)."""
        return FileEnumeratorProvider("non-splittable")

    def __repr__(self) -> str:
        return f"FileEnumeratorProvider({self.kind!r})"


class FileSplitAssignerProvider:
    """How splits go to readers. strom spreads files over subtasks by index (bounded) or by a
    stable hash of the path (continuous); locality does not apply to one machine."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    @staticmethod
    def locality_aware_split_assigner() -> FileSplitAssignerProvider:
        """Accepted; strom's assignment is the same for every provider."""
        return FileSplitAssignerProvider("locality-aware")

    def __repr__(self) -> str:
        return f"FileSplitAssignerProvider({self.kind!r})"


class FileSourceBuilder:
    """Configures a :class:`FileSource` (PyFlink's ``FileSourceBuilder``)."""

    def __init__(self, stream_format: Any, paths: tuple[Any, ...]) -> None:
        if not callable(getattr(stream_format, "read", None)):
            msg = (f"FileSource.for_record_stream_format: expected a StreamFormat, got "
                   f"{describe(stream_format)}; hint: StreamFormat.text_line_format()")
            raise InvalidTypeError(msg)
        self._format = stream_format
        self._paths = paths
        self._interval_ms: int | None = None
        FileSplitSource(paths, stream_format)  # check the paths now, where the job is defined

    def monitor_continuously(self, discovery_interval: Duration) -> FileSourceBuilder:
        """Continuous (unbounded) mode: list the paths every ``discovery_interval`` and read
        each new file once."""
        if not isinstance(discovery_interval, Duration):
            msg = (f"FileSourceBuilder.monitor_continuously: expected a Duration, got "
                   f"{describe(discovery_interval)}; hint: Duration.of_seconds(10)")
            raise InvalidTypeError(msg)
        self._interval_ms = max(1, discovery_interval.to_milliseconds())
        return self

    def process_static_file_set(self) -> FileSourceBuilder:
        """Bounded mode (the default): the files present when the job starts, then the end."""
        self._interval_ms = None
        return self

    def set_file_enumerator(self, file_enumerator: FileEnumeratorProvider) -> FileSourceBuilder:
        """Accepted for both of PyFlink's providers: strom reads each file as one split."""
        if not isinstance(file_enumerator, FileEnumeratorProvider):
            msg = (f"FileSourceBuilder.set_file_enumerator: expected a FileEnumeratorProvider, "
                   f"got {describe(file_enumerator)}; hint: "
                   "FileEnumeratorProvider.default_non_splittable_file_enumerator()")
            raise InvalidTypeError(msg)
        return self

    def set_split_assigner(self, split_assigner: FileSplitAssignerProvider) -> FileSourceBuilder:
        """Accepted: strom assigns splits the same way for every assigner (see the class)."""
        if not isinstance(split_assigner, FileSplitAssignerProvider):
            msg = (f"FileSourceBuilder.set_split_assigner: expected a FileSplitAssignerProvider, "
                   f"got {describe(split_assigner)}; hint: "
                   "FileSplitAssignerProvider.locality_aware_split_assigner()")
            raise InvalidTypeError(msg)
        return self

    def build(self) -> FileSource:
        """The source, for ``env.from_source(source, watermark_strategy, name)``."""
        return FileSource(FileSplitSource(self._paths, self._format, self._interval_ms))


class FileSource:
    """A source reading files (PyFlink's ``FileSource``); build it with
    :meth:`for_record_stream_format`."""

    def __init__(self, split_source: FileSplitSource) -> None:
        self._source = split_source

    @staticmethod
    def for_record_stream_format(stream_format: StreamFormat, *paths: str) -> FileSourceBuilder:
        """A builder of a source reading the files under ``paths`` with ``stream_format``."""
        return FileSourceBuilder(stream_format, paths)

    @staticmethod
    def for_bulk_file_format(bulk_format: BulkFormat, *paths: str) -> FileSourceBuilder:
        """Bulk formats (Parquet, ORC, Avro readers) are not available in strom."""
        msg = (f"FileSource.for_bulk_file_format(..., {', '.join(map(repr, paths))}): strom has "
               "no bulk readers (Parquet/ORC/Avro); hint: use for_record_stream_format with "
               "StreamFormat.text_line_format(), CsvReaderFormat or JsonLinesFormat")
        raise UnsupportedError(msg)

    # what from_source needs
    parallel = True

    @property
    def bounded(self) -> bool:
        """Whether the source ends (it does unless it monitors continuously)."""
        return self._source.bounded

    @property
    def produced_type(self) -> Any:
        """The type of the records, when the format declares it."""
        return self._source.produced_type

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths read (absolute local paths or URLs)."""
        return self._source.paths

    def create_operator(self, name: str) -> SourceOperator:
        """The runtime operator (one per subtask)."""
        return self._source.create_operator(name)

    def __repr__(self) -> str:
        return repr(self._source).replace("FileSplitSource", "FileSource", 1)
