"""Flink's ``MergingWindowSet``: the in-flight windows of one key for a merging assigner.

Each in-flight window maps to a *state window*: the namespace its contents are stored under.
When windows merge, the result keeps the state window of one of the merged windows, and the
contents of the others are merged into it, so state never has to be moved just because a
session grew. Trigger state and timers, on the other hand, are scoped to the actual window.

The mapping is kept per key in keyed state (a dict ``{window: state_window}``), so it is part
of checkpoints like all other window state.

Example:
    >>> ws = MergingWindowSet(EventTimeSessionWindows.with_gap(10), {})  # doctest: +SKIP
    >>> ws.add_window(TimeWindow(0, 10), lambda *a: None)  # doctest: +SKIP
    TimeWindow(start=0, end=10)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strom.errors import StromError

__all__ = ["MergingWindowSet"]

MergeFunction = Callable[[Any, list[Any], Any, list[Any]], None]
"""``merge(merge_result, merged_windows, state_window_result, merged_state_windows)``."""


class MergingWindowSet:
    """The window -> state-window mapping of one key (not thread-safe; one per operator call)."""

    __slots__ = ("assigner", "mapping")

    def __init__(self, assigner: Any, mapping: dict[Any, Any]) -> None:
        self.assigner = assigner
        self.mapping = mapping

    def get_state_window(self, window: Any) -> Any:
        """The namespace holding ``window``'s contents, or ``None`` if it is not in flight."""
        return self.mapping.get(window)

    def retire_window(self, window: Any) -> None:
        """Forget ``window`` (it was purged or is late)."""
        if self.mapping.pop(window, None) is None:
            msg = f"MergingWindowSet: window {window!r} is not in the in-flight window set"
            raise StromError(msg)

    def add_window(self, new_window: Any, merge_function: MergeFunction) -> Any:
        """Add ``new_window``, merging it (and others) as the assigner says; returns its window.

        For every merge, ``merge_function`` is called before the merged windows are gone from
        the mapping's point of view of the caller, with the resulting window, the windows merged
        into it, the state window kept and the state windows whose contents must be merged in.
        The returned window is the one ``new_window`` ended up in.
        """
        mapping = self.mapping
        results: list[tuple[Any, list[Any]]] = []
        candidates = [*mapping, new_window]
        self.assigner.merge_windows(candidates, lambda group, result: results.append((result, list(group))))
        result_window = new_window
        merged_new = False
        for merge_result, merged in results:
            if new_window in merged:
                merged.remove(new_window)
                merged_new = True
                result_window = merge_result
            # keep the state window of one existing window (the earliest, for determinism)
            kept = mapping.get(merged[0]) if merged else None
            merged_state = []
            for w in merged:
                sw = mapping.pop(w, None)
                if sw is not None:
                    merged_state.append(sw)
            mapping[merge_result] = kept
            if kept is not None and kept in merged_state:
                merged_state.remove(kept)
            if not (len(merged) == 1 and merged[0] == merge_result):
                merge_function(merge_result, merged, kept, merged_state)
        if not results or (result_window == new_window and not merged_new):
            mapping[result_window] = result_window
        return result_window

    def __repr__(self) -> str:
        return f"MergingWindowSet({self.mapping!r})"
