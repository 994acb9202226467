"""Two-input operators: CoMap, CoFlatMap, CoProcess and KeyedCoProcess over connected streams.

The operator's watermark is the minimum of its two inputs' watermarks (each input's own
watermark is already the minimum over that input's channels) and never decreases.
"""
from __future__ import annotations

from typing import Any

from strom.errors import StromError
from strom.runtime.operators.base import UdfOperator, key_setter
from strom.runtime.operators.process import FiresTimers, emitter
from strom.time.timers import KeyedTimers
from strom.time.watermarks import MIN_WATERMARK


class TwoInputOperator(UdfOperator):
    """Base: watermark combination and end-of-input bookkeeping for two inputs."""

    timers: KeyedTimers | None = None

    def __init__(self, name: str, function: Any) -> None:
        super().__init__(name, function)
        self._wm = [MIN_WATERMARK, MIN_WATERMARK]

    def process_watermark1(self, watermark: int) -> None:
        self._combine(0, watermark)

    def process_watermark2(self, watermark: int) -> None:
        self._combine(1, watermark)

    def _combine(self, index: int, watermark: int) -> None:
        self._wm[index] = watermark
        combined = min(self._wm)
        if combined > self.current_watermark:
            self.process_watermark(combined)

    def process_watermark(self, watermark: int) -> None:
        self.current_watermark = watermark
        if self.timers is not None:
            self.timers.advance_watermark(watermark)
        self.output.emit_watermark(watermark)

    def end_input(self, index: int = 1) -> None:  # type: ignore[override]
        """Input ``index`` (1 or 2) ended."""


class CoMapOperator(TwoInputOperator):
    """``map1`` for input 1, ``map2`` for input 2; one result each."""

    def __init__(self, name: str, function: Any, flat: bool = False, key_selector1: Any = None,
                 key_selector2: Any = None) -> None:
        super().__init__(name, function)
        self.flat = flat
        self.key_selectors = (key_selector1, key_selector2)
        self.key_selector = key_selector1  # makes setup() create a keyed backend

    def open(self) -> None:
        super().open()
        f = self.function
        fns = (f.flat_map1, f.flat_map2) if self.flat else (f.map1, f.map2)
        collect, fail = self.output.collect, self.fail
        emit = emitter(self)

        def make(fn: Any, ks: Any) -> Any:
            if ks is not None:  # keyed connected streams: state is scoped to the element's key
                inner, set_key = fn, key_setter(self, ks)

                def fn(value: Any) -> Any:
                    set_key(value)
                    return inner(value)
            if self.flat:
                def process(value: Any, ts: Any) -> None:
                    try:
                        result = fn(value)
                        if result is not None:
                            emit(result, ts)
                    except StromError:
                        raise
                    except Exception as exc:
                        raise fail(exc, value) from exc
            else:
                def process(value: Any, ts: Any) -> None:
                    try:
                        result = fn(value)
                    except StromError:
                        raise
                    except Exception as exc:
                        raise fail(exc, value) from exc
                    collect(result, ts)
            return process

        self.process_element1, self.process_element2 = (make(fns[0], self.key_selectors[0]),
                                                        make(fns[1], self.key_selectors[1]))


class CoProcessOperator(FiresTimers, TwoInputOperator):
    """CoProcessFunction, or KeyedCoProcessFunction when key selectors are given."""

    def __init__(self, name: str, function: Any, key_selector1: Any = None,
                 key_selector2: Any = None) -> None:
        super().__init__(name, function)
        self.key_selectors = (key_selector1, key_selector2)
        self.key_selector = key_selector1  # makes setup() create a keyed backend

    def open(self) -> None:
        self._open_timers_and_context()
        super().open()
        f = self.function
        self.process_element1 = self._make(f.process_element1, self.key_selectors[0])
        self.process_element2 = self._make(f.process_element2, self.key_selectors[1])

    def _make(self, pe: Any, ks: Any, ctx: Any = None, what: str = "element") -> Any:
        """A ``process_element1``/``2``: set ``ctx``'s timestamps (and, with ``ks``, the key),
        call ``pe(value, ctx)`` and emit what it returns; errors name the ``what`` that failed.

        ``ctx`` defaults to the operator's ``ctx``; the broadcast operator passes its own.
        """
        emit, fail = self._emit, self.fail
        if ctx is None:
            ctx = self.ctx
        set_key = None if ks is None else key_setter(self, ks)

        def process(value: Any, ts: Any) -> None:
            ctx._ts = ts
            try:
                if set_key is not None:
                    set_key(value)
                result = pe(value, ctx)
                if result is not None:
                    emit(result, ts)
            except StromError:
                raise
            except Exception as exc:
                raise fail(exc, value, what) from exc

        return process
