"""Builds a subtask's keyed state backend from the job's chosen kind.

The environment records the state backend as a plain name (``"hashmap"``, chosen with
``env.set_state_backend(HashMapStateBackend())`` or ``state.backend.type: hashmap``); the runtime
calls :func:`create_keyed_backend` once per keyed subtask with that name.

Example::

    >>> from strom.state.key_groups import key_group_range
    >>> from strom.time.clock import ManualClock
    >>> backend = create_keyed_backend("hashmap", key_group_range(0, 1, 128), 128, ManualClock())
    >>> type(backend).__name__
    'MemoryStateBackend'
"""
from __future__ import annotations

from strom.errors import UnsupportedError
from strom.state.backend import KeyedStateBackend
from strom.state.memory import MemoryStateBackend
from strom.time.clock import Clock

#: the kinds :func:`create_keyed_backend` builds
KINDS = ("hashmap",)


def create_keyed_backend(kind: str, key_group_range: range, max_parallelism: int,
                         clock: Clock) -> KeyedStateBackend:
    """A new, empty keyed state backend of ``kind`` for one subtask.

    Args:
        kind: ``"hashmap"`` (state on the Python heap: :class:`MemoryStateBackend`).
        key_group_range: the key groups the subtask owns (``key_group_range(i, p, maxp)``).
        max_parallelism: the job's number of key groups.
        clock: processing time, for state TTL.

    Raises:
        UnsupportedError: any other kind (for example ``"rocksdb"``).
    """
    if kind == "hashmap":
        return MemoryStateBackend(key_group_range, max_parallelism, clock)
    msg = (f"create_keyed_backend: expected a state backend kind in {KINDS} but got {kind!r}; "
           f"hint: strom has no RocksDB state backend yet, use 'hashmap' (HashMapStateBackend)")
    raise UnsupportedError(msg)
