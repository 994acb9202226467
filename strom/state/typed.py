"""Declared types honoured where PyFlink declares them: keyed state and side outputs.

PyFlink serializes a state value or a side-output record with the type its descriptor or
``OutputTag`` declares, so a value of another type fails there. strom keeps Python objects, so it
checks instead, with the check a declared ``output_type`` gets (the type information's compiled
quick test, then its authoritative ``validate`` naming what was wrong): a
``ValueStateDescriptor("s", Types.LONG())`` rejects ``update("x")`` at that call, naming the
operator, the state, the expected type and the value.

What is checked, per state kind (``None`` clears or is refused as before, it is never checked):

* value: ``update(value)``; reducing: ``add(value)`` (the descriptor's type is the value type);
* list: each element of ``add``/``add_all``/``update``;
* map: each key and value of ``put``/``put_all`` (key type, value type); broadcast state too;
* aggregating: the accumulator ``add`` produces (the descriptor's ``state_type_info``).

A descriptor without a type, or with ``Types.PICKLED_BYTE_ARRAY()``, is not checked (and gets
the unchecked classes: no cost on the per-record path).
"""
from __future__ import annotations

from typing import Any

from strom.state._heap_states import HeapValueState

HINT = "store values of the declared type, or declare Types.PICKLED_BYTE_ARRAY() for any value"


class Declared:
    """The check of one declared type at one place (``where`` names it in the message)."""

    __slots__ = ("accepts", "type_info", "where", "hint")

    def __init__(self, type_info: Any, where: str, hint: str = HINT) -> None:
        self.accepts = type_info.fast_check()
        self.type_info = type_info
        self.where = where
        self.hint = hint

    @staticmethod
    def of(type_info: Any, where: str, hint: str = HINT) -> Declared | None:
        """The check of ``type_info``; None when it accepts every value (no type, or pickled)."""
        if type_info is None or not callable(getattr(type_info, "fast_check", None)):
            return None
        if type_info.fast_expression("v") == "True":
            return None
        return Declared(type_info, where, hint)

    def __call__(self, value: Any) -> Any:
        """``value`` if it is of the declared type (or None); else InvalidTypeError."""
        if value is not None and not self.accepts(value):
            self.type_info.validate(value, self.where, self.hint)
        return value


class _TypedValue:
    __slots__ = ()
    _check: Declared

    def update(self, value: Any) -> None:
        if value is not None and not self._check.accepts(value):
            self._check(value)
        super().update(value)  # type: ignore[misc]


# The per-record case (a counter in ``ValueState`` of ``Types.LONG()``): ``HeapValueState.update``
# with the type's quick test inlined (``TypeInformation.fast_expression``), so a checked update
# costs a few comparisons more than an unchecked one, not a call.
_HEAP_VALUE_UPDATE = """
def update(self, value):
    key = self._backend.current_key
    if key is None:
        raise self._outside()
    if value is None:
        self._table.pop(key, None)
    else:
        if not {test}:
            self._check(value)
        self._table[key] = value
"""
_HEAP_VALUE_CLASSES: dict[str, type] = {}


def _heap_value_class(type_info: Any) -> type:
    """A HeapValueState subclass whose ``update`` tests values with ``type_info``'s quick test."""
    test = type_info.fast_expression("value") or "self._check.accepts(value)"
    cls = _HEAP_VALUE_CLASSES.get(test)
    if cls is None:
        namespace = dict(type_info.fast_globals())
        exec(_HEAP_VALUE_UPDATE.format(test=test), namespace)  # noqa: S102 - built from our own parts
        cls = _HEAP_VALUE_CLASSES[test] = type("TypedHeapValueState", (HeapValueState,),
                                               {"__slots__": ("_check",), "update": namespace["update"]})
    return cls


class _TypedReducing:
    __slots__ = ()
    _check: Declared

    def add(self, value: Any) -> None:
        if value is not None and not self._check.accepts(value):
            self._check(value)
        super().add(value)  # type: ignore[misc]


