"""Operator (non-keyed) state: list state per operator subtask, redistributed on rescaling.

Flink's ``OperatorStateBackend``: a function that implements ``CheckpointedFunction`` asks the
operator state store for list states in ``initialize_state`` and fills them in
``snapshot_state``. Each list is redistributed when the job is restored at another parallelism:

* ``split`` (``get_list_state``): the lists of all old subtasks are concatenated (in old subtask
  order) and cut into ``new_parallelism`` contiguous, even parts (Flink's
  ``SPLIT_DISTRIBUTE``); at the same parallelism every subtask gets its own list back.
* ``union`` (``get_union_list_state``): every new subtask gets the concatenation of all lists
  (Flink's ``UNION``).
* ``broadcast`` (``get_broadcast_state``, a map): every subtask keeps its own copy; new subtask
  ``i`` gets the copy of old subtask ``i % old_parallelism`` (Flink's ``BROADCAST``).

Source readers keep their splits and positions in split list state, so a restore at another
parallelism spreads the splits over the new subtasks.

Snapshot format (version 1), picklable::

    {"format": 1, "states": {name: {"mode": "split" | "union" | "broadcast", "items": [...]}}}

(a broadcast state's items are its ``(key, value)`` pairs).

Example:
    >>> store = OperatorStateStore()
    >>> offsets = store.get_list_state(ListStateDescriptor("offsets", None))
    >>> offsets.update([("p0", 5), ("p1", 7)])
    >>> redistribute([store.snapshot()], 2)[1]["states"]["offsets"]["items"]
    [('p1', 7)]
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from strom.errors import InvalidTypeError, StateAccessError, describe
from strom.state.descriptors import ListStateDescriptor, MapStateDescriptor
from strom.state.typed import entry_checks

__all__ = ["BROADCAST", "OPERATOR_STATE_FORMAT", "SPLIT", "UNION", "OperatorBroadcastState",
           "OperatorListState", "OperatorStateStore", "redistribute"]

OPERATOR_STATE_FORMAT = 1
SPLIT, UNION, BROADCAST = "split", "union", "broadcast"


class OperatorBroadcastState:
    """A map kept by every subtask of an operator (PyFlink's ``BroadcastState`` as the operator
    state store hands it out): the same updates must be applied on every subtask. Keys and
    values are checked against the types the descriptor declares (strom.state.typed)."""

    def __init__(self, name: str, items: Iterable[tuple[Any, Any]] = (),
                 descriptor: MapStateDescriptor | None = None) -> None:
        self.name = name
        self.mode = BROADCAST
        self._map: dict[Any, Any] = dict(items)
        self._check = (None if descriptor is None
                       else entry_checks(descriptor, f"operator broadcast state '{name}'"))

    def _checked(self, key: Any, value: Any) -> None:
        if self._check is not None:
            self._check(key, value)

    def get(self, key: Any) -> Any:
        """The value of ``key``, or ``None``."""
        return self._map.get(key)

    def contains(self, key: Any) -> bool:
        """Whether ``key`` has a value."""
        return key in self._map

    def put(self, key: Any, value: Any) -> None:
        """Map ``key`` to ``value``."""
        self._checked(key, value)
        self._map[key] = value

    def put_all(self, dict_value: dict) -> None:
        """Copy every mapping of ``dict_value`` in."""
        for key, value in dict_value.items():
            self._checked(key, value)
        self._map.update(dict_value)

    def remove(self, key: Any) -> None:
        """Delete ``key``'s mapping (if any)."""
        self._map.pop(key, None)

    def items(self) -> list[tuple[Any, Any]]:
        """A copy of the mappings."""
        return list(self._map.items())

    def keys(self) -> list[Any]:
        """A copy of the keys."""
        return list(self._map)

    def values(self) -> list[Any]:
        """A copy of the values."""
        return list(self._map.values())

    def is_empty(self) -> bool:
        """Whether there is no mapping."""
        return not self._map

    def clear(self) -> None:
        """Delete every mapping."""
        self._map.clear()

    def update(self, items: Iterable[tuple[Any, Any]]) -> None:
        """Replace the content with ``items`` (used by a restore)."""
        self._map = dict(items)

    @property
    def _items(self) -> list[tuple[Any, Any]]:
        return list(self._map.items())

    def __repr__(self) -> str:
        return f"OperatorBroadcastState({self.name!r}, {self._map!r})"


class OperatorListState:
    """A list of items kept per operator subtask (PyFlink's ``ListState`` methods).

    Not thread-safe: only the task's thread (or, for a source function, the holder of the
    checkpoint lock) may use it.
    """

    __slots__ = ("name", "mode", "_items")

    def __init__(self, name: str, mode: str, items: list[Any] | None = None) -> None:
        self.name = name
        self.mode = mode
        self._items: list[Any] = [] if items is None else items

    def get(self) -> list[Any]:
        """The items (the stored list itself; do not keep it across checkpoints)."""
        return self._items

    def add(self, value: Any) -> None:
        """Append one item; ``None`` is rejected, as in Flink."""
        if value is None:
            raise StateAccessError(f"operator list state '{self.name}': None cannot be added")
        self._items.append(value)

    def add_all(self, values: Iterable[Any]) -> None:
        """Append every item of ``values``."""
        for v in values:
            self.add(v)

    def update(self, values: Iterable[Any]) -> None:
        """Replace the items with ``values``."""
        self._items.clear()
        self.add_all(values)

    def clear(self) -> None:
        """Remove every item."""
        self._items.clear()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"OperatorListState({self.name!r}, {self.mode}, {len(self._items)} items)"


