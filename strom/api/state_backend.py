"""PyFlink's state backends: which data structure holds keyed state while a job runs.

strom has one: :class:`HashMapStateBackend`, state as Python objects on the heap (Flink's
default). :class:`EmbeddedRocksDBStateBackend` and the deprecated :class:`RocksDBStateBackend`
can be built, so ported code imports, but choosing them raises
:class:`~strom.errors.UnsupportedError`. The deprecated :class:`MemoryStateBackend` and
:class:`FsStateBackend` are the hashmap backend plus a checkpoint storage, as in Flink 1.13+.

Each backend names its kind (``"hashmap"`` or ``"rocksdb"``); :func:`backend_kind` reads the
``state.backend.type`` key (or its 1.x name ``state.backend``).

Example::

    >>> env.set_state_backend(HashMapStateBackend())  # doctest: +SKIP
    >>> backend_kind({"state.backend.type": "hashmap"})
    'hashmap'
"""
from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from strom.api.checkpoint_storage import (
    CheckpointStorage,
    FileSystemCheckpointStorage,
    JobManagerCheckpointStorage,
)
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe

HASHMAP = "hashmap"
ROCKSDB = "rocksdb"
NO_ROCKSDB = ("strom has no RocksDB state backend yet; use HashMapStateBackend (state on the "
              "Python heap, the default)")


class StateBackend:
    """Base of the state backends (PyFlink's ``StateBackend``).

    Attributes:
        kind: ``"hashmap"`` or ``"rocksdb"``, the name the runtime builds a backend from.
        checkpoint_storage: the storage a deprecated backend implies, or ``None``.
        savepoint_dir: the savepoint directory a deprecated backend implies, or ``None``.
    """

    kind = HASHMAP
    checkpoint_storage: CheckpointStorage | None = None
    savepoint_dir: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HashMapStateBackend(StateBackend):
    """Keyed state as Python objects in dicts on the heap (strom's only backend, the default)."""

    def __init__(self) -> None:
        self.kind = HASHMAP

    def __str__(self) -> str:
        return "HashMapStateBackend"


class PredefinedOptions(Enum):
    """RocksDB tuning presets (PyFlink's names); strom has no RocksDB backend."""

    DEFAULT = 0
    SPINNING_DISK_OPTIMIZED = 1
    SPINNING_DISK_OPTIMIZED_HIGH_MEM = 2
    FLASH_SSD_OPTIMIZED = 3


class EmbeddedRocksDBStateBackend(StateBackend):
    """Flink's RocksDB backend. Building one works; ``env.set_state_backend`` with it raises."""

    def __init__(self, enable_incremental_checkpointing: bool | None = None) -> None:
        self.kind = ROCKSDB
        self.incremental = bool(enable_incremental_checkpointing)

    def is_incremental_checkpoints_enabled(self) -> bool:
        return self.incremental

    def _unsupported(self, call: str) -> UnsupportedError:
        return UnsupportedError(f"{type(self).__name__}.{call}: {NO_ROCKSDB}")

    def set_db_storage_paths(self, *paths: str) -> None:
        raise self._unsupported("set_db_storage_paths")

    def set_predefined_options(self, options: PredefinedOptions) -> None:
        raise self._unsupported("set_predefined_options")

    def set_options(self, options_factory_class_name: str) -> None:
        raise self._unsupported("set_options")

    def set_number_of_transfer_threads(self, number_of_transfering_threads: int) -> None:
        raise self._unsupported("set_number_of_transfer_threads")

    def get_db_storage_paths(self) -> list[str]:
        raise self._unsupported("get_db_storage_paths")

    def get_predefined_options(self) -> PredefinedOptions:
        raise self._unsupported("get_predefined_options")

    def get_options(self) -> str | None:
        raise self._unsupported("get_options")

    def get_number_of_transfer_threads(self) -> int:
        raise self._unsupported("get_number_of_transfer_threads")

    def __str__(self) -> str:
        return "EmbeddedRocksDBStateBackend"


