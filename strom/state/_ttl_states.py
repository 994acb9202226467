"""Heap state objects with time-to-live, following Flink's TTL decorators.

Only states whose descriptor enables TTL use these classes, so other states pay nothing.
Stored forms carry the last-access timestamp (processing time from the backend's clock):
value/reducing/aggregating -> ``(value, ts)``; list -> ``[(element, ts), ...]`` (TTL per
element); map -> ``{user_key: (value, ts)}`` (TTL per entry).

Semantics (Flink's ``AbstractTtlDecorator``): an entry is expired when ``ts + ttl <= now``.
Writes always refresh ``ts``; ``OnReadAndWrite`` also refreshes on reads. A read that finds an
expired entry removes it ("cleanup on read") and returns nothing with ``NeverReturnExpired``,
or returns it this one last time with ``ReturnExpiredIfNotCleanedUp``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from strom.state._heap_states import (
    _MISSING,
    HeapListState,
    HeapMapState,
    HeapStateBase,
    _reject_none,
)
from strom.state.api import AggregatingState, ListState, MapState, ReducingState, ValueState
from strom.state.descriptors import StateTtlConfig

_SLOTS = ("_backend", "_tables", "_table", "_namespace", "name", "descriptor", "kind",
          "_clock", "_ttl", "_on_read", "_return_expired")


class _TtlBase(HeapStateBase):
    __slots__ = ()
    ttl = True

    def _init_ttl(self, backend: Any, descriptor: Any) -> None:
        self._init(backend, descriptor)
        config: StateTtlConfig = descriptor.ttl_config
        self._clock = backend.clock
        self._ttl = config.ttl_ms
        self._on_read = config.update_type is StateTtlConfig.UpdateType.OnReadAndWrite
        self._return_expired = (config.state_visibility
                                is StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp)

    def _key(self) -> Any:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        return key

    def _read_single(self) -> Any:
        """The current key's user value with TTL check, cleanup and refresh; else _MISSING."""
        key = self._key()
        table = self._table
        entry = table.get(key)
        if entry is None:
            return _MISSING
        value, ts = entry
        now = self._clock.now()
        if ts + self._ttl <= now:
            del table[key]
            return value if self._return_expired else _MISSING
        if self._on_read:
            table[key] = (value, now)
        return value

    @staticmethod
    def user_value(stored: Any) -> Any:
        return stored[0]

    def expired_filter(self, now: int) -> Callable[[Any], Any] | None:
        deadline = now - self._ttl  # alive iff ts > deadline

        def alive(stored: Any) -> Any:
            return stored if stored[1] > deadline else None

        return alive


class TtlValueState(_TtlBase, ValueState):
    """``ValueState`` with TTL."""

    __slots__ = _SLOTS

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init_ttl(backend, descriptor)

    def value(self) -> Any:
        value = self._read_single()
        return None if value is _MISSING else value

    def update(self, value: Any) -> None:
        key = self._key()
        if value is None:
            self._table.pop(key, None)
        else:
            self._table[key] = (value, self._clock.now())


class TtlReducingState(_TtlBase, ReducingState):
    """``ReducingState`` with TTL: an expired (invisible) value is not reduced into."""

    __slots__ = (*_SLOTS, "_reduce")

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init_ttl(backend, descriptor)
        self._reduce = descriptor.reduce

    def get(self) -> Any:
        value = self._read_single()
        return None if value is _MISSING else value

    def add(self, value: Any) -> None:
        key = self._key()
        if value is None:
            self._table.pop(key, None)
            return
        current = self._read_single()
        result = value if current is _MISSING else self._reduce(current, value)
        if result is None:
            self._table.pop(key, None)
        else:
            self._table[key] = (result, self._clock.now())

    def merge_namespaces(self, target: Any, sources: Iterable[Any]) -> None:
        _merge_single(self, target, sources, self._reduce)


class TtlAggregatingState(_TtlBase, AggregatingState):
    """``AggregatingState`` with TTL on the accumulator."""

    __slots__ = (*_SLOTS, "_fn")

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init_ttl(backend, descriptor)
        self._fn = descriptor.get_agg_function()

    def get(self) -> Any:
        acc = self._read_single()
        return None if acc is _MISSING else self._fn.get_result(acc)

    def add(self, value: Any) -> None:
        key = self._key()
        if value is None:
            self._table.pop(key, None)
            return
        acc = self._read_single()
        if acc is _MISSING:
            acc = self._fn.create_accumulator()
        self._table[key] = (self._fn.add(value, acc), self._clock.now())

    def merge_namespaces(self, target: Any, sources: Iterable[Any]) -> None:
        _merge_single(self, target, sources, self._fn.merge)


