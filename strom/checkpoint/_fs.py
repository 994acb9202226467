"""The three places checkpoint bytes can live: process memory, a local directory, any fsspec URL.

Internal to :mod:`strom.checkpoint.storage`. Each backend takes and returns full paths in its
own spelling (``memory://job/chk-1``, ``/abs/dir/job/chk-1``, ``s3://bucket/p/job/chk-1``) and
offers only what checkpoint storage needs: an atomic whole-file write, a whole-file read,
listing the names in a directory, and removing a directory tree.

* ``memory://...``: a module-level registry, so ``load_checkpoint`` works on those paths within
  the process (tests; the bytes still round-trip, so restore runs the same code).
* a plain path or ``file:///abs/path``: the local filesystem; a write is temp file + fsync +
  ``os.replace`` + fsync of the directory, so a reader sees all of a file or none of it.
* anything else with ``://`` (``s3://bucket/prefix``, ...): fsspec, imported lazily. A write is
  one PUT, which S3 makes visible atomically. For ``s3://`` the endpoint comes from the standard
  ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` environment variable when set (MinIO, moto,
  ...); credentials come from the usual AWS chain.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from typing import Any, Protocol

from strom.errors import CheckpointError

MEMORY = "memory://"


class Backend(Protocol):
    """What checkpoint storage needs from a filesystem. Thread-safe; paths are full paths."""

    def join(self, base: str, *names: str) -> str: ...
    def parent(self, path: str) -> str: ...
    def write_atomic(self, path: str, data: bytes) -> None: ...
    def read(self, path: str) -> bytes: ...  # raises FileNotFoundError
    def exists(self, path: str) -> bool: ...
    def listdir(self, path: str) -> list[str]: ...  # child names; [] when absent
    def size(self, path: str) -> int: ...  # raises FileNotFoundError
    def remove(self, path: str) -> None: ...  # a file; no error when absent
    def remove_tree(self, path: str) -> None: ...  # no error when absent


def _slash_join(base: str, *names: str) -> str:
    return "/".join([base.rstrip("/"), *names])


def _slash_parent(path: str) -> str:
    head, _, _ = path.rstrip("/").rpartition("/")
    return head


class MemoryBackend:
    """Bytes in a dict keyed by ``memory://`` path; one per process (see ``MEMORY_FS``)."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._lock = threading.Lock()

    join = staticmethod(_slash_join)
    parent = staticmethod(_slash_parent)

    def write_atomic(self, path: str, data: bytes) -> None:
        with self._lock:
            self._files[path] = bytes(data)

    def read(self, path: str) -> bytes:
        with self._lock:
            try:
                return self._files[path]
            except KeyError:
                raise FileNotFoundError(path) from None

    def exists(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        with self._lock:
            return path in self._files or any(p.startswith(prefix) for p in self._files)

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        with self._lock:
            names = {p[len(prefix):].split("/", 1)[0] for p in self._files if p.startswith(prefix)}
        return sorted(names)

    def size(self, path: str) -> int:
        return len(self.read(path))

    def remove(self, path: str) -> None:
        with self._lock:
            self._files.pop(path, None)

    def remove_tree(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        with self._lock:
            for p in [p for p in self._files if p == path or p.startswith(prefix)]:
                del self._files[p]


MEMORY_FS = MemoryBackend()


class LocalBackend:
    """The local filesystem; writes are temp file + fsync + ``os.replace``."""

    @staticmethod
    def join(base: str, *names: str) -> str:
        return os.path.join(base, *names)

    @staticmethod
    def parent(path: str) -> str:
        return os.path.dirname(path.rstrip(os.sep))

    def write_atomic(self, path: str, data: bytes) -> None:
        directory, name = os.path.split(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(directory)

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def size(self, path: str) -> int:
        return os.path.getsize(path)

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def remove_tree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FsspecBackend:
    """Any fsspec filesystem (S3 through s3fs); paths keep their ``proto://`` prefix."""

    def __init__(self, fs: Any, protocol: str) -> None:
        self._fs = fs
        self._protocol = protocol

    join = staticmethod(_slash_join)
    parent = staticmethod(_slash_parent)

    def _strip(self, path: str) -> str:
        return self._fs._strip_protocol(path)

    def write_atomic(self, path: str, data: bytes) -> None:
        self._fs.pipe_file(self._strip(path), bytes(data))

    def read(self, path: str) -> bytes:
        return self._fs.cat_file(self._strip(path))

    def exists(self, path: str) -> bool:
        self._fs.invalidate_cache(self._strip(path))
        return bool(self._fs.exists(self._strip(path)))

    def listdir(self, path: str) -> list[str]:
        stripped = self._strip(path).rstrip("/")
        self._fs.invalidate_cache(stripped)
        try:
            entries = self._fs.ls(stripped, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        children = (e.rstrip("/") for e in entries)
        return sorted({c.rsplit("/", 1)[-1] for c in children if c != stripped})

    def size(self, path: str) -> int:
        self._fs.invalidate_cache(self._strip(path))
        return int(self._fs.size(self._strip(path)))

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._strip(path))

    def remove_tree(self, path: str) -> None:
        stripped = self._strip(path).rstrip("/")
        self._fs.invalidate_cache(stripped)
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm(stripped, recursive=True)
        self._fs.invalidate_cache(stripped)


_FSSPEC_LOCK = threading.Lock()
_FSSPEC: dict[tuple[str, str], Any] = {}


def fsspec_filesystem(url: str, where: str, error: type[Exception],
                      expected: str = "a local path, file://, s3:// or another fsspec URL") -> Any:
    """The fsspec filesystem for ``url``'s scheme (and S3 endpoint), made once per process.

    A missing implementation or an unknown scheme raises ``error`` naming ``where`` (say,
    "checkpoint storage 's3://b/chk'") with the package to install, or what was expected.
    """
    protocol = url.split("://", 1)[0]
    options: dict[str, Any] = {}
    endpoint = ""
    if protocol in ("s3", "s3a"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL", "")
        if endpoint:
            options["client_kwargs"] = {"endpoint_url": endpoint}
    key = (protocol, endpoint)
    with _FSSPEC_LOCK:
        if key in _FSSPEC:
            return _FSSPEC[key]
        try:
            import fsspec
            fs = fsspec.filesystem(protocol, **options)
        except ImportError as exc:
            install = ("pip install 'strom[s3]'" if protocol in ("s3", "s3a") else
                       f"pip install fsspec and its {protocol}:// implementation")
            msg = (f"{where}: the {protocol}:// scheme needs fsspec and its {protocol} "
                   f"filesystem, which are not installed ({exc}). Hint: {install}, or use a "
                   "local directory.")
            raise error(msg) from exc
        except ValueError as exc:  # fsspec: unknown protocol
            msg = (f"{where}: no filesystem knows the scheme {protocol!r} ({exc}). Expected "
                   f"{expected}.")
            raise error(msg) from exc
        _FSSPEC[key] = fs
        return fs


def _fsspec_backend(url: str) -> FsspecBackend:
    fs = fsspec_filesystem(url, f"checkpoint storage {url!r}", CheckpointError,
                           "a local path, file://, memory://, s3:// or another fsspec URL")
    return FsspecBackend(fs, url.split("://", 1)[0])


def resolve(path: str) -> tuple[Backend, str]:
    """The backend for ``path`` and the path in that backend's spelling.

    ``memory://`` stays as is; ``file://`` and plain paths become absolute local paths; other
    URLs go to fsspec and lose any trailing slash.
    """
    if path.startswith(MEMORY):
        return MEMORY_FS, path.rstrip("/")
    if path.startswith("file://"):
        return LocalBackend(), os.path.abspath(path[len("file://"):])
    if "://" in path:
        return _fsspec_backend(path), path.rstrip("/")
    return LocalBackend(), os.path.abspath(os.path.expanduser(path))