class RocksDBStateBackend(EmbeddedRocksDBStateBackend):
    """Deprecated PyFlink name: RocksDB plus a checkpoint directory."""

    def __init__(self, checkpoint_data_uri: str | None = None,
                 enable_incremental_checkpointing: bool | None = None,
                 checkpoint_stream_backend: StateBackend | None = None) -> None:
        super().__init__(enable_incremental_checkpointing)
        if checkpoint_data_uri is not None:
            self.checkpoint_storage = FileSystemCheckpointStorage(checkpoint_data_uri)


class MemoryStateBackend(HashMapStateBackend):
    """Deprecated PyFlink name: the hashmap backend with checkpoints kept in memory.

    ``checkpoint_path``/``savepoint_path`` are where checkpoint metadata and savepoints go.
    ``max_state_size`` is not enforced by strom, so passing it raises ``UnsupportedError``;
    ``using_asynchronous_snapshots`` is ignored, as in Flink (snapshots are always asynchronous).
    """

    def __init__(self, checkpoint_path: str | None = None, savepoint_path: str | None = None,
                 max_state_size: int | None = None,
                 using_asynchronous_snapshots: bool | None = None) -> None:
        super().__init__()
        if max_state_size is not None:
            msg = (f"MemoryStateBackend(max_state_size={describe(max_state_size)}): strom does "
                   f"not limit the checkpointed state size; hint: leave max_state_size out")
            raise UnsupportedError(msg)
        self.checkpoint_storage = JobManagerCheckpointStorage(checkpoint_path)
        self.savepoint_dir = savepoint_path

    def __str__(self) -> str:
        return "MemoryStateBackend"


class FsStateBackend(HashMapStateBackend):
    """Deprecated PyFlink name: the hashmap backend with checkpoints as files under a directory.

    The size tuning arguments are rejected by ``FileSystemCheckpointStorage`` (strom has no such
    knobs); ``using_asynchronous_snapshots`` is ignored, as in Flink.
    """

    def __init__(self, checkpoint_directory_uri: str | None = None,
                 default_savepoint_directory_uri: str | None = None,
                 file_state_size_threshold: int | None = None,
                 write_buffer_size: int | None = None,
                 using_asynchronous_snapshots: bool | None = None) -> None:
        super().__init__()
        self.checkpoint_storage = FileSystemCheckpointStorage(
            checkpoint_directory_uri, file_state_size_threshold,  # type: ignore[arg-type]
            -1 if write_buffer_size is None else write_buffer_size)
        self.savepoint_dir = default_savepoint_directory_uri

    def get_checkpoint_path(self) -> str:
        return self.checkpoint_storage.checkpoint_path  # type: ignore[union-attr,return-value]

    def __str__(self) -> str:
        return "FsStateBackend"


def chosen_kind(backend: object, where: str = "set_state_backend") -> str:
    """The kind of a backend object, checked: only ``"hashmap"`` is available.

    Raises:
        InvalidTypeError: ``backend`` is not a state backend.
        UnsupportedError: it is a RocksDB backend.
    """
    if not isinstance(backend, StateBackend):
        msg = (f"{where}: expected a state backend such as HashMapStateBackend() but got "
               f"{describe(backend)}")
        raise InvalidTypeError(msg)
    if backend.kind == ROCKSDB:
        raise UnsupportedError(f"{where}({type(backend).__name__}(...)): {NO_ROCKSDB}")
    return backend.kind


_KIND_NAMES = {"hashmap": HASHMAP, "jobmanager": HASHMAP, "filesystem": HASHMAP,
               "rocksdb": ROCKSDB}


def backend_kind(settings: Mapping[str, str]) -> str | None:
    """The kind named by ``state.backend.type`` (or ``state.backend``), or ``None`` if unset.

    Accepts ``hashmap`` and Flink 1.x's ``jobmanager``/``filesystem`` (both hashmap).

    Raises:
        UnsupportedError: ``rocksdb``.
        JobDefinitionError: any other value.
    """
    for key in ("state.backend.type", "state.backend"):
        if key in settings:
            text = str(settings[key]).strip()
            kind = _KIND_NAMES.get(text.lower())
            if kind == ROCKSDB:
                raise UnsupportedError(f"configuration key {key!r} is {text!r}: {NO_ROCKSDB}")
            if kind is None:
                msg = (f"configuration key {key!r}: expected hashmap (or rocksdb, which strom "
                       f"does not have) but got {text!r}")
                raise JobDefinitionError(msg)
            return kind
    return None