def _merge_single(state: Any, target: Any, sources: Iterable[Any],
                  combine: Callable[[Any, Any], Any]) -> None:
    """Merge single-value TTL entries of ``sources`` into ``target`` (visible ones only)."""
    key = state._key()
    now = state._clock.now()
    deadline = now - state._ttl
    visible_expired = state._return_expired
    merged: Any = _MISSING
    for namespace in [target, *(s for s in sources if s != target)]:
        table = state._tables.get(namespace)
        if table is None:
            continue
        entry = table.pop(key, None)
        state._drop_if_empty(namespace)
        if entry is not None and (entry[1] > deadline or visible_expired):
            merged = entry[0] if merged is _MISSING else combine(merged, entry[0])
    if merged is not _MISSING:
        state._tables.setdefault(target, {})[key] = (merged, now)


class TtlListState(_TtlBase, ListState):
    """``ListState`` with TTL per element."""

    __slots__ = _SLOTS

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init_ttl(backend, descriptor)

    def get(self) -> list[Any]:
        key = self._key()
        table = self._table
        entries = table.get(key)
        if not entries:
            return []
        now = self._clock.now()
        deadline = now - self._ttl
        alive = [e for e in entries if e[1] > deadline]
        shown = entries if self._return_expired else alive
        result = [e[0] for e in shown]
        if not alive:
            del table[key]
        elif self._on_read:
            table[key] = [(v, now) for v, _ in alive]
        elif len(alive) != len(entries):
            table[key] = alive
        return result

    def add(self, value: Any) -> None:
        key = self._key()
        if value is None:
            _reject_none(self.name, [None])
        entries = self._table.get(key)
        item = (value, self._clock.now())
        if entries is None:
            self._table[key] = [item]
        else:
            entries.append(item)

    def add_all(self, values: list[Any]) -> None:
        key = self._key()
        new = _reject_none(self.name, values)
        if new:
            now = self._clock.now()
            self._table.setdefault(key, []).extend((v, now) for v in new)

    def update(self, values: list[Any]) -> None:
        key = self._key()
        new = _reject_none(self.name, values)
        if new:
            now = self._clock.now()
            self._table[key] = [(v, now) for v in new]
        else:
            self._table.pop(key, None)

    # Entries move as stored, each keeping its own timestamp: the same as without TTL.
    merge_namespaces = HeapListState.merge_namespaces

    @staticmethod
    def user_value(stored: Any) -> Any:
        return [e[0] for e in stored]

    def expired_filter(self, now: int) -> Callable[[Any], Any] | None:
        deadline = now - self._ttl

        def alive(stored: Any) -> Any:
            kept = [e for e in stored if e[1] > deadline]
            return kept or None

        return alive


class TtlMapState(_TtlBase, MapState):
    """``MapState`` with TTL per entry."""

    __slots__ = _SLOTS

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init_ttl(backend, descriptor)

    def _entry(self, user_key: Any) -> Any:
        """The visible value under ``user_key`` (TTL-checked, refreshed), else _MISSING."""
        key = self._key()
        table = self._table
        m = table.get(key)
        if m is None:
            return _MISSING
        entry = m.get(user_key)
        if entry is None:
            return _MISSING
        value, ts = entry
        now = self._clock.now()
        if ts + self._ttl <= now:
            del m[user_key]
            if not m:
                del table[key]
            return value if self._return_expired else _MISSING
        if self._on_read:
            m[user_key] = (value, now)
        return value

    def _visible(self, refresh: bool = True) -> list[tuple[Any, Any]]:
        key = self._key()
        table = self._table
        m = table.get(key)
        if not m:
            return []
        now = self._clock.now()
        deadline = now - self._ttl
        result = []
        for user_key, (value, ts) in list(m.items()):
            if ts <= deadline:
                del m[user_key]
                if self._return_expired:
                    result.append((user_key, value))
            else:
                result.append((user_key, value))
                if refresh and self._on_read:
                    m[user_key] = (value, now)
        if not m:
            del table[key]
        return result

    def get(self, key: Any) -> Any:
        value = self._entry(key)
        return None if value is _MISSING else value

    def put(self, key: Any, value: Any) -> None:
        current = self._key()
        self._table.setdefault(current, {})[key] = (value, self._clock.now())

    def put_all(self, dict_value: dict[Any, Any]) -> None:
        current = self._key()
        if dict_value:
            now = self._clock.now()
            m = self._table.setdefault(current, {})
            for k, v in dict_value.items():
                m[k] = (v, now)

    remove = HeapMapState.remove  # an entry goes whatever its timestamp

    def contains(self, key: Any) -> bool:
        return self._entry(key) is not _MISSING

    def items(self) -> list[tuple[Any, Any]]:
        return self._visible()

    def keys(self) -> list[Any]:
        return [k for k, _ in self._visible()]

    def values(self) -> list[Any]:
        return [v for _, v in self._visible()]

    def is_empty(self) -> bool:
        return not self._visible(refresh=False)

    @staticmethod
    def user_value(stored: Any) -> Any:
        return {k: e[0] for k, e in stored.items()}

    def expired_filter(self, now: int) -> Callable[[Any], Any] | None:
        deadline = now - self._ttl

        def alive(stored: Any) -> Any:
            kept = {k: e for k, e in stored.items() if e[1] > deadline}
            return kept or None

        return alive
