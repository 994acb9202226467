"""The heap state backend: keyed state in Python dicts, snapshotted per key group.

Each state object keeps ``{namespace: {key: stored}}`` and a cached reference to the current
namespace's dict, so the per-record cost of ``ValueState.value()`` is an attribute read of
``current_key`` plus one ``dict.get``. Key groups are computed only at snapshot time.

Example:
    >>> from strom.state import ListStateDescriptor
    >>> from strom.time.clock import ManualClock
    >>> backend = MemoryStateBackend(range(0, 64), 128, ManualClock())
    >>> seen = backend.state(ListStateDescriptor("seen", None))
    >>> backend.current_key = "k"
    >>> seen.add(1); seen.add(2)
    >>> seen.get()
    [1, 2]
"""
from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from strom.errors import InvalidTypeError, JobDefinitionError, StateMigrationError, describe
from strom.state._heap_states import (
    HeapAggregatingState,
    HeapListState,
    HeapMapState,
    HeapReducingState,
    HeapStateBase,
    HeapValueState,
)
from strom.state._ttl_states import (
    TtlAggregatingState,
    TtlListState,
    TtlMapState,
    TtlReducingState,
    TtlValueState,
)
from strom.state.api import VOID_NAMESPACE, State
from strom.state.backend import SNAPSHOT_FORMAT, KeyedStateBackend
from strom.state.descriptors import StateDescriptor
from strom.state.key_groups import stable_hash
from strom.state.typed import typed_state
from strom.time.clock import Clock

__all__ = ["KeyedStateSnapshot", "MemoryStateBackend"]

_CLASSES: dict[tuple[str, bool], type] = {
    ("value", False): HeapValueState,
    ("list", False): HeapListState,
    ("map", False): HeapMapState,
    ("reducing", False): HeapReducingState,
    ("aggregating", False): HeapAggregatingState,
    ("value", True): TtlValueState,
    ("list", True): TtlListState,
    ("map", True): TtlMapState,
    ("reducing", True): TtlReducingState,
    ("aggregating", True): TtlAggregatingState,
}


class _Pending:
    """Restored entries of a state nobody has registered yet."""

    __slots__ = ("kind", "ttl", "tables")

    def __init__(self, kind: str, ttl: bool) -> None:
        self.kind = kind
        self.ttl = ttl
        self.tables: dict[Any, dict[Any, Any]] = {}


