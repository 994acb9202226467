"""The broadcast state pattern: broadcast state views, their contexts and the two-input operator.

``ds.connect(rules.broadcast(descriptor)).process(fn)`` runs one
:class:`BroadcastProcessOperator` per subtask. Input 1 is the non-broadcast side (keyed or
not); input 2 is the broadcast side, whose every record reaches every subtask (the edge uses the
``Broadcast`` partitioner). Each subtask keeps its own copy of every broadcast state and, as in
Flink, user code must apply the same updates everywhere: only ``process_broadcast_element``
may write it (:class:`BroadcastState`); ``process_element`` and ``on_timer`` see a
:class:`ReadOnlyBroadcastState` whose mutators raise ``StateAccessError``.

Snapshots hold each broadcast state as a pickled map (plus keyed state and timers when keyed).
On restore, new subtask ``i`` takes the broadcast state of old subtask ``i % old_parallelism``
(Flink's round-robin; the copies are equal when user code is deterministic), and the key groups
it owns.

The operator's watermark is the minimum of both inputs' (see ``TwoInputOperator``).
"""
from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from strom.errors import InvalidTypeError, StateAccessError, StromError, UserFunctionError, describe
from strom.runtime.operators.co import CoProcessOperator
from strom.runtime.operators.process import ProcessContext, TimerService
from strom.state import MapStateDescriptor
from strom.state.typed import entry_checks

__all__ = [
    "BroadcastContext",
    "BroadcastProcessOperator",
    "BroadcastState",
    "KeyedBroadcastContext",
    "KeyedReadOnlyContext",
    "ReadOnlyBroadcastState",
    "ReadOnlyContext",
]

K = TypeVar("K")
V = TypeVar("V")


# -- state views -------------------------------------------------------------------------------


class ReadOnlyBroadcastState(Generic[K, V]):
    """PyFlink's ``ReadOnlyBroadcastState``: a read-only view of one broadcast state.

    Returned by ``ctx.get_broadcast_state(descriptor)`` in ``process_element`` and ``on_timer``.
    Do not modify the values it returns: they are the stored objects, not copies (as in Flink).
    """

    __slots__ = ("_name", "_map", "_operator")

    def __init__(self, name: str, mapping: dict, operator: str) -> None:
        self._name = name
        self._map = mapping
        self._operator = operator

    def get(self, key: Any) -> Any:
        """The value of ``key``, None if it has none."""
        return self._map.get(key)

    def contains(self, key: Any) -> bool:
        return key in self._map

    def items(self) -> Iterable[tuple[Any, Any]]:
        """Every ``(key, value)`` mapping."""
        return self._map.items()

    def keys(self) -> Iterable[Any]:
        return self._map.keys()

    def values(self) -> Iterable[Any]:
        return self._map.values()

    def is_empty(self) -> bool:
        return not self._map

    def __getitem__(self, key: Any) -> Any:
        return self.get(key)

    def __contains__(self, key: Any) -> bool:
        return self.contains(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, {len(self._map)} entries)"

    # -- mutators: only the broadcast side may write --
    def _read_only(self, what: str) -> StateAccessError:
        msg = (f"operator '{self._operator}': broadcast state '{self._name}' is read-only here, "
               f"{what} is not allowed; only process_broadcast_element may change broadcast state "
               "(every subtask must apply the same updates, as in Flink). Hint: move the update "
               "into process_broadcast_element, or keep per-key data in keyed state.")
        return StateAccessError(msg)

    def put(self, key: Any, value: Any) -> None:
        raise self._read_only("put()")

    def put_all(self, dict_value: dict) -> None:
        raise self._read_only("put_all()")

    def remove(self, key: Any) -> None:
        raise self._read_only("remove()")

    def clear(self) -> None:
        raise self._read_only("clear()")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise self._read_only("item assignment")

    def __delitem__(self, key: Any) -> None:
        raise self._read_only("item deletion")


class BroadcastState(ReadOnlyBroadcastState[K, V]):
    """PyFlink's ``BroadcastState``: the writable view given to ``process_broadcast_element``.

    ``items``/``keys``/``values`` return copies, so the state may be changed while iterating.
    Keys and values are checked against the types the descriptor declares (strom.state.typed).
    """

    __slots__ = ("_check",)

    def _checked(self, key: Any, value: Any) -> None:
        if self._check is not None:
            self._check(key, value)

    def items(self) -> Iterable[tuple[Any, Any]]:
        return list(self._map.items())

    def keys(self) -> Iterable[Any]:
        return list(self._map)

    def values(self) -> Iterable[Any]:
        return list(self._map.values())

    def put(self, key: Any, value: Any) -> None:
        """Map ``key`` to ``value``."""
        self._checked(key, value)
        self._map[key] = value

    def put_all(self, dict_value: dict) -> None:
        """Copy every mapping of ``dict_value`` into the state."""
        for key, value in dict_value.items():
            self._checked(key, value)
        self._map.update(dict_value)

    def remove(self, key: Any) -> None:
        """Delete the mapping of ``key`` (nothing happens if there is none)."""
        self._map.pop(key, None)

    def clear(self) -> None:
        """Delete every mapping."""
        self._map.clear()

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value)

    def __delitem__(self, key: Any) -> None:
        self.remove(key)


