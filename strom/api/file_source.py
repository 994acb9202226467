"""Files as a resumable split source: listing, opening and reading them line by line.

:class:`FileSplitSource` is the machinery under ``env.read_text_file`` and the PyFlink-style
``FileSource`` of :mod:`strom.connectors.file_source`: every file under the given paths (files,
or directories read recursively) is a *split*, identified by its path; its *position* is the
number of its records already emitted, so a checkpoint resumes every file exactly where it was
(a restore re-reads the file's first ``position`` records to skip them, which costs a pass over
that part of the file but needs no byte offsets from the format). Bounded: the files present
when the job starts, spread over the subtasks. Continuous (``discovery_interval_ms``): the paths
are listed again every interval and new files are read once each
(:mod:`strom.runtime.operators.split_discovery`).

Listing follows Flink's default enumerator: recursive, in sorted order, skipping every file or
directory *below* a given path whose name starts with ``.`` or ``_`` (hidden files, in-progress
files of writers such as strom's own ``FileSink``). Unlike Flink, a path given explicitly is read
even if its own name starts with one of those (it was asked for by name). A file is read once
by path in continuous mode, so write a new file under a hidden name and rename it when complete
(appends to an already-read file are not seen, as in Flink).

Paths are local paths, ``file://`` URIs, or any fsspec URL (``s3://bucket/prefix`` through
s3fs, whose endpoint comes from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` when set).
A *format* is any picklable object with ``read(path, position) -> iterator of records`` (records
from the ``position``-th on, the file closed when the iterator ends or is dropped) and optionally
``produced_type``; :class:`TextLineFormat` reads lines.
"""
from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from itertools import islice
from operator import methodcaller
from typing import Any

from strom.api.serialization import _charset
from strom.api.sources import Source
from strom.api.typeinfo import Types
from strom.checkpoint.storage import fsspec_filesystem
from strom.errors import JobDefinitionError, UnsupportedError, describe
from strom.runtime.operators.sources import SourceOperator, SplitSourceOperator
from strom.runtime.operators.split_discovery import DiscoveringSplitSourceOperator

__all__ = ["FileSplitSource", "TextLineFormat", "filesystem", "list_files", "normalize_path",
           "open_binary"]

_STRIP_NEWLINE = methodcaller("removesuffix", "\n")


def normalize_path(path: Any, where: str) -> str:
    """``path`` as an absolute local path or a ``scheme://`` URL; errors name ``where``."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path:
        msg = (f"{where}: expected a non-empty path or URL string, got {describe(path)}; "
               "hint: '/data/logs' or 's3://bucket/logs'")
        raise JobDefinitionError(msg)
    if path.startswith("file://"):
        path = path[len("file://"):]
    if "://" in path:
        return path.rstrip("/") if not path.endswith("://") else path
    return os.path.abspath(path)


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it (cached per scheme/endpoint)."""
    fs = fsspec_filesystem(url, repr(url), UnsupportedError)
    return fs, fs._strip_protocol(url)


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def list_files(paths: Sequence[str]) -> list[str]:
    """Every file under ``paths`` (each a file or a directory, read recursively), hidden ones
    below a given path skipped, in sorted order per path; a missing path is an error."""
    found: list[str] = []
    for path in paths:
        if "://" not in path:
            if os.path.isfile(path):
                found.append(path)
                continue
            if not os.path.isdir(path):
                raise FileNotFoundError(f"no file or directory {path!r}")
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _hidden(d))
                found.extend(os.path.join(root, f) for f in sorted(files) if not _hidden(f))
            continue
        fs, inner = filesystem(path)
        fs.invalidate_cache()
        protocol = path.split("://", 1)[0]
        if fs.isfile(inner):
            found.append(path)
            continue
        if not fs.isdir(inner):
            raise FileNotFoundError(f"no file or directory {path!r}")
        base = inner.rstrip("/")
        for entry in sorted(fs.find(base, withdirs=False, detail=False)):
            relative = entry[len(base):].strip("/")
            if relative and not any(_hidden(part) for part in relative.split("/")):
                found.append(f"{protocol}://{entry}")
    return found


