"""The window operator's fast path: event-time tumbling/sliding windows with ``EventTimeTrigger``
and an incremental ``reduce``/``aggregate`` (the common case, and benchmark W2).

Same results, same emission order and the same state layout as the general path, for a few
dict operations per element:

* Contents live in the window-contents state's own namespace tables (``{TimeWindow: {key:
  acc}}``), reached per element through ``by_end[window_end]``, so snapshots, ``state_for`` and
  ``num_entries`` see them exactly as the general path's.
* Timers are implied, not stored per pane: every pane of a window has its fire timer at
  ``max_timestamp()`` and its cleanup timer at ``max_timestamp() + allowed_lateness``, so one
  heap entry per *window end* stands for all keys' timers. Snapshots write them out per pane
  (:meth:`FastPath.timers`), and a restore reads them back (:meth:`FastPath.create`), so a
  snapshot of either path restores into the other.
* The backend's current key is set only when a pane fires or a user function fails: reduce and
  aggregate functions of windows cannot use keyed state (Flink forbids rich functions there). A window fires its panes in the
  order their keys first arrived, which is the order the general path's timer heap (ties
  broken by registration) fires them in.

Used only when :meth:`FastPath.create` accepts the operator; otherwise the general path runs.
"""
from __future__ import annotations

import heapq
from typing import Any

from strom.errors import StromError, UserFunctionError
from strom.window.assigners import SlidingEventTimeWindows, TumblingEventTimeWindows
from strom.window.triggers import EventTimeTrigger
from strom.window.windows import MAX_LONG, TimeWindow

_MISSING: Any = object()
_INF = float("inf")


