"""Heap (dict-backed) state objects without TTL: the per-record hot path of keyed state.

Layout: each state object owns ``_tables: dict[namespace, dict[key, stored]]`` and caches
``_table``, the dict of its current namespace, so ``ValueState.value()`` is one attribute read
of the backend's ``current_key`` plus one ``dict.get``. Empty namespace dicts (other than
``VOID_NAMESPACE``'s) are dropped when the view moves to another namespace, so finished windows
leave nothing behind.

Stored forms (what snapshots hold): value/reducing -> the value; aggregating -> the accumulator;
list -> a Python list; map -> a dict. The TTL variants in ``_ttl_states`` wrap them with
timestamps.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from strom.errors import InvalidTypeError, StateAccessError, describe
from strom.state.api import (
    VOID_NAMESPACE,
    AggregatingState,
    ListState,
    MapState,
    ReducingState,
    ValueState,
)

if TYPE_CHECKING:
    from strom.state.descriptors import StateDescriptor

_MISSING: Any = object()


class HeapStateBase:
    """Namespace handling, key checks and raw access shared by every heap state."""

    __slots__ = ()
    ttl = False
    """Whether stored values carry TTL timestamps."""

    # Slots are declared by each concrete class (a slot layout cannot be shared by the several
    # ABC bases); they are: _backend, _tables, _table, _namespace, name, descriptor, kind.

    def _init(self, backend: Any, descriptor: StateDescriptor) -> None:
        self._backend = backend
        self.descriptor = descriptor
        self.name = descriptor.name
        self.kind = descriptor.kind
        self._namespace = VOID_NAMESPACE
        self._tables: dict[Any, dict[Any, Any]] = {VOID_NAMESPACE: {}}
        self._table = self._tables[VOID_NAMESPACE]

    def set_current_namespace(self, namespace: Any) -> None:
        """Point the view at ``namespace``; called by the runtime (window operator)."""
        old = self._namespace
        if namespace == old:
            return
        tables = self._tables
        if not self._table and old is not VOID_NAMESPACE:
            tables.pop(old, None)
        table = tables.get(namespace)
        if table is None:
            table = tables[namespace] = {}
        self._table = table
        self._namespace = namespace

    def _rebind(self, tables: dict[Any, dict[Any, Any]]) -> None:
        """Adopt ``tables`` (after restore) and re-resolve the current namespace's dict."""
        tables.setdefault(VOID_NAMESPACE, {})
        self._tables = tables
        table = tables.get(self._namespace)
        if table is None:
            table = tables[self._namespace] = {}
        self._table = table

    def _outside(self) -> StateAccessError:
        msg = (f"state '{self.name}' was accessed outside a keyed context (there is no current "
               "key); hint: use keyed state in KeyedProcessFunction.process_element / on_timer "
               "(or another function on a KeyedStream), or key_by the stream first")
        return StateAccessError(msg)

    def clear(self) -> None:
        """Remove the current key's entry in the current namespace (every state kind)."""
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        self._table.pop(key, None)

    def _table_for(self, namespace: Any) -> dict[Any, Any] | None:
        return self._tables.get(namespace)

    def _drop_if_empty(self, namespace: Any) -> None:
        if namespace is not VOID_NAMESPACE and namespace != self._namespace:
            table = self._tables.get(namespace)
            if table is not None and not table:
                del self._tables[namespace]

    def _merge_values(self, target: Any, sources: Iterable[Any],
                      combine: Callable[[Any, Any], Any], absent: Any) -> None:
        """Move the current key's single values from ``sources`` into ``target``, folding them
        with ``combine`` (target's value first); ``absent`` marks a missing value."""
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        merged: Any = absent
        for source in sources:
            table = self._tables.get(source)
            if table is None or source == target:
                continue
            value = table.pop(key, absent)
            self._drop_if_empty(source)
            if value is not absent:
                merged = value if merged is absent else combine(merged, value)
        if merged is not absent:
            table = self._tables.setdefault(target, {})
            current = table.get(key, absent)
            result = merged if current is absent else combine(current, merged)
            if result is None:  # as add(): a None result clears the value
                table.pop(key, None)
            else:
                table[key] = result

    # -- raw access for the backend: snapshots, cleanup, inspection --------------------------

    @staticmethod
    def user_value(stored: Any) -> Any:
        """The user-visible form of a stored value (TTL variants strip timestamps)."""
        return stored

    def expired_filter(self, now: int) -> Callable[[Any], Any] | None:
        """A function mapping a stored value to itself minus expired parts (``None`` if all
        expired), or ``None`` when this state has no TTL."""
        return None


class HeapValueState(HeapStateBase, ValueState):
    """``ValueState`` on a dict: ``value()`` is ``table.get(current_key)``."""

    __slots__ = ("_backend", "_tables", "_table", "_namespace", "name", "descriptor", "kind")

    def __init__(self, backend: Any, descriptor: StateDescriptor) -> None:
        self._init(backend, descriptor)

    def value(self) -> Any:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        return self._table.get(key)

    def update(self, value: Any) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        if value is None:
            self._table.pop(key, None)
        else:
            self._table[key] = value