class MemoryStateBackend(KeyedStateBackend):
    """Keyed state on the Python heap, for one subtask.

    Args:
        key_group_range: the key groups this subtask owns (``key_group_range(i, p, maxp)``).
        max_parallelism: the job's number of key groups.
        clock: processing time for TTL.

    Not thread-safe: the task's mailbox thread is the only caller.
    """

    def __init__(self, key_group_range: range, max_parallelism: int, clock: Clock) -> None:
        self.current_key: Any = None
        self.key_group_range = key_group_range
        self.max_parallelism = max_parallelism
        self.clock = clock
        self.operator_name: str | None = None  # named in type errors of declared state types
        self._states: dict[str, Any] = {}
        self._pending: dict[str, _Pending] = {}

    # -- registration ------------------------------------------------------------------------

    def state(self, descriptor: StateDescriptor) -> State:
        name = descriptor.name
        ttl_config = descriptor.ttl_config
        ttl = ttl_config is not None and ttl_config.is_enabled()
        existing = self._states.get(name)
        if existing is not None:
            self._check_same(name, existing.kind, existing.ttl, descriptor.kind, ttl, "registered")
            return existing
        cls = _CLASSES.get((descriptor.kind, ttl))
        if cls is None:
            msg = (f"state '{name}': unknown descriptor {describe(descriptor)}; hint: use "
                   "Value/List/Map/Reducing/AggregatingStateDescriptor")
            raise InvalidTypeError(msg)
        created = typed_state(cls, self, descriptor, self.operator_name)
        pending = self._pending.pop(name, None)
        if pending is not None:
            self._check_same(name, pending.kind, pending.ttl, descriptor.kind, ttl, "restored")
            created._rebind(pending.tables)
        self._states[name] = created
        return created

    @staticmethod
    def _check_same(name: str, kind: str, ttl: bool, new_kind: str, new_ttl: bool,
                    where: str) -> None:
        if kind != new_kind and where == "restored":
            msg = (f"state '{name}' is {kind} state in the checkpoint restored from but the job "
                   f"now requests it as {new_kind} state; a state cannot change its kind (as in "
                   "Flink). Hint: give the new state another name (the old one is then not "
                   "restored), or start without restoring")
            raise StateMigrationError(msg)
        if kind != new_kind:
            msg = (f"state '{name}' is {where} as {kind} state but requested as {new_kind} "
                   "state; hint: give each state its own name")
            raise InvalidTypeError(msg)
        if ttl != new_ttl:
            msg = (f"state '{name}' is {where} {'with' if ttl else 'without'} TTL but requested "
                   f"{'with' if new_ttl else 'without'} it; enabling or disabling TTL on existing "
                   "state is not supported (as in Flink); hint: use a new state name")
            raise InvalidTypeError(msg)

    # -- inspection ----------------------------------------------------------------------------

    def _all_tables(self) -> Iterator[tuple[str, Any, dict[Any, dict[Any, Any]]]]:
        """(name, state object or None, tables) for registered and pending state."""
        for name, st in self._states.items():
            yield name, st, st._tables
        for name, pending in self._pending.items():
            yield name, None, pending.tables

    def _tables_of(self, state_name: str) -> dict[Any, dict[Any, Any]]:
        st = self._states.get(state_name)
        if st is not None:
            return st._tables
        pending = self._pending.get(state_name)
        return {} if pending is None else pending.tables

    def keys(self, state_name: str, namespace: Any = VOID_NAMESPACE) -> Iterator[Any]:
        return iter(list(self._tables_of(state_name).get(namespace, ())))

    def namespaces(self, state_name: str) -> list[Any]:
        return [ns for ns, table in self._tables_of(state_name).items() if table]

    def state_names(self) -> list[str]:
        """The names of all registered or restored states."""
        return [*self._states, *self._pending]

    def state_for(self, key: Any) -> dict[str, dict[Any, Any]]:
        """Everything stored for ``key``: ``{state_name: {namespace: user value}}``.

        For tests and harnesses: values are shown without TTL timestamps and without checking
        expiry (what is stored, not what a read would return).
        """
        result: dict[str, dict[Any, Any]] = {}
        for name, st, tables in self._all_tables():
            unwrap = HeapStateBase.user_value if st is None else st.user_value
            for ns, table in tables.items():
                if key in table:
                    result.setdefault(name, {})[ns] = unwrap(table[key])
        return result

    def namespace_tables(self, state: State) -> dict[Any, dict[Any, Any]] | None:
        """The heap state's own dicts; None for TTL states (their values are wrapped)."""
        if getattr(state, "ttl", True) or self._states.get(getattr(state, "name", None)) is not state:
            return None
        return state._tables

    def clear_all(self, key: Any) -> None:
        for _name, _st, tables in self._all_tables():
            for table in tables.values():
                table.pop(key, None)

    def num_entries(self) -> int:
        return sum(len(table) for _n, _s, tables in self._all_tables()
                   for table in tables.values())

    def cleanup_expired(self) -> int:
        """Remove every expired entry (or list element / map entry) of TTL states.

        A full scan: call it between records, e.g. at checkpoints or from a processing-time
        timer, when TTL'd state that is never read again must still go. Returns the number
        of (namespace, key) entries removed entirely.
        """
        now = self.clock.now()
        removed = 0
        for st in self._states.values():
            alive = st.expired_filter(now)
            if alive is None:
                continue
            for table in st._tables.values():
                for key, stored in list(table.items()):
                    kept = alive(stored)
                    if kept is None:
                        del table[key]
                        removed += 1
                    elif kept is not stored:
                        table[key] = kept
        return removed

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> KeyedStateSnapshot:
        """A consistent copy taken now, between records; serialized later (see the class)."""
        copies: dict[str, tuple[str, Any]] = {}
        meta: dict[str, dict[str, Any]] = {}
        filters: dict[str, Any] = {}
        now = self.clock.now()
        for name, st, tables in self._all_tables():
            if st is None:
                pending = self._pending[name]
                meta[name] = {"kind": pending.kind, "ttl": pending.ttl}
                shared = False
            else:
                meta[name] = {"kind": st.kind, "ttl": st.ttl}
                config = st.descriptor.ttl_config
                if st.ttl and config.cleanup_strategies.in_full_snapshot():
                    filters[name] = st.expired_filter(now)
                shared = _values_immutable(st)
            if shared:  # values cannot change in place: copying the dicts is enough (C speed)
                copies[name] = ("shared", {ns: table.copy() for ns, table in tables.items() if table})
            else:  # lists, maps, user objects: a deep copy now, as pickled bytes
                copies[name] = ("pickled", _dumps(name, {ns: t for ns, t in tables.items() if t}))
        return KeyedStateSnapshot(self.max_parallelism, self.key_group_range, meta, copies, filters)

    def restore(self, snapshots: Iterable[Any]) -> None:
        own = self.key_group_range
        maxp = self.max_parallelism
        for snap in snapshots:
            if isinstance(snap, KeyedStateSnapshot):
                snap = snap.materialize()
            if snap.get("format") != SNAPSHOT_FORMAT:
                msg = (f"restore: unsupported keyed-state snapshot format {snap.get('format')!r}"
                       f" (expected {SNAPSHOT_FORMAT}); hint: the state was written by another "
                       "strom version")
                raise InvalidTypeError(msg)
            if snap["max_parallelism"] != maxp:
                msg = (f"restore: the snapshot was taken with max_parallelism="
                       f"{snap['max_parallelism']} but this job has {maxp}; the "
                       "number of key groups cannot change across a restore (as in Flink); "
                       "hint: set the old max parallelism on the job")
                raise JobDefinitionError(msg)
            start, stop = snap["key_group_range"]
            if stop <= own.start or start >= own.stop:
                continue  # none of the writer's key groups is ours
            covered = own.start <= start and stop <= own.stop
            meta = snap["states"]
            for name, blobs in snap["tables"].items():
                tables = self._restore_target(name, meta[name]["kind"], meta[name]["ttl"])
                for blob in blobs:
                    for ns, entries in pickle.loads(blob).items():
                        if not covered:
                            entries = {k: v for k, v in entries.items()
                                       if stable_hash(k) % maxp in own}
                        table = tables.get(ns)
                        if table is None:
                            tables[ns] = entries
                        else:
                            table.update(entries)
        for st in self._states.values():
            st._rebind(st._tables)

    def _restore_target(self, name: str, kind: str, ttl: bool) -> dict[Any, dict[Any, Any]]:
        st = self._states.get(name)
        if st is not None:
            self._check_same(name, st.kind, st.ttl, kind, ttl, "registered")
            return st._tables
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = _Pending(kind, ttl)
        else:
            self._check_same(name, pending.kind, pending.ttl, kind, ttl, "restored")
        return pending.tables

    def __repr__(self) -> str:
        return (f"MemoryStateBackend(key_groups={self.key_group_range.start}.."
                f"{self.key_group_range.stop - 1}, states={len(self._states)}, "
                f"entries={self.num_entries()})")


