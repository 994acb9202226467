"""PyFlink's ``pyflink.datastream.state_backend``: re-exports only."""
from strom.api.java_wrappers import CustomStateBackend
from strom.api.state_backend import (
    EmbeddedRocksDBStateBackend,
    FsStateBackend,
    HashMapStateBackend,
    MemoryStateBackend,
    PredefinedOptions,
    RocksDBStateBackend,
    StateBackend,
)

__all__ = ["CustomStateBackend", "EmbeddedRocksDBStateBackend", "FsStateBackend", "HashMapStateBackend",
           "MemoryStateBackend", "PredefinedOptions", "RocksDBStateBackend", "StateBackend"]