# -- contexts ----------------------------------------------------------------------------------


class ReadOnlyContext:
    """The ``ctx`` of ``BroadcastProcessFunction.process_element`` (one per operator, reused).

    Valid only during the call; do not store it. The methods every user-function context has
    (``timestamp``, ``collect``, ``output``, the current times) are the process operator's
    (``ProcessContext``, ``TimerService``), borrowed rather than inherited so that each context
    offers exactly PyFlink's methods: no timer service or key where there is none.
    """

    __slots__ = ("_op", "_ts", "_out_ts", "_domain", "_collect", "_collect_side")
    _writable = False

    def __init__(self, op: BroadcastProcessOperator) -> None:
        self._op = op
        self._ts: int | None = None      # what timestamp() returns
        self._out_ts: int | None = None  # the timestamp of records emitted via collect/output
        self._domain: int | None = None
        self._collect = op.output.collect
        self._collect_side = op.output.collect_side

    timestamp = ProcessContext.timestamp
    current_processing_time = TimerService.current_processing_time
    current_watermark = TimerService.current_watermark  # the minimum of both inputs' watermarks
    collect = ProcessContext.collect
    output = ProcessContext.output

    def get_broadcast_state(self, state_descriptor: MapStateDescriptor) -> ReadOnlyBroadcastState:
        """The broadcast state ``state_descriptor`` names (declared in ``broadcast(...)``)."""
        return self._op.broadcast_state(state_descriptor, self._writable)


class KeyedReadOnlyContext(ReadOnlyContext):
    """The ``ctx`` of ``KeyedBroadcastProcessFunction.process_element`` and ``on_timer``."""

    __slots__ = ("_timer_service",)

    def __init__(self, op: BroadcastProcessOperator) -> None:
        super().__init__(op)
        self._timer_service = TimerService(op, op.timers)

    timer_service = ProcessContext.timer_service
    get_current_key = ProcessContext.get_current_key  # the element's key, or the firing timer's
    time_domain = ProcessContext.time_domain


class BroadcastContext(ReadOnlyContext):
    """The ``ctx`` of ``process_broadcast_element``: the broadcast state is writable."""

    __slots__ = ()
    _writable = True


class KeyedBroadcastContext(BroadcastContext):
    """The ``ctx`` of ``KeyedBroadcastProcessFunction.process_broadcast_element``.

    There is no current key here: keyed state is reachable only through
    :meth:`apply_to_keyed_state`.
    """

    __slots__ = ()

    def apply_to_keyed_state(self, state_descriptor: Any, function: Any) -> None:
        """Call ``function(key, state)`` for every key of this subtask that has ``state_descriptor``.

        ``function`` is a callable or an object with ``process(key, state)`` (Java's
        ``KeyedStateFunction``). While it runs, ``state`` reads and writes ``key``'s entry; it
        may update or clear it. Keys of other subtasks are visited by their own subtask, which
        receives the same broadcast element.
        """
        op = self._op
        fn = getattr(function, "process", None)
        if not callable(fn):
            fn = function
        if not callable(fn):
            msg = (f"operator '{op.name}': apply_to_keyed_state expected a function (key, state) or "
                   f"a KeyedStateFunction, got {describe(function)}")
            raise UserFunctionError(msg, operator=op.name)
        backend = op.backend
        state = backend.state(state_descriptor)
        for key in backend.keys(state_descriptor.name):
            backend.current_key = key
            fn(key, state)
        backend.current_key = None  # on failure it stays set, so the error names the key


# -- the operator ------------------------------------------------------------------------------