class FastPath:
    """Replaces ``process_element``/``process_watermark`` of a qualifying WindowOperator."""

    @staticmethod
    def create(op: Any) -> FastPath | None:
        """The fast path for ``op``, or None when the general path must run."""
        if type(op.assigner) not in (TumblingEventTimeWindows, SlidingEventTimeWindows):
            return None
        if type(op.trigger) is not EventTimeTrigger or op.evictor is not None:
            return None
        if op.contents_kind == "list" or op.merging:
            return None
        if op.backend.namespace_tables(op.contents) is None:
            return None  # the backend does not keep the contents as plain dicts
        fast = FastPath(op)
        if op.restored_timers is not None and not fast._adopt(op.restored_timers):
            return None
        fast._build()
        return fast

    def __init__(self, op: Any) -> None:
        self.op = op
        self.by_end: dict[int, dict[Any, Any]] = {}
        self.fire_heap: list[tuple[int, int]] = []      # (max_timestamp, end): panes to fire
        self.cleanup_heap: list[tuple[int, int]] = []   # (cleanup time, end): fired, awaiting cleanup

    def num_timers(self) -> int:
        """How many (key, window, time) timers the general path would hold."""
        per = 1 if self.op.allowed_lateness == 0 else 2
        by_end = self.by_end
        return (sum(len(by_end[e]) * per for _, e in self.fire_heap)
                + sum(len(by_end[e]) for _, e in self.cleanup_heap))

    def timers(self) -> list[tuple[Any, TimeWindow, int]]:
        """The ``(key, window, time)`` event-time timers the general path would hold: a pane
        waiting to fire has its fire timer and (with allowed lateness) its cleanup timer, a
        fired pane only its cleanup timer (none at ``MAX_LONG``, as the general path)."""
        op, size, by_end = self.op, self.op.assigner.size, self.by_end
        out: list[tuple[Any, TimeWindow, int]] = []
        for heap, fires in ((self.fire_heap, True), (self.cleanup_heap, False)):
            for _, end in sorted(heap):
                window = TimeWindow(end - size, end)
                times = [end - 1] if fires else []
                cleanup = op.cleanup_time(window)
                if cleanup != MAX_LONG and cleanup not in times:
                    times.append(cleanup)
                out.extend((key, window, t) for key in by_end[end] for t in times)
        return out

    def _adopt(self, restored: dict[str, list]) -> bool:
        """Take over restored window contents and their timers; False if the timers are not
        exactly those this path implies (then the general path must run).

        That happens only when the panes of one window were in different states in the old
        subtasks (they fired at different watermarks), or when timers came from another trigger.
        """
        op = self.op
        if restored.get("processing"):
            return False
        pending = {(key, ns) for key, ns, t in restored.get("event", ())
                   if type(ns) is TimeWindow and t == ns.end - 1}
        fire_end = op.current_watermark + 1  # a window with end <= fire_end has fired
        for ns, table in op.backend.namespace_tables(op.contents).items():
            if type(ns) is not TimeWindow or not table:
                continue
            end = ns.end
            fires = {(key, ns) in pending for key in table}
            if len(fires) > 1 or ns.start != end - op.assigner.size:
                return False
            self.by_end[end] = table
            if True in fires:
                self.fire_heap.append((end - 1, end))
            elif end <= fire_end:
                self.cleanup_heap.append((end - 1 + op.allowed_lateness, end))
            else:
                return False  # fired in its old subtask, not yet by this one's watermark
        heapq.heapify(self.fire_heap)
        heapq.heapify(self.cleanup_heap)
        return set(self.timers()) == set(restored.get("event", ()))

    def _build(self) -> None:  # noqa: C901 - closures sharing hot-path variables
        op = self.op
        assigner = op.assigner
        size, offset = assigner.size, assigner.offset
        slide = getattr(assigner, "slide", size)
        sliding = type(assigner) is SlidingEventTimeWindows
        lateness = op.allowed_lateness
        ks, backend, fail, null_key = op.key_selector, op.backend, op.fail, op.null_key
        tables = op.backend.namespace_tables(op.contents)
        by_end, fire_heap, cleanup_heap = self.by_end, self.fire_heap, self.cleanup_heap
        emit_window, late = op.emit_window, op.late
        emit_watermark = op.output.emit_watermark
        heappush, heappop = heapq.heappush, heapq.heappop
        aggregate = op.contents_kind == "aggregate"
        if aggregate:
            agg = op.reduce_function
            create, add, result_of = agg.create_accumulator, agg.add, agg.get_result
        else:
            reduce = op.reduce_function
        wm = op.current_watermark                 # MIN_WATERMARK unless restored
        late_end = wm + 1 - lateness              # a window with end <= late_end is late
        fire_end = wm + 1                         # a window with end <= fire_end has fired
        due = [heap[0][0] for heap in (fire_heap, cleanup_heap) if heap]
        next_due: Any = min(due) if due else _INF

        def new_pane(end: int) -> dict[Any, Any]:
            nonlocal next_due
            window = TimeWindow(end - size, end)
            table = tables.get(window)
            if table is None:
                table = tables[window] = {}
            by_end[end] = table
            due = end - 1
            if end <= fire_end:  # already fired (allowed lateness): only cleanup is pending
                due += lateness
                heappush(cleanup_heap, (due, end))
            else:
                heappush(fire_heap, (due, end))
            if due < next_due:
                next_due = due
            return table

        def fire_pane(end: int, key: Any, acc: Any) -> None:
            value = result_of(acc) if aggregate else acc
            if value is not None:
                emit_window(key, TimeWindow(end - size, end), [value])

        def no_timestamp(value: Any, exc: Exception) -> StromError:
            if isinstance(exc, StromError):
                return exc
            msg = (f"operator '{op.name}': the record {value!r:.100} has no timestamp; event-time "
                   f"windows need one. Hint: call assign_timestamps_and_watermarks(...) before "
                   f"the window, or use a processing-time window assigner.")
            return UserFunctionError(msg, operator=op.name, element=value)

        # Tumbling windows (benchmark W2) get one specialised copy per contents kind: testing
        # ``aggregate`` per element, as the sliding loop below does, costs ~3% per element.
        if not sliding and aggregate:
            def process_element(value: Any, ts: Any) -> None:
                try:
                    end = ts - (ts - offset) % size + size
                except TypeError as exc:
                    raise no_timestamp(value, exc) from None
                if end <= late_end:
                    late(value, ts)
                    return
                table = by_end.get(end)
                if table is None:
                    table = new_pane(end)
                key = None
                try:
                    key = ks(value)
                    if key is None:
                        raise null_key(value)
                    acc = table.get(key, _MISSING)
                    acc = table[key] = add(value, create() if acc is _MISSING else acc)
                    if end <= fire_end:
                        backend.current_key = key
                        fire_pane(end, key, acc)
                except StromError:
                    raise
                except Exception as exc:
                    backend.current_key = key
                    raise fail(exc, value) from exc
        elif not sliding:
            def process_element(value: Any, ts: Any) -> None:
                try:
                    end = ts - (ts - offset) % size + size
                except TypeError as exc:
                    raise no_timestamp(value, exc) from None
                if end <= late_end:
                    late(value, ts)
                    return
                table = by_end.get(end)
                if table is None:
                    table = new_pane(end)
                key = None
                try:
                    key = ks(value)
                    if key is None:
                        raise null_key(value)
                    acc = table.get(key, _MISSING)
                    acc = table[key] = value if acc is _MISSING else reduce(acc, value)
                    if end <= fire_end:
                        backend.current_key = key
                        fire_pane(end, key, acc)
                except StromError:
                    raise
                except Exception as exc:
                    backend.current_key = key
                    raise fail(exc, value) from exc
        else:
            def process_element(value: Any, ts: Any) -> None:
                try:
                    start = ts - (ts - offset) % slide
                except TypeError as exc:
                    raise no_timestamp(value, exc) from None
                key = _MISSING
                try:
                    lowest = ts - size
                    while start > lowest:
                        end = start + size
                        start -= slide
                        if end <= late_end:
                            continue
                        if key is _MISSING:
                            key = ks(value)
                            if key is None:
                                raise null_key(value)
                        table = by_end.get(end)
                        if table is None:
                            table = new_pane(end)
                        acc = table.get(key, _MISSING)
                        if aggregate:
                            acc = table[key] = add(value, create() if acc is _MISSING else acc)
                        else:
                            acc = table[key] = value if acc is _MISSING else reduce(acc, value)
                        if end <= fire_end:
                            backend.current_key = key
                            fire_pane(end, key, acc)
                except StromError:
                    raise
                except Exception as exc:
                    backend.current_key = None if key is _MISSING else key
                    raise fail(exc, value) from exc
                if key is _MISSING and ts < late_end:
                    # in no window that is not late, and itself late (ts + lateness <= watermark,
                    # Flink's isElementLate); an element that falls in the gap between windows
                    # (slide > size) and is not late is in no window: dropped, as in Flink
                    late(value, ts)

        function_clear, window_ctx = op._function_clear, op.window_ctx

        def fire(end: int) -> None:
            window = TimeWindow(end - size, end)
            for key, acc in by_end[end].items():  # inline, not fire_pane: one call less per pane
                backend.current_key = key
                value = result_of(acc) if aggregate else acc
                if value is not None:
                    emit_window(key, window, [value])

        def cleanup(end: int) -> None:
            table = by_end.pop(end)
            window = TimeWindow(end - size, end)
            if function_clear is not None:
                window_ctx._window = window
                for key in table:
                    backend.current_key = key
                    function_clear(window_ctx)
            table.clear()
            tables.pop(window, None)

        def advance(wm: int) -> None:
            nonlocal next_due
            while True:
                f = fire_heap[0][0] if fire_heap else _INF
                c = cleanup_heap[0][0] if cleanup_heap else _INF
                if f <= c:
                    if f > wm:
                        break
                    end = heappop(fire_heap)[1]
                    fire(end)
                    if lateness == 0:
                        cleanup(end)
                    else:
                        heappush(cleanup_heap, (end - 1 + lateness, end))
                else:
                    if c > wm:
                        break
                    cleanup(heappop(cleanup_heap)[1])
            f = fire_heap[0][0] if fire_heap else _INF
            c = cleanup_heap[0][0] if cleanup_heap else _INF
            next_due = f if f < c else c

        def process_watermark(wm: int) -> None:
            nonlocal late_end, fire_end
            op.current_watermark = wm
            if wm >= next_due:
                try:
                    advance(wm)
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, wm, "watermark") from exc
            late_end = wm + 1 - lateness
            fire_end = wm + 1
            emit_watermark(wm)

        op.process_element = process_element
        op.process_watermark = process_watermark