def open_binary(path: str) -> Any:
    """``path`` opened for reading bytes (local or fsspec)."""
    if "://" not in path:
        return open(path, "rb")
    fs, inner = filesystem(path)
    return fs.open(inner, "rb")


def open_text(path: str, charset: str) -> Any:
    """``path`` opened for reading text with universal newlines (``\\r\\n`` and ``\\r`` end
    lines too, as Java's ``readLine``)."""
    if "://" not in path:
        return open(path, encoding=charset, newline=None)
    return io.TextIOWrapper(open_binary(path), encoding=charset, newline=None)


class TextLineFormat:
    """Each line of a text file is a record, without its line ending (Flink's
    ``TextLineInputFormat``); ``charset`` names the encoding."""

    produced_type = Types.STRING()

    def __init__(self, charset: str = "UTF-8") -> None:
        self.charset = _charset(charset, "StreamFormat.text_line_format")

    def read(self, path: str, position: int) -> Iterator[str]:
        """The lines of ``path`` from the ``position``-th (0-based) on."""
        with open_text(path, self.charset) as f:
            yield from map(_STRIP_NEWLINE, islice(f, position, None))

    def __repr__(self) -> str:
        return f"StreamFormat.text_line_format({self.charset!r})"


class FileSplitSource(Source):
    """The files under ``paths`` read with ``stream_format``; one split per file.

    Args:
        paths: files or directories (local, ``file://`` or fsspec URLs).
        stream_format: reads one file from a position (see the module docstring).
        discovery_interval_ms: None for a bounded source over the files present at the start;
            else list the paths again every this many milliseconds (continuous, unbounded).
    """

    def __init__(self, paths: Sequence[Any], stream_format: Any,
                 discovery_interval_ms: int | None = None, where: str = "FileSource") -> None:
        if not paths:
            msg = f"{where}: expected at least one path; hint: FileSource.for_record_stream_format(fmt, '/data/in')"
            raise JobDefinitionError(msg)
        self.paths = tuple(normalize_path(p, where) for p in paths)
        if not callable(getattr(stream_format, "read", None)):
            msg = (f"{where}: expected a stream format with read(path, position), got "
                   f"{describe(stream_format)}; hint: StreamFormat.text_line_format()")
            raise JobDefinitionError(msg)
        self.stream_format = stream_format
        if discovery_interval_ms is not None and (
                isinstance(discovery_interval_ms, bool) or not isinstance(discovery_interval_ms, int)
                or discovery_interval_ms <= 0):
            msg = (f"{where}: the discovery interval must be a positive number of milliseconds, "
                   f"got {describe(discovery_interval_ms)}; hint: Duration.of_seconds(10)")
            raise JobDefinitionError(msg)
        self.discovery_interval_ms = discovery_interval_ms
        self.produced_type = getattr(stream_format, "produced_type", None)

    @property
    def bounded(self) -> bool:  # type: ignore[override]
        """Whether the source ends (it does unless it monitors its paths continuously)."""
        return self.discovery_interval_ms is None

    def splits(self, parallelism: int) -> list[str]:
        """The files present now (bounded mode's splits)."""
        return list_files(self.paths)

    def read_split(self, split: str, position: int) -> Iterator[Any]:
        """The records of file ``split`` after its first ``position`` ones."""
        return self.stream_format.read(split, position)

    def create_operator(self, name: str) -> SourceOperator:
        if self.discovery_interval_ms is None:
            return SplitSourceOperator(name, self.splits, self.read_split)
        paths = self.paths
        return DiscoveringSplitSourceOperator(name, lambda: list_files(paths), self.read_split,
                                              self.discovery_interval_ms)

    def __repr__(self) -> str:
        mode = ("bounded" if self.discovery_interval_ms is None
                else f"monitored every {self.discovery_interval_ms} ms")
        return f"FileSplitSource({list(self.paths)!r}, {self.stream_format!r}, {mode})"
