"""ProcessFunction and KeyedProcessFunction operators, with their contexts and timer service.

User functions emit the PyFlink way (``yield value`` / ``yield output_tag, value`` / return an
iterable) or the Java way (``ctx.collect(value)``, ``ctx.output(tag, value)``). Records emitted
while processing an element carry its timestamp; from an event-time timer, the timer's
timestamp; from a processing-time timer, none (as in Flink).
"""
from __future__ import annotations

from types import GeneratorType
from typing import Any

from strom.errors import StateAccessError, StromError, UserFunctionError, describe
from strom.runtime.elements import OutputTag, side_value
from strom.runtime.fusion import Step, compile_steps
from strom.runtime.keys import HASHABLE, key_expression
from strom.runtime.operators.base import UdfOperator, restore_keyed
from strom.time.timers import KeyedTimers


class TimeDomain:
    """PyFlink's ``TimeDomain`` of a firing timer."""

    EVENT_TIME = 0
    PROCESSING_TIME = 1


def as_iterable(op_name: str, result: Any) -> Any:
    """An iterator over a user function's result, or a clear error when it is not iterable."""
    try:
        return iter(result)
    except TypeError:
        msg = (f"operator '{op_name}': the function returned {describe(result)} "
               f"({type(result).__name__}); expected None, an iterable or a generator. "
               "Hint: use 'yield value', return a list, or call ctx.collect(value).")
        raise UserFunctionError(msg, operator=op_name, element=result) from None


def emitter(op: UdfOperator):
    """Build ``emit(result, ts)`` that forwards a user function's results, side outputs included."""
    output = op.output
    collect, collect_side, name = output.collect, output.collect_side, op.name

    def emit(result: Any, ts: Any) -> None:
        if type(result) is not GeneratorType:
            result = as_iterable(name, result)
        for item in result:
            if type(item) is tuple and len(item) == 2 and type(item[0]) is OutputTag:
                collect_side(item[0].tag_id, side_value(item[0], item[1], name), ts)
            else:
                collect(item, ts)

    return emit


class TimerService:
    """``ctx.timer_service()``: current times and (on keyed streams) timer registration."""

    __slots__ = ("_op", "_timers")

    def __init__(self, op: UdfOperator, timers: KeyedTimers | None) -> None:
        self._op = op
        self._timers = timers

    def current_processing_time(self) -> int:
        return self._op.info.processing_time.now()

    def current_watermark(self) -> int:
        return self._op.current_watermark

    def _require(self) -> KeyedTimers:
        if self._timers is None:
            msg = (f"operator '{self._op.name}': setting timers is only supported on a keyed stream. "
                   "Hint: key_by(...) the stream and use a KeyedProcessFunction.")
            raise StateAccessError(msg)
        return self._timers

    def register_event_time_timer(self, timestamp: int) -> None:
        self._require().register_event_time(self._op.backend.current_key, None, int(timestamp))

    def register_processing_time_timer(self, timestamp: int) -> None:
        self._require().register_processing_time(self._op.backend.current_key, None, int(timestamp))

    def delete_event_time_timer(self, timestamp: int) -> None:
        self._require().delete_event_time(self._op.backend.current_key, None, int(timestamp))

    def delete_processing_time_timer(self, timestamp: int) -> None:
        self._require().delete_processing_time(self._op.backend.current_key, None, int(timestamp))


class ProcessContext:
    """The ``ctx`` of ``process_element`` and ``on_timer`` (one object per operator, reused)."""

    __slots__ = ("_op", "_ts", "_out_ts", "_timer_service", "_collect", "_collect_side", "_domain")

    def __init__(self, op: UdfOperator, timer_service: TimerService) -> None:
        self._op = op
        self._ts = None      # what timestamp() returns
        self._out_ts = None  # in on_timer: the timestamp of emitted records (None for processing time)
        self._timer_service = timer_service
        self._collect = op.output.collect
        self._collect_side = op.output.collect_side
        self._domain = None

    def timestamp(self) -> int | None:
        """The current element's timestamp (or the firing timer's), None if it has none."""
        return self._ts

    def timer_service(self) -> TimerService:
        return self._timer_service

    def get_current_key(self) -> Any:
        """The key of the current element or timer (keyed streams only)."""
        backend = self._op.backend
        if backend is None:
            raise StateAccessError(f"operator '{self._op.name}': get_current_key() needs a keyed stream")
        return backend.current_key

    def time_domain(self) -> int | None:
        """In ``on_timer``: TimeDomain.EVENT_TIME or TimeDomain.PROCESSING_TIME."""
        return self._domain

    def collect(self, value: Any) -> None:
        """Emit ``value`` downstream (the article's / Java's style)."""
        self._collect(value, self._ts if self._domain is None else self._out_ts)

    def output(self, output_tag: OutputTag, value: Any) -> None:
        """Emit ``value`` to a side output."""
        if not isinstance(output_tag, OutputTag):
            raise UserFunctionError(
                f"operator '{self._op.name}': ctx.output expected an OutputTag, got {describe(output_tag)}",
                operator=self._op.name)
        self._collect_side(output_tag.tag_id, side_value(output_tag, value, self._op.name),
                           self._ts if self._domain is None else self._out_ts)


