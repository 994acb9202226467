"""The keyed state backend interface: what a keyed operator needs from its state store.

A backend belongs to one subtask of one keyed operator and holds the state of the key groups in
its ``key_group_range``. The operator sets ``current_key`` before each record and timer; state
objects obtained from :meth:`KeyedStateBackend.state` then read and write that key's entries.

Contract (checked by the conformance tests every implementation runs):

* Methods are called from the task's mailbox thread only; never concurrently.
* ``current_key`` is a plain attribute: the runtime assigns it per record. ``None`` means "no
  keyed context" and makes state access raise :class:`~strom.errors.StateAccessError`.
* :meth:`snapshot` returns an independent, picklable copy grouped by key group; later writes do
  not change it. :meth:`restore` accepts the snapshots of any number of old subtasks (rescaling)
  and keeps the key groups this backend owns.

Snapshot format (version 2)::

    {
        "format": 2,
        "max_parallelism": int,
        "key_group_range": (start, stop),    # the key groups of the subtask that wrote it
        "states": {state_name: {"kind": "value"|"list"|"map"|"reducing"|"aggregating",
                                "ttl": bool}},
        "tables": {state_name: [bytes, ...]},  # each a pickle of {namespace: {key: stored}}
    }

:meth:`KeyedStateBackend.snapshot` may return an object that stands for this dict (the heap
backend's ``KeyedStateSnapshot``: a quick copy at the barrier, serialized later, in chunks);
pickling it gives the dict. Key groups are not computed when snapshotting (that would cost a
hash per key at every checkpoint): a restoring subtask whose key groups cover the writer's takes
every entry, otherwise it keeps the entries whose key falls into its own key groups. ``stored``
is the user value, or with TTL the timestamped form described in ``strom.state._ttl_states``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

from strom.state.api import VOID_NAMESPACE, State
from strom.state.descriptors import StateDescriptor

__all__ = ["SNAPSHOT_FORMAT", "KeyedStateBackend"]

SNAPSHOT_FORMAT = 2
"""The version of the snapshot dict written by :meth:`KeyedStateBackend.snapshot`."""



class KeyedStateBackend(ABC):
    """Keyed state of one subtask: per state name, per namespace, per key.

    Attributes:
        current_key: the key of the record or timer being processed; set by the operator.
        key_group_range: the key groups this subtask owns.
        max_parallelism: the number of key groups of the job.
    """

    current_key: Any
    key_group_range: range
    operator_name: str | None = None  # the operator owning the state, named in type errors
    max_parallelism: int

    def set_current_key(self, key: Any) -> None:
        """Same as assigning ``current_key``; for callers that prefer a method."""
        self.current_key = key

    @abstractmethod
    def state(self, descriptor: StateDescriptor) -> State:
        """The state object for ``descriptor``, created on first use.

        Repeated calls with the same name return the same object. Called from ``open()`` of user
        functions (through the runtime context), not per record.

        Raises:
            InvalidTypeError: the name is already registered as another kind of state (or with
                TTL switched on/off), or restored state of that name has another kind.
        """

    @abstractmethod
    def keys(self, state_name: str, namespace: Any = VOID_NAMESPACE) -> Iterator[Any]:
        """The keys that have an entry in ``state_name`` under ``namespace`` (a copy)."""

    @abstractmethod
    def namespaces(self, state_name: str) -> list[Any]:
        """The namespaces in which ``state_name`` has at least one entry."""

    @abstractmethod
    def clear_all(self, key: Any) -> None:
        """Remove every entry of ``key`` in every state and namespace."""

    @abstractmethod
    def num_entries(self) -> int:
        """The number of (state, namespace, key) entries held: 0 means nothing left behind."""

    def is_empty(self) -> bool:
        """Whether the backend holds no entries."""
        return self.num_entries() == 0

    def namespace_tables(self, state: State) -> dict[Any, dict[Any, Any]] | None:
        """Direct access for an operator's fast path: ``{namespace: {key: value}}`` of ``state``
        (obtained from :meth:`state`), to read and write as the state's own storage; None when
        this backend does not keep that state as plain dicts of plain values (then the operator
        must go through the state object). Default: None."""
        return None

    @abstractmethod
    def snapshot(self) -> Any:
        """An independent, picklable snapshot in the format described in the module docstring
        (or an object that pickles to it).

        Called by the runtime at a checkpoint barrier, between records.
        """

    @abstractmethod
    def restore(self, snapshots: Iterable[dict[str, Any]]) -> None:
        """Load the key groups this backend owns from ``snapshots`` (of any old parallelism).

        Called before the operator opens; state registered later adopts the restored data.

        Raises:
            JobDefinitionError: a snapshot was taken with another max parallelism.
            InvalidTypeError: restored and registered state disagree on kind or TTL.
        """