class BroadcastProcessOperator(CoProcessOperator):
    """Runs a ``BroadcastProcessFunction``, or a ``KeyedBroadcastProcessFunction`` when keyed.

    Input 1 (``process_element1``) is the non-broadcast side, input 2 the broadcast side.

    Args:
        name: "Co-Process-Broadcast" or "Co-Process-Broadcast-Keyed" (Flink's names).
        function: the user's function object (a private copy for this subtask).
        descriptors: the ``MapStateDescriptor``s given to ``broadcast(...)``.
        key_selector: the non-broadcast side's key selector (keyed variant), else None.
    """

    def __init__(self, name: str, function: Any, descriptors: Iterable[MapStateDescriptor],
                 key_selector: Any = None) -> None:
        super().__init__(name, function, key_selector, None)
        self.descriptors = {d.name: d for d in descriptors}
        self.broadcast_states: dict[str, dict] = {name: {} for name in self.descriptors}
        self._views: dict[tuple[str, bool], ReadOnlyBroadcastState] = {}

    # -- broadcast state --
    def broadcast_state(self, descriptor: Any, writable: bool) -> ReadOnlyBroadcastState:
        """The (read-only or writable) view of the broadcast state ``descriptor`` names."""
        if not isinstance(descriptor, MapStateDescriptor):
            msg = (f"operator '{self.name}': get_broadcast_state expected a MapStateDescriptor, got "
                   f"{describe(descriptor)} ({type(descriptor).__name__})")
            raise InvalidTypeError(msg)
        view = self._views.get((descriptor.name, writable))
        if view is not None:
            return view
        mapping = self.broadcast_states.get(descriptor.name)
        if mapping is None or descriptor.name not in self.descriptors:
            declared = ", ".join(repr(n) for n in self.descriptors) or "none"
            msg = (f"operator '{self.name}': broadcast state '{descriptor.name}' does not exist "
                   f"(declared: {declared}). Hint: check the descriptor's name, or pass the "
                   "descriptor to broadcast(...) on the broadcast stream.")
            raise StateAccessError(msg)
        cls = BroadcastState if writable else ReadOnlyBroadcastState
        view = self._views[(descriptor.name, writable)] = cls(descriptor.name, mapping, self.name)
        if writable:
            view._check = entry_checks(self.descriptors[descriptor.name],
                                       f"operator '{self.name}': broadcast state '{descriptor.name}'")
        return view

    # -- lifecycle --
    def open(self) -> None:
        keyed = self.key_selector is not None
        self._open_timers_and_context()
        # self.ctx also serves on_timer (FiresTimers), where PyFlink's OnTimerContext is read-only
        self.ctx = KeyedReadOnlyContext(self) if keyed else ReadOnlyContext(self)
        self.broadcast_ctx = KeyedBroadcastContext(self) if keyed else BroadcastContext(self)
        super(CoProcessOperator, self).open()  # the user's open(runtime_context)
        f = self.function
        self.process_element1 = self._make_element(f.process_element)
        self.process_element2 = self._make_broadcast(f.process_broadcast_element)

    def _make_element(self, pe: Any) -> Any:
        return self._make(pe, self.key_selector)

    def _make_broadcast(self, pbe: Any) -> Any:
        ctx, backend = self.broadcast_ctx, self.backend
        if backend is None:
            return self._make(pbe, None, ctx, "broadcast element")
        emit, fail = self._emit, self.fail

        # Keyed: as CoProcessOperator._make's but clearing the key first (written out, not
        # wrapped, to spare a call per record).
        def process(value: Any, ts: Any) -> None:
            ctx._ts = ts
            backend.current_key = None  # no key on the broadcast side
            try:
                result = pbe(value, ctx)
                if result is not None:
                    emit(result, ts)
            except StromError:
                raise
            except Exception as exc:
                raise fail(exc, value, "broadcast element") from exc

        return process

    # -- snapshots --
    def snapshot_state(self) -> dict:
        """Keyed state and timers (when keyed) plus every broadcast state, pickled per name."""
        snap = super().snapshot_state()
        blobs = {}
        for name, mapping in self.broadcast_states.items():
            try:
                blobs[name] = pickle.dumps(mapping, protocol=5)
            except Exception as exc:
                msg = (f"operator '{self.name}': broadcast state '{name}' cannot be pickled for a "
                       f"snapshot: {exc}; hint: keep only picklable keys and values (no lambdas, "
                       "locks, open files) in broadcast state")
                raise InvalidTypeError(msg) from exc
        snap["broadcast"] = blobs
        return snap

    def initialize_state(self, state: dict | list[dict] | None) -> None:
        """Restore from one snapshot, or from those of every old subtask in subtask order.

        Broadcast state comes from old subtask ``subtask_index % len(snapshots)`` (Flink's
        round-robin); keyed state and timers from every snapshot, for this subtask's key
        groups. Called after ``setup``, before ``open``.
        """
        if not state:
            return
        snaps = [state] if isinstance(state, dict) else list(state)
        assert self.info is not None
        own = snaps[self.info.subtask_index % len(snaps)] or {}
        for name, blob in (own.get("broadcast") or {}).items():
            restored = pickle.loads(blob)
            mapping = self.broadcast_states.get(name)
            if mapping is None:  # no longer declared: kept, and carried into later snapshots
                self.broadcast_states[name] = restored
            else:
                mapping.clear()
                mapping.update(restored)
        super().initialize_state(snaps)