SNAPSHOT_CHUNK = 20_000
"""Entries pickled per call when a snapshot is serialized: between two chunks other threads run,
so serializing a large state does not stop the task for the whole time."""


_IMMUTABLE_TYPES = frozenset({int, float, str, bytes, bool, complex, type(None)})


def _values_immutable(state: Any) -> bool:
    """Whether ``state``'s stored values cannot change in place, so a snapshot may share them:
    value / reducing state whose declared type is immutable (Types.LONG(), Types.STRING(), ...),
    or, undeclared, whose values are all of a builtin immutable type right now (one C-speed pass
    over the values' types: ~30 ms at 1M entries, against ~200 ms to pickle them)."""
    if state.kind not in ("value", "reducing"):
        return False
    if getattr(state.descriptor.type_info, "immutable_values", False):
        return True
    if state.ttl:
        return False  # stored values are wrapped with their timestamps
    types: set[type] = set()
    for table in state._tables.values():
        types.update(map(type, table.values()))
        if not types <= _IMMUTABLE_TYPES:
            return False
    return True


def _dumps(name: str, data: Any) -> bytes:
    try:
        return pickle.dumps(data, protocol=5)
    except Exception as exc:
        msg = (f"snapshot: state '{name}' cannot be pickled: {type(exc).__name__}: {exc}; hint: "
               "keep only picklable values (no lambdas, locks, open files) in keyed state")
        raise InvalidTypeError(msg) from exc


class KeyedStateSnapshot:
    """A consistent copy of one backend's keyed state, taken at a checkpoint barrier.

    Taking it is quick: states whose values cannot change in place are copied as dicts
    (sharing the values), the others are pickled. :meth:`materialize` (on the checkpoint
    writer thread) turns it into the picklable snapshot format described in
    :mod:`strom.state.backend`, pickling in chunks; pickling the object itself does the same,
    so it unpickles as that plain dict.
    """

    __slots__ = ("max_parallelism", "key_group_range", "states", "_copies", "_filters")

    def __init__(self, max_parallelism: int, key_group_range: range, states: dict[str, Any],
                 copies: dict[str, tuple[str, Any]], filters: dict[str, Any]) -> None:
        self.max_parallelism = max_parallelism
        self.key_group_range = key_group_range
        self.states = states
        self._copies = copies
        self._filters = filters

    def materialize(self) -> dict[str, Any]:
        """The snapshot as a plain, picklable dict (see :mod:`strom.state.backend`)."""
        tables: dict[str, list[bytes]] = {}
        for name, (how, data) in self._copies.items():
            alive = self._filters.get(name)
            if how == "pickled":
                if alive is None:
                    tables[name] = [data]
                    continue
                data = pickle.loads(data)
            blobs = tables[name] = []
            for ns, table in data.items():
                if alive is not None:
                    table = {k: kept for k, v in table.items() if (kept := alive(v)) is not None}
                items = iter(table.items())
                while True:
                    chunk = dict(islice(items, SNAPSHOT_CHUNK))
                    if not chunk:
                        break
                    blobs.append(_dumps(name, {ns: chunk}))
        return {"format": SNAPSHOT_FORMAT, "max_parallelism": self.max_parallelism,
                "key_group_range": (self.key_group_range.start, self.key_group_range.stop),
                "states": self.states, "tables": tables}

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (dict, (self.materialize(),))

    def __getitem__(self, key: str) -> Any:
        """Dict-style access to the materialized form (tests, inspection)."""
        return self.materialize()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.materialize().get(key, default)

    def __repr__(self) -> str:
        return (f"KeyedStateSnapshot(key_groups={self.key_group_range.start}.."
                f"{self.key_group_range.stop - 1}, states={list(self.states)})")
