"""Operator (non-keyed) state: list state per operator subtask, redistributed on rescaling.

Flink's ``OperatorStateBackend``: a function that implements ``CheckpointedFunction`` asks the
operator state store for list states in ``initialize_state`` and fills them in
``snapshot_state``. Each list is redistributed when the job is restored at another parallelism:

* ``split`` (``get_list_state``): the lists of all old subtasks are concatenated (in old subtask
  order) and cut into ``new_parallelism`` contiguous, even parts (Flink's
  ``SPLIT_DISTRIBUTE``); at the same parallelism every subtask gets its own list back.
* ``union`` (``get_union_list_state``): every new subtask gets the concatenation of all lists
  (Flink's ``UNION``).

Source readers keep their splits and positions in split list state, so a restore at another
parallelism spreads the splits over the new subtasks.

Snapshot format (version 1), picklable::

    {"format": 1, "states": {name: {"mode": "split" | "union", "items": [...]}}}

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
from strom.state.descriptors import ListStateDescriptor

__all__ = ["OPERATOR_STATE_FORMAT", "SPLIT", "UNION", "OperatorListState", "OperatorStateStore",
           "redistribute"]

OPERATOR_STATE_FORMAT = 1
SPLIT, UNION = "split", "union"


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
        self._states: dict[str, OperatorListState] = {}
        self._restored: dict[str, dict[str, Any]] = {}
        self.is_restored = False

    def get_list_state(self, state_descriptor: ListStateDescriptor) -> OperatorListState:
        """Split-redistributed list state (Flink's ``getListState``)."""
        return self._list(state_descriptor, SPLIT)

    def get_union_list_state(self, state_descriptor: ListStateDescriptor) -> OperatorListState:
        """Union-redistributed list state: every subtask gets every item on restore."""
        return self._list(state_descriptor, UNION)

    def _list(self, descriptor: Any, mode: str) -> OperatorListState:
        if not isinstance(descriptor, ListStateDescriptor):
            msg = (f"operator state: expected a ListStateDescriptor, got {describe(descriptor)}; "
                   "hint: ListStateDescriptor('name', Types.PICKLED_BYTE_ARRAY())")
            raise InvalidTypeError(msg)
        name = descriptor.name
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
        state = self._states[name] = OperatorListState(name, mode, items)
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
    every subtask whole (as in Flink, whatever the parallelism).
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
            elif same:
                entry = (old[i] or {}).get("states", {}).get(name)
                part = list(entry["items"]) if entry else []
            else:
                part = everything[n * i // new_parallelism:n * (i + 1) // new_parallelism]
            target["states"][name] = {"mode": mode, "items": part}
    return result