def _reject_none(name: str, values: Any) -> list[Any]:
    if values is None:
        msg = (f"list state '{name}': expected a list of values, got None; hint: use clear() "
               "or update([]) to empty the list")
        raise InvalidTypeError(msg)
    items = list(values)
    for item in items:
        if item is None:
            msg = (f"list state '{name}': None cannot be added to a ListState (Flink rejects "
                   f"null elements), got {describe(items)}")
            raise InvalidTypeError(msg)
    return items


class HeapListState(HeapStateBase, ListState):
    """``ListState`` on a dict of Python lists; ``get()`` returns a copy."""

    __slots__ = ("_backend", "_tables", "_table", "_namespace", "name", "descriptor", "kind")

    def __init__(self, backend: Any, descriptor: StateDescriptor) -> None:
        self._init(backend, descriptor)

    def get(self) -> list[Any]:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        items = self._table.get(key)
        return [] if items is None else list(items)

    def add(self, value: Any) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        if value is None:
            _reject_none(self.name, [None])
        items = self._table.get(key)
        if items is None:
            self._table[key] = [value]
        else:
            items.append(value)

    def add_all(self, values: list[Any]) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        new = _reject_none(self.name, values)
        if new:
            self._table.setdefault(key, []).extend(new)

    def update(self, values: list[Any]) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        new = _reject_none(self.name, values)
        if new:
            self._table[key] = new
        else:
            self._table.pop(key, None)

    def merge_namespaces(self, target: Any, sources: Iterable[Any]) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        merged: list[Any] = []
        for source in sources:
            table = self._tables.get(source)
            if table is not None and source != target:
                merged.extend(table.pop(key, ()))
                self._drop_if_empty(source)
        if merged:
            table = self._tables.setdefault(target, {})
            table.setdefault(key, []).extend(merged)


class HeapMapState(HeapStateBase, MapState):
    """``MapState`` on a dict of dicts; an emptied map is removed."""

    __slots__ = ("_backend", "_tables", "_table", "_namespace", "name", "descriptor", "kind")

    def __init__(self, backend: Any, descriptor: StateDescriptor) -> None:
        self._init(backend, descriptor)

    def _map(self) -> dict[Any, Any] | None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        return self._table.get(key)

    def get(self, key: Any) -> Any:
        m = self._map()
        return None if m is None else m.get(key)

    def put(self, key: Any, value: Any) -> None:
        current = self._backend.current_key
        if current is None:
            raise self._outside()
        m = self._table.get(current)
        if m is None:
            self._table[current] = {key: value}
        else:
            m[key] = value

    def put_all(self, dict_value: dict[Any, Any]) -> None:
        current = self._backend.current_key
        if current is None:
            raise self._outside()
        if dict_value:
            self._table.setdefault(current, {}).update(dict_value)

    def remove(self, key: Any) -> None:
        current = self._backend.current_key
        if current is None:
            raise self._outside()
        m = self._table.get(current)
        if m is not None:
            m.pop(key, None)
            if not m:
                del self._table[current]

    def contains(self, key: Any) -> bool:
        m = self._map()
        return m is not None and key in m

    def items(self) -> list[tuple[Any, Any]]:
        m = self._map()
        return [] if m is None else list(m.items())

    def keys(self) -> list[Any]:
        m = self._map()
        return [] if m is None else list(m)

    def values(self) -> list[Any]:
        m = self._map()
        return [] if m is None else list(m.values())

    def is_empty(self) -> bool:
        return not self._map()


class HeapReducingState(HeapStateBase, ReducingState):
    """``ReducingState``: stores the running reduction; ``add(None)`` clears (as in Flink)."""

    __slots__ = ("_backend", "_tables", "_table", "_namespace", "name", "descriptor", "kind",
                 "_reduce")

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init(backend, descriptor)
        self._reduce = descriptor.reduce

    get = HeapValueState.value  # the stored reduction, as it is

    def add(self, value: Any) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        table = self._table
        if value is None:
            table.pop(key, None)
            return
        current = table.get(key)
        result = value if current is None else self._reduce(current, value)
        if result is None:
            table.pop(key, None)
        else:
            table[key] = result

    def merge_namespaces(self, target: Any, sources: Iterable[Any]) -> None:
        # None is "no value" here, as in add() (add(None) and a None reduction clear).
        self._merge_values(target, sources, self._reduce, None)


class HeapAggregatingState(HeapStateBase, AggregatingState):
    """``AggregatingState``: stores the accumulator; ``get()`` is ``get_result(acc)``."""

    __slots__ = ("_backend", "_tables", "_table", "_namespace", "name", "descriptor", "kind",
                 "_fn")

    def __init__(self, backend: Any, descriptor: Any) -> None:
        self._init(backend, descriptor)
        self._fn = descriptor.get_agg_function()

    def get(self) -> Any:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        acc = self._table.get(key, _MISSING)
        return None if acc is _MISSING else self._fn.get_result(acc)

    def add(self, value: Any) -> None:
        key = self._backend.current_key
        if key is None:
            raise self._outside()
        table = self._table
        if value is None:
            table.pop(key, None)
            return
        acc = table.get(key, _MISSING)
        if acc is _MISSING:
            acc = self._fn.create_accumulator()
        table[key] = self._fn.add(value, acc)

    def merge_namespaces(self, target: Any, sources: Iterable[Any]) -> None:
        # An accumulator may be None, so a private sentinel marks "absent".
        self._merge_values(target, sources, self._fn.merge, _MISSING)