class _TypedList:
    __slots__ = ()
    _check: Declared

    def add(self, value: Any) -> None:
        self._check(value)
        super().add(value)  # type: ignore[misc]

    def add_all(self, values: Any) -> None:
        values = list(values) if values is not None else values
        for value in values or ():
            self._check(value)
        super().add_all(values)  # type: ignore[misc]

    def update(self, values: Any) -> None:
        values = list(values) if values is not None else values
        for value in values or ():
            self._check(value)
        super().update(values)  # type: ignore[misc]


class _TypedMap:
    __slots__ = ()
    _check: EntryCheck

    def put(self, key: Any, value: Any) -> None:
        self._check(key, value)
        super().put(key, value)  # type: ignore[misc]

    def put_all(self, dict_value: Any) -> None:
        for key, value in (dict_value or {}).items():
            self._check(key, value)
        super().put_all(dict_value)  # type: ignore[misc]


class _CheckedAccumulators:
    """An AggregateFunction whose ``add`` results are checked against the accumulator type."""

    __slots__ = ("_fn", "_check")

    def __init__(self, fn: Any, check: Declared) -> None:
        self._fn = fn
        self._check = check

    def create_accumulator(self) -> Any:
        return self._fn.create_accumulator()

    def add(self, value: Any, accumulator: Any) -> Any:
        return self._check(self._fn.add(value, accumulator))

    def get_result(self, accumulator: Any) -> Any:
        return self._fn.get_result(accumulator)

    def merge(self, a: Any, b: Any) -> Any:
        return self._fn.merge(a, b)


class _TypedAggregating:
    __slots__ = ()
    _fn: Any

    def _typed(self, check: Declared) -> None:
        self._fn = _CheckedAccumulators(self._fn, check)


_MIXINS = {"value": _TypedValue, "reducing": _TypedReducing, "list": _TypedList, "map": _TypedMap,
           "aggregating": _TypedAggregating}
_TYPED: dict[type, type] = {}


def _where(descriptor: Any, operator: str | None, part: str = "") -> str:
    where = f"{descriptor.kind} state '{descriptor.name}'{part}"
    return f"operator '{operator}': {where}" if operator else where


class EntryCheck:
    """The check of a map entry's key and value against the types a MapStateDescriptor
    declares: ``check(key, value)`` raises InvalidTypeError naming which one is wrong."""

    __slots__ = ("key", "value")

    def __init__(self, key: Declared | None, value: Declared | None) -> None:
        self.key = key
        self.value = value

    def __call__(self, key: Any, value: Any) -> None:
        if self.key is not None:
            self.key(key)
        if self.value is not None:
            self.value(value)


def entry_checks(descriptor: Any, where: str) -> EntryCheck | None:
    """The check of a MapStateDescriptor's entries; None when it declares neither type."""
    key = Declared.of(descriptor.key_type_info, f"{where} key")
    value = Declared.of(descriptor.value_type_info, f"{where} value")
    return None if key is None and value is None else EntryCheck(key, value)


def typed_state(cls: type, backend: Any, descriptor: Any, operator: str | None) -> Any:
    """A new state of class ``cls`` for ``descriptor``, checking the types it declares (an
    instance of ``cls`` itself when it declares none worth checking)."""
    kind = descriptor.kind
    if kind == "map":
        check: Any = entry_checks(descriptor, _where(descriptor, operator))
    else:
        part = " accumulator" if kind == "aggregating" else ""
        check = Declared.of(descriptor.type_info, _where(descriptor, operator, part))
    if check is None or kind not in _MIXINS:
        return cls(backend, descriptor)
    typed = _heap_value_class(descriptor.type_info) if cls is HeapValueState else _TYPED.get(cls)
    if typed is None:
        slots = () if kind == "aggregating" else ("_check",)
        typed = _TYPED[cls] = type(f"Typed{cls.__name__}", (_MIXINS[kind], cls), {"__slots__": slots})
    state = typed(backend, descriptor)
    if kind == "aggregating":
        state._typed(check)
    else:
        state._check = check
    return state


__all__ = ["Declared", "EntryCheck", "entry_checks", "typed_state"]
