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
from typing import Any

from strom.errors import InvalidTypeError, JobDefinitionError, describe
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
from strom.time.clock import Clock

__all__ = ["MemoryStateBackend"]

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
        created = cls(self, descriptor)
        pending = self._pending.pop(name, None)
        if pending is not None:
            self._check_same(name, pending.kind, pending.ttl, descriptor.kind, ttl, "restored")
            created._rebind(pending.tables)
        self._states[name] = created
        return created

    @staticmethod
    def _check_same(name: str, kind: str, ttl: bool, new_kind: str, new_ttl: bool,
                    where: str) -> None:
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

    def snapshot(self) -> dict[str, Any]:
        maxp = self.max_parallelism
        now = self.clock.now()
        groups: dict[int, dict[str, dict[Any, dict[Any, Any]]]] = {}
        group_of: dict[Any, int] = {}
        meta: dict[str, dict[str, Any]] = {}
        for name, st, tables in self._all_tables():
            if st is None:
                pending = self._pending[name]
                meta[name] = {"kind": pending.kind, "ttl": pending.ttl}
                alive = None
            else:
                meta[name] = {"kind": st.kind, "ttl": st.ttl}
                config = st.descriptor.ttl_config
                in_snapshot = st.ttl and config.cleanup_strategies.in_full_snapshot()
                alive = st.expired_filter(now) if in_snapshot else None
            for ns, table in tables.items():
                for key, stored in table.items():
                    if alive is not None:
                        stored = alive(stored)
                        if stored is None:
                            continue
                    group = group_of.get(key)
                    if group is None:
                        group = group_of[key] = stable_hash(key) % maxp
                    by_state = groups.get(group)
                    if by_state is None:
                        by_state = groups[group] = {}
                    by_state.setdefault(name, {}).setdefault(ns, {})[key] = stored
        blobs = {}
        for group, data in groups.items():
            try:
                blobs[group] = pickle.dumps(data, protocol=5)
            except Exception as exc:
                msg = (f"snapshot: the state of key group {group} (states "
                       f"{', '.join(map(repr, data))}) cannot be pickled: {exc}; hint: keep "
                       "only picklable values (no lambdas, locks, open files) in keyed state")
                raise InvalidTypeError(msg) from exc
        return {"format": SNAPSHOT_FORMAT, "max_parallelism": maxp, "states": meta,
                "key_groups": blobs}

    def restore(self, snapshots: Iterable[dict[str, Any]]) -> None:
        own = self.key_group_range
        for snap in snapshots:
            if snap.get("format") != SNAPSHOT_FORMAT:
                msg = (f"restore: unsupported keyed-state snapshot format {snap.get('format')!r}"
                       f" (expected {SNAPSHOT_FORMAT})")
                raise InvalidTypeError(msg)
            if snap["max_parallelism"] != self.max_parallelism:
                msg = (f"restore: the snapshot was taken with max_parallelism="
                       f"{snap['max_parallelism']} but this job has {self.max_parallelism}; the "
                       "number of key groups cannot change across a restore (as in Flink); "
                       "hint: set the old max parallelism on the job")
                raise JobDefinitionError(msg)
            meta = snap["states"]
            for group, blob in snap["key_groups"].items():
                if group not in own:
                    continue
                for name, by_ns in pickle.loads(blob).items():
                    tables = self._restore_target(name, meta[name]["kind"], meta[name]["ttl"])
                    for ns, entries in by_ns.items():
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
