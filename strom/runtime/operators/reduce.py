"""Rolling aggregation on a keyed stream: every record updates its key's value and emits it.

``KeyedStream.reduce`` and the field aggregations (``sum``, ``min``, ``max``, ``min_by``,
``max_by``) all run here; the aggregation is a two-argument function built by the API.
In BATCH execution mode the aggregation is not rolling: each key's final value is emitted
once, when the input ends (Flink's batch semantics), with no timestamp.
"""
from __future__ import annotations

from typing import Any

from strom.errors import StromError
from strom.runtime.keys import HASHABLE
from strom.runtime.operators.base import UdfOperator
from strom.state import ValueStateDescriptor


class ReduceOperator(UdfOperator):
    """Keeps one value per key in keyed state (so it is checkpointed and rescaled)."""

    def __init__(self, name: str, function: Any, reduce: Any, key_selector: Any) -> None:
        super().__init__(name, function)
        self.reduce = reduce
        self.key_selector = key_selector
        self.final_only = False

    def open(self) -> None:
        super().open()
        self.final_only = self.info.config.get("runtime_mode") == "BATCH"
        self.state = state = self.backend.state(ValueStateDescriptor("_reduce", None))
        final_only = self.final_only
        reduce, collect, backend, ks, fail = self.reduce, self.output.collect, self.backend, self.key_selector, self.fail
        null_key = self.null_key

        def process_element(value: Any, ts: Any) -> None:
            try:
                backend.current_key = key = ks(value)
                if type(key) not in HASHABLE:  # keys of the common types pass with one test
                    if key is None:
                        raise null_key(value)
                    hash(key)  # unhashable keys fail here, as Flink's key hashing would
                current = state.value()
                if current is not None:
                    value = reduce(current, value)
            except StromError:
                raise
            except Exception as exc:
                raise fail(exc, value) from exc
            state.update(value)
            if not final_only:
                collect(value, ts)

        self.process_element = process_element

    def end_input(self) -> None:
        """In BATCH mode, emit every key's final value."""
        if not self.final_only:
            return
        backend, collect = self.backend, self.output.collect
        for key in list(backend.keys("_reduce")):
            backend.current_key = key
            collect(self.state.value(), None)

    def snapshot_state(self) -> dict:
        """The per-key running values (per key group), as a picklable dict."""
        return {"keyed": self.backend.snapshot()}

    def initialize_state(self, state: dict | list[dict] | None) -> None:
        """Restore the running values of this subtask's key groups from one or more snapshots."""
        if not state:
            return
        snaps = [state] if isinstance(state, dict) else list(state)
        self.backend.restore([s["keyed"] for s in snaps if s.get("keyed")])
