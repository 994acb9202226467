"""The keyed state interfaces user functions see: PyFlink's ``ValueState``, ``ListState``, ...

A state object is a *view*: it always reads and writes the entry of the backend's current key
(set by the keyed operator before each record or timer) in the current namespace (``VOID`` for
plain keyed state, a window for window state). Instances come from a
:class:`~strom.state.backend.KeyedStateBackend` via ``backend.state(descriptor)``; user code gets
them through ``RuntimeContext.get_state(...)`` and friends.

Methods must only be called from the task's mailbox thread, while a key is set: in
``process_element``/``on_timer`` of a keyed function. Outside a keyed context they raise
:class:`~strom.errors.StateAccessError`.

Example:
    >>> from strom.state import MemoryStateBackend, ValueStateDescriptor
    >>> from strom.time.clock import ManualClock
    >>> backend = MemoryStateBackend(range(128), 128, ManualClock())
    >>> count = backend.state(ValueStateDescriptor("count", None))
    >>> backend.current_key = "alice"
    >>> count.update((count.value() or 0) + 1)
    >>> count.value()
    1
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

__all__ = [
    "AggregatingState",
    "AppendingState",
    "ListState",
    "MapState",
    "MergingState",
    "ReducingState",
    "State",
    "ValueState",
    "VOID_NAMESPACE",
]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
IN = TypeVar("IN")
OUT = TypeVar("OUT")


class _VoidNamespace:
    """The namespace of plain (non-window) keyed state. A singleton, also after unpickling."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "VOID_NAMESPACE"

    def __reduce__(self) -> str:
        return "VOID_NAMESPACE"


VOID_NAMESPACE: Any = _VoidNamespace()
"""The default namespace: the one keyed state lives in unless an operator (windows) sets another."""


class State(ABC):
    """Base of all keyed state: a view on the current key's entry in the current namespace."""

    __slots__ = ()

    @abstractmethod
    def clear(self) -> None:
        """Remove the current key's entry (in the current namespace)."""

    @abstractmethod
    def set_current_namespace(self, namespace: Any) -> None:
        """Point this view at ``namespace`` (a window, or :data:`VOID_NAMESPACE`).

        Called by the runtime (window operator), not by user functions. Namespaces must be
        hashable and picklable.
        """


class ValueState(State, Generic[T]):
    """A single value per key. ``value()`` is ``None`` until ``update`` is called."""

    __slots__ = ()

    @abstractmethod
    def value(self) -> T | None:
        """The current key's value, or ``None`` if it has none."""

    @abstractmethod
    def update(self, value: T | None) -> None:
        """Set the current key's value; ``update(None)`` removes it (as in Flink)."""


class AppendingState(State, Generic[IN, OUT]):
    """State to which elements are added, then read as a whole."""

    __slots__ = ()

    @abstractmethod
    def get(self) -> OUT:
        """The current key's contents."""

    @abstractmethod
    def add(self, value: IN) -> None:
        """Add ``value`` to the current key's contents."""


class MergingState(AppendingState[IN, OUT]):
    """Appending state whose contents in several namespaces can be merged (session windows)."""

    __slots__ = ()

    @abstractmethod
    def merge_namespaces(self, target: Any, sources: Iterable[Any]) -> None:
        """Merge the current key's contents in ``sources`` into ``target`` and clear ``sources``.

        Called by the runtime when windows merge; user functions do not call it.
        """


class ListState(MergingState[T, Iterable[T]]):
    """A list of elements per key. ``None`` elements are rejected, as in Flink."""

    __slots__ = ()

    @abstractmethod
    def update(self, values: list[T]) -> None:
        """Replace the current key's list with ``values`` (an empty list clears it)."""

    @abstractmethod
    def add_all(self, values: list[T]) -> None:
        """Append ``values`` to the current key's list."""

    def __iter__(self) -> Iterator[T]:
        return iter(self.get())


class ReducingState(MergingState[T, T]):
    """One value per key, combined with each added element by a reduce function."""

    __slots__ = ()


class AggregatingState(MergingState[IN, OUT]):
    """An accumulator per key, updated by an ``AggregateFunction``; ``get()`` is its result."""

    __slots__ = ()


class MapState(State, Generic[K, V]):
    """A map per key. An entry's value may be ``None``; ``contains`` tells it from a missing one."""

    __slots__ = ()

    @abstractmethod
    def get(self, key: K) -> V | None:
        """The value under ``key``, or ``None``."""

    @abstractmethod
    def put(self, key: K, value: V) -> None:
        """Set the value under ``key``."""

    @abstractmethod
    def put_all(self, dict_value: dict[K, V]) -> None:
        """Copy all entries of ``dict_value`` into the map."""

    @abstractmethod
    def remove(self, key: K) -> None:
        """Delete the entry under ``key`` (no error if absent)."""

    @abstractmethod
    def contains(self, key: K) -> bool:
        """Whether the map has an entry under ``key``."""

    @abstractmethod
    def items(self) -> Iterable[tuple[K, V]]:
        """All entries, as ``(key, value)`` pairs (a copy: the map may be changed meanwhile)."""

    @abstractmethod
    def keys(self) -> Iterable[K]:
        """All keys (a copy)."""

    @abstractmethod
    def values(self) -> Iterable[V]:
        """All values (a copy)."""

    @abstractmethod
    def is_empty(self) -> bool:
        """Whether the current key's map has no entries."""

    def __getitem__(self, key: K) -> V | None:
        return self.get(key)

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def __delitem__(self, key: K) -> None:
        self.remove(key)

    def __contains__(self, key: object) -> bool:
        return self.contains(key)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())
