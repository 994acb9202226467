"""PyFlink's ``pyflink.datastream.state_backend``: re-exports only."""
from strom.api.state_backend import (
    EmbeddedRocksDBStateBackend,
    FsStateBackend,
    HashMapStateBackend,
    MemoryStateBackend,
    PredefinedOptions,
    RocksDBStateBackend,
    StateBackend,
)

__all__ = ["EmbeddedRocksDBStateBackend", "FsStateBackend", "HashMapStateBackend",
           "MemoryStateBackend", "PredefinedOptions", "RocksDBStateBackend", "StateBackend"]
