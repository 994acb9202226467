"""Map, flat map and filter: one record in, zero or more out, no state, always chained.

Each operator may also be keyed (a ``KeyedStream.map`` can read keyed state): then the key is
set on the state backend before the user function runs.
"""
from __future__ import annotations

from typing import Any

from strom.errors import StromError
from strom.runtime.fusion import Step
from strom.runtime.operators.base import UdfOperator, key_setter
from strom.runtime.operators.process import as_iterable


class MapOperator(UdfOperator):
    """``value -> fn(value)``, keeping the timestamp."""

    def __init__(self, name: str, function: Any, fn: Any, key_selector: Any = None) -> None:
        super().__init__(name, function)
        self.fn = fn
        self.key_selector = key_selector

    def open(self) -> None:
        super().open()
        fn, collect, ks = self.fn, self.output.collect, self.key_selector
        fail = self.fail
        set_key = key_setter(self)
        if ks is None:
            def process_element(value: Any, ts: Any) -> None:
                try:
                    result = fn(value)
                except Exception as exc:
                    raise fail(exc, value) from exc
                collect(result, ts)
        else:
            def process_element(value: Any, ts: Any) -> None:
                try:
                    set_key(value)
                    result = fn(value)
                except Exception as exc:
                    raise fail(exc, value) from exc
                collect(result, ts)
        self.process_element = process_element


    def fusion_step(self) -> Step | None:
        """This map as a step of a fused chain (only without a key: keyed maps set the key)."""
        return Step("map", self.fn, self.fail) if self.key_selector is None else None


class FilterOperator(UdfOperator):
    """Keeps records for which ``fn(value)`` is truthy."""

    def __init__(self, name: str, function: Any, fn: Any, key_selector: Any = None) -> None:
        super().__init__(name, function)
        self.fn = fn
        self.key_selector = key_selector
        self.dropped = 0

    def open(self) -> None:
        super().open()
        fn, collect, ks, fail = self.fn, self.output.collect, self.key_selector, self.fail
        set_key = key_setter(self)

        def process_element(value: Any, ts: Any) -> None:
            try:
                if ks is not None:
                    set_key(value)
                keep = fn(value)
            except Exception as exc:
                raise fail(exc, value) from exc
            if keep:
                collect(value, ts)

        self.process_element = process_element


    def fusion_step(self) -> Step | None:
        """This filter as a step of a fused chain (only without a key)."""
        return Step("filter", self.fn, self.fail) if self.key_selector is None else None


class Collector:
    """The ``out`` argument of functions written Java-style (``flat_map(value, out)``)."""

    __slots__ = ("_collect", "ts")

    def __init__(self, collect: Any) -> None:
        self._collect = collect
        self.ts = None

    def collect(self, value: Any) -> None:
        """Emit ``value`` downstream with the current record's timestamp."""
        self._collect(value, self.ts)


class FlatMapOperator(UdfOperator):
    """``fn(value)`` returns an iterable (or is a generator); each item goes downstream.

    With ``collector_style`` the function is called as ``fn(value, out)`` and emits through
    ``out.collect(x)``.
    """

    def __init__(self, name: str, function: Any, fn: Any, collector_style: bool = False,
                 key_selector: Any = None) -> None:
        super().__init__(name, function)
        self.fn = fn
        self.collector_style = collector_style
        self.key_selector = key_selector

    def open(self) -> None:
        super().open()
        fn, collect, ks, fail = self.fn, self.output.collect, self.key_selector, self.fail
        set_key = key_setter(self)
        if self.collector_style:
            out = Collector(collect)

            def process_element(value: Any, ts: Any) -> None:
                out.ts = ts
                try:
                    if ks is not None:
                        set_key(value)
                    fn(value, out)
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, value) from exc
        else:
            name = self.name

            def process_element(value: Any, ts: Any) -> None:
                try:
                    if ks is not None:
                        set_key(value)
                    result = fn(value)
                    if result is None:
                        return
                    for item in as_iterable(name, result):
                        collect(item, ts)
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, value) from exc
        self.process_element = process_element