class OperatorStateStore:
    """The operator state of one operator subtask (Flink's ``OperatorStateStore``)."""

    def __init__(self) -> None:
        self._states: dict[str, OperatorListState | OperatorBroadcastState] = {}
        self._restored: dict[str, dict[str, Any]] = {}
        self.is_restored = False

    def get_list_state(self, state_descriptor: ListStateDescriptor) -> OperatorListState:
        """Split-redistributed list state (Flink's ``getListState``)."""
        return self._list(state_descriptor, SPLIT)

    def get_union_list_state(self, state_descriptor: ListStateDescriptor) -> OperatorListState:
        """Union-redistributed list state: every subtask gets every item on restore."""
        return self._list(state_descriptor, UNION)

    def get_broadcast_state(self, state_descriptor: MapStateDescriptor) -> OperatorBroadcastState:
        """A map every subtask keeps a copy of (Flink's ``getBroadcastState``)."""
        if not isinstance(state_descriptor, MapStateDescriptor):
            msg = (f"operator state: get_broadcast_state expected a MapStateDescriptor, got "
                   f"{describe(state_descriptor)}; hint: MapStateDescriptor('rules', "
                   "Types.STRING(), Types.PICKLED_BYTE_ARRAY())")
            raise InvalidTypeError(msg)
        return self._register(state_descriptor.name, BROADCAST,  # type: ignore[return-value]
                              state_descriptor)

    def _list(self, descriptor: Any, mode: str) -> OperatorListState:
        if not isinstance(descriptor, ListStateDescriptor):
            msg = (f"operator state: expected a ListStateDescriptor, got {describe(descriptor)}; "
                   "hint: ListStateDescriptor('name', Types.PICKLED_BYTE_ARRAY())")
            raise InvalidTypeError(msg)
        return self._register(descriptor.name, mode)  # type: ignore[return-value]

    def _register(self, name: str, mode: str, descriptor: Any = None
                  ) -> OperatorListState | OperatorBroadcastState:
        existing = self._states.get(name)
        if existing is not None:
            if existing.mode != mode:
                msg = (f"operator state '{name}' is registered as {existing.mode} list state but "
                       f"requested as {mode} list state; hint: give each state its own name")
                raise InvalidTypeError(msg)
            return existing
        restored = self._restored.pop(name, None)
        items: list[Any] = []
        if restored is not None:
            if restored["mode"] != mode:
                msg = (f"operator state '{name}' was checkpointed as {restored['mode']} list state "
                       f"but is now requested as {mode} list state; hint: keep the mode, or use "
                       "a new state name")
                raise InvalidTypeError(msg)
            items = list(restored["items"])
        if mode == BROADCAST:
            state: Any = OperatorBroadcastState(name, items, descriptor)
        else:
            state = OperatorListState(name, mode, items)
        self._states[name] = state
        return state

    def names(self) -> list[str]:
        """Registered and restored-but-not-yet-registered state names."""
        return [*self._states, *self._restored]

    def snapshot(self) -> dict[str, Any]:
        """A copy of every list (restored state nobody asked for is carried along)."""
        states = {name: {"mode": s.mode, "items": list(s._items)} for name, s in self._states.items()}
        for name, entry in self._restored.items():
            states[name] = {"mode": entry["mode"], "items": list(entry["items"])}
        return {"format": OPERATOR_STATE_FORMAT, "states": states}

    def restore(self, snapshot: dict[str, Any] | None) -> None:
        """Load a snapshot already redistributed for this subtask (see :func:`redistribute`)."""
        if not snapshot:
            return
        _check_format(snapshot)
        self.is_restored = True
        for name, entry in snapshot["states"].items():
            state = self._states.get(name)
            if state is None:
                self._restored[name] = entry
            else:
                state.update(entry["items"])


def _check_format(snapshot: dict[str, Any]) -> None:
    if snapshot.get("format") != OPERATOR_STATE_FORMAT:
        msg = (f"restore: unsupported operator-state snapshot format {snapshot.get('format')!r} "
               f"(expected {OPERATOR_STATE_FORMAT}); hint: the checkpoint was written by another "
               "strom version")
        raise InvalidTypeError(msg)


def redistribute(snapshots: Sequence[dict[str, Any] | None], new_parallelism: int) -> list[dict[str, Any]]:
    """Operator state of the old subtasks (in subtask order) -> one snapshot per new subtask.

    Split state at an unchanged parallelism stays where it was; union state always goes to
    every subtask whole (as in Flink, whatever the parallelism); broadcast state of new subtask
    ``i`` is old subtask ``i % old_parallelism``'s.
    """
    old = list(snapshots)
    for s in old:
        if s:
            _check_format(s)
    same = len(old) == new_parallelism
    modes: dict[str, str] = {}
    items: dict[str, list[Any]] = {}
    for s in old:
        for name, entry in (s or {}).get("states", {}).items():
            modes.setdefault(name, entry["mode"])
            items.setdefault(name, []).extend(entry["items"])
    result: list[dict[str, Any]] = [{"format": OPERATOR_STATE_FORMAT, "states": {}}
                                    for _ in range(new_parallelism)]
    for name, mode in modes.items():
        everything = items[name]
        n = len(everything)
        for i, target in enumerate(result):
            if mode == UNION:
                part = list(everything)
            elif mode == BROADCAST:
                entry = (old[i % len(old)] or {}).get("states", {}).get(name)
                part = list(entry["items"]) if entry else []
            elif same:
                entry = (old[i] or {}).get("states", {}).get(name)
                part = list(entry["items"]) if entry else []
            else:
                part = everything[n * i // new_parallelism:n * (i + 1) // new_parallelism]
            target["states"][name] = {"mode": mode, "items": part}
    return result
