"""Where an operator's records go: the next chained operator, other tasks, or several of them.

An operator receives one :class:`Output` and calls ``output.collect(value, timestamp)`` per
record; for a chained successor ``collect`` *is* the successor's bound ``process_element``, so
a record crosses a chained boundary as a single direct call. Side outputs go through
``collect_side(tag, value, timestamp)``; records for a tag nobody consumes are counted in
``dropped_side_records``, never lost without trace.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Collect = Callable[[Any, Any], None]


class Output:
    """The fan-out of one operator: main-output targets, side-output targets, watermark targets."""

    __slots__ = ("collect", "_main", "_side", "_watermark_targets", "_status_targets",
                 "dropped_side_records")

    def __init__(self) -> None:
        self._main: list[Collect] = []
        self._side: dict[str, list[Collect]] = {}
        self._watermark_targets: list[Callable[[int], None]] = []
        self._status_targets: list[Callable[[bool], None]] = []
        self.dropped_side_records = 0
        self.collect: Collect = _discard

    def add_main(self, collect: Collect) -> None:
        """Route the main output to ``collect`` too."""
        self._main.append(collect)
        self._rebuild()

    def add_side(self, tag_id: str, collect: Collect) -> None:
        """Route the side output ``tag_id`` to ``collect``."""
        self._side.setdefault(tag_id, []).append(collect)

    def add_watermark_target(self, emit: Callable[[int], None],
                             status: Callable[[bool], None] | None = None) -> None:
        """Forward watermarks (and idleness) to ``emit`` / ``status``."""
        self._watermark_targets.append(emit)
        if status is not None:
            self._status_targets.append(status)

    def _rebuild(self) -> None:
        main = self._main
        if len(main) == 1:
            self.collect = main[0]
        else:
            targets = tuple(main)

            def broadcast(value: Any, ts: Any) -> None:
                for collect in targets:
                    collect(value, ts)

            self.collect = broadcast

    def collect_side(self, tag_id: str, value: Any, ts: Any) -> None:
        """Emit ``value`` to the side output ``tag_id``."""
        targets = self._side.get(tag_id)
        if targets is None:
            self.dropped_side_records += 1
            return
        for collect in targets:
            collect(value, ts)

    def emit_watermark(self, watermark: int) -> None:
        """Forward a watermark to every downstream target."""
        for emit in self._watermark_targets:
            emit(watermark)

    def emit_status(self, idle: bool) -> None:
        """Forward a change of idleness downstream."""
        for emit in self._status_targets:
            emit(idle)


def _discard(value: Any, ts: Any) -> None:
    """The main output of an operator with no consumer (for example, a sink)."""
