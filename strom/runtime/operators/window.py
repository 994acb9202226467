"""The window operator: assigner + trigger + per-window state + cleanup timer (Flink's
``WindowOperator`` and ``EvictingWindowOperator`` in one class).

Per element: the assigner names the element's windows; for a merging assigner (sessions) the
key's :class:`~strom.window.merging.MergingWindowSet` merges them, merging trigger state and
window contents as Flink does. A window that is *late* (event time only: ``max_timestamp() +
allowed_lateness <= watermark``) is skipped; an element all of whose windows were skipped and
whose ``timestamp + allowed_lateness <= watermark`` goes to the late-data side output, or is
counted in the ``numLateRecordsDropped`` metric. Otherwise the element is added to the pane's
contents (incrementally reduced/aggregated, or appended to a list for process/apply/evictors)
and the trigger decides whether the pane fires and/or purges. Each window gets a cleanup timer
at ``max_timestamp() + allowed_lateness`` (event time) or ``max_timestamp()`` (processing time)
that disposes of contents, trigger state and per-window function state. Records a firing pane
emits carry the window's ``max_timestamp()``. Event-time timers fire before the watermark is
forwarded.

The common event-time case (tumbling or sliding windows, ``EventTimeTrigger``, incremental
``reduce``/``aggregate``, no evictor) runs on a fast path (:mod:`strom.runtime.operators._window_fast`) with the
same results and the same state layout.

Deliberate difference from Flink, bounded input + processing time: when the input ends,
processing-time windows that are still open fire (``end_input`` fires every pending
processing-time timer, in time order, as if processing time had passed their ends) instead of
being dropped silently; count windows that are not full still never fire, as in Flink. See
``docs/semantics.md``.

Snapshots hold keyed state, every pane's timers and the watermark; a restore (any parallelism)
emits what an uninterrupted run would. Deliberate difference from Flink, which restarts at
``MIN_WATERMARK`` (FLINK-5601): the watermark is restored too, so late stays late.

Not thread-safe: the task's mailbox calls every method; nothing is emitted after ``finish``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strom.errors import StromError, UnsupportedError
from strom.runtime.elements import OutputTag, side_value
from strom.runtime.operators.base import UdfOperator, restore_keyed
from strom.runtime.operators.process import emitter
from strom.state import (
    VOID_NAMESPACE,
    AggregatingStateDescriptor,
    ListStateDescriptor,
    ReducingStateDescriptor,
    ValueStateDescriptor,
)
from strom.time.timers import KeyedTimers
from strom.window.assigners import MergingWindowAssigner, WindowAssigner
from strom.window.evictors import Evictor, TimestampedValue
from strom.window.functions import KeyedStateStore, ProcessWindowFunction
from strom.window.merging import MergingWindowSet
from strom.window.triggers import Trigger
from strom.window.windows import MAX_LONG

__all__ = ["WindowOperator"]

CONTENTS = "window-contents"
MERGING_SET = "merging-window-set"


class _StateStore(KeyedStateStore):
    """``context.window_state()`` / ``global_state()``: keyed state in one namespace."""

    __slots__ = ("_op", "_namespace")

    def __init__(self, op: WindowOperator, namespace: Any) -> None:
        self._op = op
        self._namespace = namespace

    def _get(self, descriptor: Any) -> Any:
        op = self._op
        if op.merging and self._namespace is not VOID_NAMESPACE:
            # Flink's MergingWindowStateStore: per-window state could not follow the merges
            msg = (f"operator '{op.name}': per-window state (context.window_state()) is not allowed "
                   f"with merging windows ({op.assigner!r}), as in Flink, because it would not be "
                   "merged when windows merge. Hint: keep it in context.global_state(), or use a "
                   "non-merging window assigner")
            raise UnsupportedError(msg)
        state = op.backend.state(descriptor)
        state.set_current_namespace(self._namespace)
        return state

    get_state = get_list_state = get_map_state = _get
    get_reducing_state = get_aggregating_state = _get


class WindowContext(ProcessWindowFunction.Context):
    """The ``context`` of ``ProcessWindowFunction.process``/``clear`` (one per operator, reused)."""

    __slots__ = ("_op", "_window")

    def __init__(self, op: WindowOperator) -> None:
        self._op = op
        self._window: Any = None

    def window(self) -> Any:
        return self._window

    def current_processing_time(self) -> int:
        return self._op.processing_time()

    def current_watermark(self) -> int:
        return self._op.current_watermark

    def window_state(self) -> KeyedStateStore:
        return _StateStore(self._op, self._window)

    def global_state(self) -> KeyedStateStore:
        return _StateStore(self._op, VOID_NAMESPACE)

    def output(self, output_tag: OutputTag, value: Any) -> None:
        """Emit ``value`` to a side output (with the window's timestamp)."""
        self._op.output.collect_side(output_tag.tag_id, side_value(output_tag, value, self._op.name),
                                     self._window.max_timestamp())


class _TriggerContext(Trigger.OnMergeContext):
    """Trigger/merge/evictor/assigner context of the current key and window (reused)."""

    __slots__ = ("_op", "window", "merged_windows")

    def __init__(self, op: WindowOperator) -> None:
        self._op = op
        self.window: Any = None
        self.merged_windows: list[Any] = []

    def get_current_processing_time(self) -> int:
        return self._op.processing_time()

    def get_current_watermark(self) -> int:
        return self._op.current_watermark

    def get_metric_group(self) -> Any:
        return self._op.metrics

    def get_runtime_context(self) -> Any:
        return self._op.runtime_context()

    def register_event_time_timer(self, time: int) -> None:
        op = self._op
        op.timers.register_event_time(op.backend.current_key, self.window, time)

    def register_processing_time_timer(self, time: int) -> None:
        op = self._op
        op.timers.register_processing_time(op.backend.current_key, self.window, time)

    def delete_event_time_timer(self, time: int) -> None:
        op = self._op
        op.timers.delete_event_time(op.backend.current_key, self.window, time)

    def delete_processing_time_timer(self, time: int) -> None:
        op = self._op
        op.timers.delete_processing_time(op.backend.current_key, self.window, time)

    def get_partitioned_state(self, state_descriptor: Any) -> Any:
        state = self._op.backend.state(state_descriptor)
        state.set_current_namespace(self.window)
        return state

    def merge_partitioned_state(self, state_descriptor: Any) -> None:
        if self.merged_windows:
            state = self._op.backend.state(state_descriptor)
            state.merge_namespaces(self.window, self.merged_windows)


def window_emitter(op: UdfOperator, window_function: Any, keyed: bool, ctx: WindowContext,
                   single_value: bool) -> Callable[[Any, Any, Any], None]:
    """Build ``emit(key, window, inputs)``: run the window function and forward its output.

    ``inputs`` is the pane's contents (a one-element list after reduce/aggregate). Without a
    window function the single pre-aggregated value itself is emitted.
    """
    collect = op.output.collect
    emit = emitter(op)
    if window_function is None:
        if not single_value:
            raise StromError(f"operator '{op.name}': a window function is required here")

        def emit_value(key: Any, window: Any, inputs: Any) -> None:
            collect(inputs[0], window.max_timestamp())
        return emit_value
    process = getattr(window_function, "process", None)
    apply = getattr(window_function, "apply", None)
    if callable(process):
        if keyed:
            def emit_process(key: Any, window: Any, inputs: Any) -> None:
                ctx._window = window
                result = process(key, ctx, inputs)
                if result is not None:
                    emit(result, window.max_timestamp())
            return emit_process

        def emit_process_all(key: Any, window: Any, inputs: Any) -> None:
            ctx._window = window
            result = process(ctx, inputs)
            if result is not None:
                emit(result, window.max_timestamp())
        return emit_process_all
    fn = apply if callable(apply) else window_function
    if keyed:
        def emit_apply(key: Any, window: Any, inputs: Any) -> None:
            result = fn(key, window, inputs)
            if result is not None:
                emit(result, window.max_timestamp())
        return emit_apply

    def emit_apply_all(key: Any, window: Any, inputs: Any) -> None:
        result = fn(window, inputs)
        if result is not None:
            emit(result, window.max_timestamp())
    return emit_apply_all


class WindowOperator(UdfOperator):
    """Windows of a keyed stream (or, with ``keyed=False``, of a whole stream under one key).

    Args:
        name: the operator's name.
        assigner: the :class:`WindowAssigner`.
        trigger: the :class:`Trigger` (the assigner's default when ``None``).
        key_selector: ``value -> key`` (a constant for ``window_all``).
        contents: ``"reduce"`` (``function`` is ``(a, b) -> c``), ``"aggregate"``
            (``function`` is an ``AggregateFunction``) or ``"list"`` (keep every element).
        window_function: a (Process)(All)WindowFunction run on each firing pane, or ``None`` to
            emit the reduced/aggregated value.
        evictor: an :class:`Evictor` (contents are then kept as a list of timestamped values).
        allowed_lateness: milliseconds an event-time window stays after it fired.
        late_tag: the side output for late elements (``None``: drop and count them).
        keyed: whether the window function gets the key (Process/WindowFunction) or not (All*).
        user_functions: user function objects whose ``open``/``close`` to call.
    """

    def __init__(self, name: str, assigner: WindowAssigner, trigger: Trigger | None,
                 key_selector: Any, *, contents: str, function: Any = None,
                 window_function: Any = None, evictor: Evictor | None = None,
                 allowed_lateness: int = 0, late_tag: OutputTag | None = None,
                 keyed: bool = True, user_functions: tuple[Any, ...] = ()) -> None:
        super().__init__(name, None)
        if contents not in ("reduce", "aggregate", "list"):
            raise ValueError(contents)
        self.assigner = assigner
        self.trigger = trigger if trigger is not None else assigner.get_default_trigger()
        self.key_selector = key_selector
        self.contents_kind = contents
        self.reduce_function = function
        self.window_function = window_function
        self.evictor = evictor
        self.allowed_lateness = int(allowed_lateness) if assigner.is_event_time() else 0
        self.late_tag = late_tag
        self.keyed = keyed
        self.user_functions = user_functions
        self.event_time = assigner.is_event_time()
        self.merging = isinstance(assigner, MergingWindowAssigner)
        self.timers: KeyedTimers | None = None
        self.fast: Any = None
        self.restored_timers: dict[str, list] | None = None  # from initialize_state until open
        self._drain_time: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def _call_user_functions(self, method: str, *args: Any) -> None:
        """Call ``method(*args)`` once on each distinct user function object that has it."""
        seen: set[int] = set()
        for fn in self.user_functions:
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            call = getattr(fn, method, None)
            if callable(call):
                try:
                    call(*args)
                except Exception as exc:
                    raise self.fail(exc, None, f"{method}()") from exc

    def open(self) -> None:
        self._call_user_functions("open", self.runtime_context())
        self.num_late_records_dropped = self.metrics.counter("numLateRecordsDropped")
        self.timers = KeyedTimers(self.backend, self.info.processing_time, self._on_timer)
        self.ctx = _TriggerContext(self)
        self.window_ctx = WindowContext(self)
        kind = self.contents_kind
        if self.evictor is not None or kind == "list":
            descriptor: Any = ListStateDescriptor(CONTENTS)
        elif kind == "reduce":
            descriptor = ReducingStateDescriptor(CONTENTS, self.reduce_function)
        else:
            descriptor = AggregatingStateDescriptor(CONTENTS, self.reduce_function)
        self.contents = self.backend.state(descriptor)
        self.emit_window = window_emitter(self, self.window_function, self.keyed, self.window_ctx,
                                          kind != "list")
        clear = getattr(self.window_function, "clear", None)
        self._function_clear = clear if callable(clear) else None
        if self.merging:
            if not self.trigger.can_merge():
                msg = (f"operator '{self.name}': the trigger {self.trigger!r} cannot be used with "
                       f"the merging window assigner {self.assigner!r} (can_merge() is False)")
                raise UnsupportedError(msg)
            self.merging_state = self.backend.state(ValueStateDescriptor(MERGING_SET))
        from strom.runtime.operators._window_fast import FastPath

        self.fast = FastPath.create(self)
        if self.fast is None:
            self.process_element = self._process_element  # type: ignore[method-assign]
            if self.restored_timers is not None:
                self.timers.restore(self.restored_timers)
        self.restored_timers = None

    def close(self) -> None:
        self._call_user_functions("close")

    def processing_time(self) -> int:
        """The task's processing time (while draining at end of input: the drained timer's time)."""
        now = self.info.processing_time.now()
        drain = self._drain_time
        return now if drain is None or drain < now else drain

    # -- elements -------------------------------------------------------------------------------

    def process_element(self, value: Any, ts: Any) -> None:  # replaced in open()
        self._process_element(value, ts)

    def _process_element(self, value: Any, ts: Any) -> None:
        backend = self.backend
        try:
            key = backend.current_key = self.key_selector(value)
            if key is None:
                raise self.null_key(value)
            windows = self.assigner.assign_windows(value, ts, self.ctx)
            if self.merging:
                skipped = self._add_merging(key, value, ts, windows)
            else:
                skipped = True
                for window in windows:
                    if self.event_time and self.cleanup_time(window) <= self.current_watermark:
                        continue
                    skipped = False
                    self.contents.set_current_namespace(window)
                    self._add(value, ts)
                    self._on_element(value, ts, window)
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, value) from exc
        if skipped and self.event_time and ts is not None \
                and ts + self.allowed_lateness <= self.current_watermark:
            self.late(value, ts)

    def late(self, value: Any, ts: Any) -> None:
        """A late element: to the late-data side output, or counted as dropped."""
        if self.late_tag is not None:
            self.output.collect_side(self.late_tag.tag_id, side_value(self.late_tag, value, self.name), ts)
        else:
            self.num_late_records_dropped.inc()

    def _add(self, value: Any, ts: Any) -> None:
        if self.evictor is not None:
            self.contents.add(TimestampedValue(value, ts))
        else:
            self.contents.add(value)

    def _on_element(self, value: Any, ts: Any, window: Any) -> None:
        ctx = self.ctx
        ctx.window = window
        result = self.trigger.on_element(value, ts, window, ctx)
        fire, purge = result.value
        if fire:
            if not self._fire(window):
                return  # no contents: Flink skips purge and cleanup registration too
        if purge:
            self.contents.clear()
        self._register_cleanup(window)

    def _add_merging(self, key: Any, value: Any, ts: Any, windows: Any) -> bool:
        ws = self._merging_set()
        skipped = True
        for window in windows:
            actual = ws.add_window(window, self._merge)
            if self.event_time and self.cleanup_time(actual) <= self.current_watermark:
                ws.retire_window(actual)
                continue
            skipped = False
            state_window = ws.get_state_window(actual)
            if state_window is None:
                raise StromError(f"operator '{self.name}': window {actual!r} has no state window")
            self.contents.set_current_namespace(state_window)
            self._add(value, ts)
            self._on_element(value, ts, actual)
        self._persist(ws)
        return skipped

    def _merging_set(self) -> MergingWindowSet:
        mapping = self.merging_state.value()
        return MergingWindowSet(self.assigner, {} if mapping is None else mapping)

    def _persist(self, ws: MergingWindowSet) -> None:
        if ws.mapping:
            self.merging_state.update(ws.mapping)
        else:
            self.merging_state.clear()

    def _merge(self, result: Any, merged: list[Any], state_result: Any, merged_state: list[Any]) -> None:
        if self.event_time and result.max_timestamp() + self.allowed_lateness <= self.current_watermark:
            msg = (f"operator '{self.name}': the end of an event-time window cannot become earlier "
                   f"than the current watermark by merging (watermark {self.current_watermark}, "
                   f"window {result!r})")
            raise UnsupportedError(msg)
        if not self.event_time and result.max_timestamp() <= self.processing_time():
            msg = (f"operator '{self.name}': the end of a processing-time window cannot become "
                   f"earlier than the current processing time by merging (window {result!r})")
            raise UnsupportedError(msg)
        ctx = self.ctx
        ctx.window, ctx.merged_windows = result, merged
        self.trigger.on_merge(result, ctx)
        ctx.merged_windows = []
        for window in merged:
            ctx.window = window
            self.trigger.clear(window, ctx)
            self._delete_cleanup(window)
        if merged_state:
            self.contents.merge_namespaces(state_result, merged_state)

    # -- firing ---------------------------------------------------------------------------------

    def _fire(self, window: Any) -> bool:
        """Evaluate the current key's pane of ``window``; False if it has no contents."""
        contents = self.contents.get()
        if self.evictor is None:
            if self.contents_kind == "list":
                if not contents:
                    return False
                self.emit_window(self.backend.current_key, window, contents)
                return True
            if contents is None:
                return False
            self.emit_window(self.backend.current_key, window, [contents])
            return True
        if not contents:
            return False
        self._fire_evicting(window, contents)
        return True

    def _fire_evicting(self, window: Any, elements: list[TimestampedValue]) -> None:
        evictor, ctx = self.evictor, self.ctx
        ctx.window = window
        size = len(elements)
        evictor.evict_before(elements, size, window, ctx)
        values = [e.value for e in elements]
        kind = self.contents_kind
        if kind == "list":
            inputs: Any = values
        elif kind == "reduce":
            inputs = None
            if values:
                acc = values[0]
                for v in values[1:]:
                    acc = self.reduce_function(acc, v)
                inputs = [acc]
        else:
            agg = self.reduce_function
            acc = agg.create_accumulator()
            for v in values:
                acc = agg.add(v, acc)
            inputs = [agg.get_result(acc)]
        if inputs is not None:
            self.emit_window(self.backend.current_key, window, inputs)
        evictor.evict_after(elements, size, window, ctx)
        self.contents.update(elements)

    def _on_timer(self, key: Any, window: Any, ts: int, domain: int) -> None:
        try:
            self._timer(window, ts, domain == KeyedTimers.EVENT_TIME)
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, ts, "timer at") from exc

    def _timer(self, window: Any, ts: int, event_time: bool) -> None:
        ctx = self.ctx
        ctx.window = window
        ws = None
        if self.merging:
            ws = self._merging_set()
            state_window = ws.get_state_window(window)
            if state_window is None:
                return  # a timer of a window merged away; its state is already merged
            self.contents.set_current_namespace(state_window)
        else:
            self.contents.set_current_namespace(window)
        if event_time:
            result = self.trigger.on_event_time(ts, window, ctx)
        else:
            result = self.trigger.on_processing_time(ts, window, ctx)
        fire, purge = result.value
        if fire:
            self._fire(window)
        if purge:
            self.contents.clear()
        if event_time == self.event_time and ts == self.cleanup_time(window):
            self._clear_all(window, ws)
        if ws is not None:
            self._persist(ws)

    def _clear_all(self, window: Any, ws: MergingWindowSet | None) -> None:
        self.contents.clear()
        ctx = self.ctx
        ctx.window = window
        self.trigger.clear(window, ctx)
        if self._function_clear is not None:
            self.window_ctx._window = window
            self._function_clear(self.window_ctx)
        if ws is not None:
            ws.retire_window(window)

    # -- cleanup timers ---------------------------------------------------------------------------

    def cleanup_time(self, window: Any) -> int:
        """When ``window``'s state is disposed of (Flink's ``cleanupTime``)."""
        end = window.max_timestamp()
        if self.event_time:
            t = end + self.allowed_lateness
            return t if t < MAX_LONG else MAX_LONG
        return end

    def _register_cleanup(self, window: Any) -> None:
        t = self.cleanup_time(window)
        if t == MAX_LONG:
            return
        key = self.backend.current_key
        if self.event_time:
            self.timers.register_event_time(key, window, t)
        else:
            self.timers.register_processing_time(key, window, t)

    def _delete_cleanup(self, window: Any) -> None:
        t = self.cleanup_time(window)
        if t == MAX_LONG:
            return
        key = self.backend.current_key
        if self.event_time:
            self.timers.delete_event_time(key, window, t)
        else:
            self.timers.delete_processing_time(key, window, t)

    # -- time -----------------------------------------------------------------------------------

    def process_watermark(self, watermark: int) -> None:  # replaced by the fast path
        self.current_watermark = watermark
        self.timers.advance_watermark(watermark)
        self.output.emit_watermark(watermark)

    def end_input(self) -> None:
        """Bounded input ended: fire pending processing-time timers (see the module docstring)."""
        if self.fast is not None:
            return
        heap = self.timers.processing
        bound = max((ts for _k, _n, ts in heap.timers()), default=None)
        if bound is None:
            return
        backend = self.backend
        for key, window, ts in heap.pop_until(bound):
            self._drain_time = ts
            backend.current_key = key
            self._on_timer(key, window, ts, KeyedTimers.PROCESSING_TIME)
        self._drain_time = None

    # -- inspection and snapshots ---------------------------------------------------------------

    def num_event_time_timers(self) -> int:
        if self.fast is not None:
            return self.fast.num_timers()
        return len(self.timers.event)

    def num_processing_time_timers(self) -> int:
        return len(self.timers.processing)

    def snapshot_state(self) -> dict:
        """Keyed state (window contents, trigger and function state, merging window sets,
        count-assigner counters), timers and the current watermark, as a picklable dict.

        The snapshot is the same whichever path runs: the fast path writes out the per-pane
        timers its contents imply, as the general path holds them.
        """
        fast = self.fast
        timers = (self.timers.snapshot() if fast is None
                  else {"event": fast.timers(), "processing": []})
        return {"keyed": self.backend.snapshot(), "timers": timers,
                "watermark": self.current_watermark}

    def initialize_state(self, state: dict | list[dict] | None) -> None:
        """Restore from one snapshot or from those of several old subtasks (rescaling).

        Keeps this subtask's key groups and the timers of their keys; the watermark becomes the
        lowest of the snapshots' (no key may find late what its old subtask did not). ``open``
        hands the timers to the timer service or the fast path. Called after ``setup``, before
        ``open`` (with ``None`` on a fresh start).
        """
        if not state:
            return
        snaps, self.restored_timers = restore_keyed(self.backend, state)
        watermarks = [s["watermark"] for s in snaps if "watermark" in s]
        if watermarks:
            self.current_watermark = min(watermarks)

    def __repr__(self) -> str:
        return f"WindowOperator({self.name!r})"