class FiresTimers:
    """Keyed timers of an operator running a user function: firing (``on_timer(timestamp, ctx)``)
    and their checkpointing together with the keyed state."""

    backend: Any
    timers: KeyedTimers | None
    function: Any
    ctx: ProcessContext
    _emit: Any
    fail: Any

    def _open_timers_and_context(self) -> None:
        """Before the user's ``open``: the timers of a keyed operator (unless a restore already
        made them), ``ctx`` and ``_emit``."""
        if self.backend is not None and self.timers is None:
            self.timers = KeyedTimers(self.backend, self.info.processing_time, self._on_timer)
        self.ctx = ProcessContext(self, TimerService(self, self.timers))
        self._emit = emitter(self)

    def snapshot_state(self) -> dict:
        """Keyed state (per key group) and live timers, as a picklable dict; {} when not keyed."""
        snap: dict = {}
        if self.backend is not None:
            snap["keyed"] = self.backend.snapshot()
            snap["timers"] = (self.timers.snapshot() if self.timers is not None
                              else {"event": [], "processing": []})
        return snap

    def initialize_state(self, state: dict | list[dict] | None) -> None:
        """Restore keyed state and timers from one snapshot or those of several old subtasks.

        Keeps only this subtask's key groups (so a restore may change the parallelism), and
        only the timers whose key falls in them. Called after ``setup``, before ``open``.
        """
        if not state or self.backend is None:
            return
        _, timers = restore_keyed(self.backend, state)
        if self.timers is None:
            self.timers = KeyedTimers(self.backend, self.info.processing_time, self._on_timer)
        self.timers.restore(timers)

    def _on_timer(self, key: Any, namespace: Any, ts: int, domain: int) -> None:
        on_timer = getattr(self.function, "on_timer", None)
        if on_timer is None:
            return
        ctx = self.ctx
        event_time = domain == KeyedTimers.EVENT_TIME
        # ctx.timestamp() is the timer's time in both domains (Flink's OnTimerContext); records
        # emitted from a processing-time timer carry no timestamp.
        ctx._ts = ts
        ctx._out_ts = ts if event_time else None
        ctx._domain = TimeDomain.EVENT_TIME if event_time else TimeDomain.PROCESSING_TIME
        try:
            result = on_timer(ts, ctx)
            if result is not None:
                self._emit(result, ctx._out_ts)
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, ts, "timer at") from exc
        finally:
            ctx._domain = None


# The per-record code of ProcessOperator as a fusion template (see strom.runtime.fusion); the
# context is stamped with the record's timestamp first (Step.stamps).
_KEY = ("    {p}backend.current_key = key = {KEY}",
        "    if type(key) not in {p}HASHABLE:  # keys of the common types pass with one test",
        "        if key is None:",
        "            raise {p}null_key(value)",
        "        hash(key)  # unhashable keys fail here, as Flink's key hashing would")
_CALL = ("    result = {p}pe(value, {p}ctx)",
         "    if type(result) is not {p}GeneratorType:  # generators (yield) pass with one test",
         "        result = () if result is None else {p}as_iterable({p}name, result)",
         "    for item in result:",
         "        if type(item) is tuple and item and type(item[0]) is {p}OutputTag and len(item) == 2:",
         "            {p}collect_side(item[0].tag_id, {p}side_value(item[0], item[1], {p}name), ts)",
         "        else:",
         "            {EMIT}",
         "except {p}StromError:",
         "    raise",
         "except Exception as exc:",
         "    raise {p}fail(exc, value) from exc")


class ProcessOperator(FiresTimers, UdfOperator):
    """Runs a ``ProcessFunction`` (non-keyed) or ``KeyedProcessFunction`` (with a key selector)."""

    def __init__(self, name: str, function: Any, key_selector: Any = None) -> None:
        super().__init__(name, function)
        self.key_selector = key_selector
        self.timers: KeyedTimers | None = None

    def open(self) -> None:
        self._open_timers_and_context()
        super().open()
        self._step = self._inline_step()
        self.process_element = compile_steps([self._step], None)

    def _inline_step(self) -> Step:
        """The per-record code, as a fusion step: it runs fused into the chain before it, and
        on its own as this operator's ``process_element``."""
        names = {"pe": self.function.process_element, "ctx": self.ctx, "fail": self.fail,
                 "null_key": self.null_key, "collect": self.output.collect,
                 "collect_side": self.output.collect_side, "name": self.name,
                 "backend": self.backend, "as_iterable": as_iterable, "HASHABLE": HASHABLE,
                 "GeneratorType": GeneratorType, "OutputTag": OutputTag, "StromError": StromError,
                 "side_value": side_value}
        code: tuple[str, ...] = ("try:",)
        if self.key_selector is not None:
            code += tuple(line.replace("{KEY}", key_expression(self.key_selector, names, "value"))
                          for line in _KEY)
        return Step("inline", None, self.fail, code + _CALL, names, stamps=("ctx",))

    def fusion_step(self) -> Step:
        return self._step

    def process_watermark(self, watermark: int) -> None:
        self.current_watermark = watermark
        if self.timers is not None:
            self.timers.advance_watermark(watermark)
        self.output.emit_watermark(watermark)

    def num_event_time_timers(self) -> int:
        return 0 if self.timers is None else len(self.timers.event)

    def num_processing_time_timers(self) -> int:
        return 0 if self.timers is None else len(self.timers.processing)

