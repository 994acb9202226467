"""Event timestamps and watermarks: PyFlink's ``WatermarkStrategy`` and Flink's legacy assigners.

A :class:`WatermarkStrategy` builds, per subtask, a timestamp assigner (``value, record_timestamp
-> int``) and a :class:`WatermarkGenerator`. The runtime operator that drives them is
``strom.runtime.operators.timestamps.TimestampsAndWatermarksOperator``; this module holds the
user-facing classes and turns whatever was passed to ``assign_timestamps_and_watermarks`` into a
strategy (:func:`timestamps_and_watermarks_factory`).

The built-in generators follow Flink's formulas exactly:

* ``for_bounded_out_of_orderness(B)``: on every periodic emit, ``max_timestamp - B - 1``; before
  the first record the maximum starts at ``Long.MIN_VALUE + B + 1`` so the first watermark is
  ``Long.MIN_VALUE`` (flink-core ``eventtime/BoundedOutOfOrdernessWatermarks.java``).
* ``for_monotonous_timestamps()``: the same with ``B = 0``, i.e. ``max_timestamp - 1``
  (``AscendingTimestampsWatermarks.java``).
* ``with_idleness(T)``: idleness is checked on periodic emits only; the countdown starts at the
  first periodic emit that saw no record since the previous one, and the output is marked idle at
  the first periodic emit after *strictly more* than ``T`` (``WatermarksWithIdleness.java``).
* Legacy ``BoundedOutOfOrdernessTimestampExtractor(B)``: ``max_timestamp - B`` (no ``- 1``),
  never decreasing; ``AscendingTimestampExtractor``: ``last_timestamp - 1`` and a logged warning
  when a timestamp goes backwards (flink-streaming-java ``functions/timestamps/``).

Example:
    >>> strategy = (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(5))
    ...             .with_timestamp_assigner(lambda event, ts: event["ts"]))
    >>> stream = events.assign_timestamps_and_watermarks(strategy)  # doctest: +SKIP
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from strom.api._functions import fresh, positional_arity
from strom.errors import JobDefinitionError, describe
from strom.runtime.operators.timestamps import GeneratorContext, TimestampsAndWatermarksOperator
from strom.time.durations import Duration, Time, to_millis
from strom.time.watermarks import MIN_WATERMARK, Watermark

_LOG = logging.getLogger("strom.watermarks")

ACCEPTED_FORMS = (
    "a WatermarkStrategy (e.g. WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(5))"
    ".with_timestamp_assigner(...)), an AscendingTimestampExtractor or "
    "BoundedOutOfOrdernessTimestampExtractor subclass instance, an object with "
    "extract_timestamp(element, previous_timestamp) and get_current_watermark() (periodic) or "
    "check_and_get_next_watermark(last_element, extracted_timestamp) (punctuated), or an object "
    "with only extract_timestamp(element, previous_timestamp) (treated as monotonous timestamps)"
)


# ---------------------------------------------------------------------------------------------
# The interfaces users implement (PyFlink / Flink names)
# ---------------------------------------------------------------------------------------------
class TimestampAssigner:
    """Assigns an event timestamp (epoch milliseconds) to each element.

    ``record_timestamp`` is the timestamp the element already carries, or ``Long.MIN_VALUE``
    (``-2**63``) if it has none. Called once per record on the task thread, never concurrently.
    """

    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        raise NotImplementedError


class WatermarkOutput:
    """Where a :class:`WatermarkGenerator` sends its watermarks and idleness.

    Watermarks that do not advance the output are dropped, so a generator may emit freely.
    """

    def emit_watermark(self, watermark: Watermark) -> None:
        raise NotImplementedError

    def mark_idle(self) -> None:
        """No records are expected for now; downstream stops waiting for this output."""
        raise NotImplementedError

    def mark_active(self) -> None:
        """The output is active again (emitting a watermark does this too)."""
        raise NotImplementedError


class WatermarkGenerator:
    """Generates watermarks from the events it sees (Flink's ``WatermarkGenerator``).

    ``on_event`` is called after each record was emitted (punctuated generators emit here);
    ``on_periodic_emit`` every auto-watermark interval of processing time (periodic generators
    emit here). Both run on the task thread, never concurrently with each other.
    """

    def on_event(self, event: Any, event_timestamp: int, output: WatermarkOutput) -> None:
        """Called for every event."""

    def on_periodic_emit(self, output: WatermarkOutput) -> None:
        """Called every ``ExecutionConfig.get_auto_watermark_interval()`` ms."""


class WatermarkGeneratorSupplier:
    """Creates a :class:`WatermarkGenerator` per subtask (``for_generator`` takes one)."""

    def create_watermark_generator(self, context: GeneratorContext) -> WatermarkGenerator:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Built-in generators
# ---------------------------------------------------------------------------------------------
class BoundedOutOfOrdernessWatermarks(WatermarkGenerator):
    """Periodic watermark ``max_timestamp - out_of_orderness - 1`` (Flink's formula)."""

    __slots__ = ("out_of_orderness", "max_timestamp")
    inline_max_timestamp = True  # the operator may inline on_event (it only tracks the maximum)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.inline_max_timestamp = cls.on_event is BoundedOutOfOrdernessWatermarks.on_event

    def __init__(self, out_of_orderness_ms: int) -> None:
        if out_of_orderness_ms < 0:
            raise JobDefinitionError(
                f"bounded out-of-orderness: maxOutOfOrderness cannot be negative, got {out_of_orderness_ms} ms")
        self.out_of_orderness = out_of_orderness_ms
        self.max_timestamp = MIN_WATERMARK + out_of_orderness_ms + 1

    def on_event(self, event: Any, event_timestamp: int, output: WatermarkOutput) -> None:
        if event_timestamp > self.max_timestamp:
            self.max_timestamp = event_timestamp

    def on_periodic_emit(self, output: WatermarkOutput) -> None:
        output.emit_watermark(Watermark(self.max_timestamp - self.out_of_orderness - 1))


class AscendingTimestampsWatermarks(BoundedOutOfOrdernessWatermarks):
    """Monotonous timestamps: watermark ``max_timestamp - 1``."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)


class NoWatermarksGenerator(WatermarkGenerator):
    """Emits no watermarks (the end-of-input watermark is still forwarded)."""


class WatermarksWithIdleness(WatermarkGenerator):
    """Wraps a generator and marks the output idle when no events came for ``idle_timeout_ms``.

    Idleness is evaluated on periodic emits only, exactly as Flink's ``IdlenessTimer``.
    """

    __slots__ = ("watermarks", "timeout", "clock", "counter", "_last_counter", "_inactive_since",
                 "idle_now")
    inline_idleness = True  # the operator may inline on_event (counter += 1; idle_now = False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.inline_idleness = cls.on_event is WatermarksWithIdleness.on_event

    def __init__(self, watermarks: WatermarkGenerator, idle_timeout_ms: int, clock: Any) -> None:
        if idle_timeout_ms <= 0:
            raise JobDefinitionError(f"with_idleness: idleTimeout must be greater than zero, got {idle_timeout_ms} ms")
        self.watermarks = watermarks
        self.timeout = idle_timeout_ms
        self.clock = clock
        self.counter = 0
        self._last_counter = 0
        self._inactive_since: int | None = None  # Flink uses 0 as "no timer"; None is unambiguous
        self.idle_now = False

    def on_event(self, event: Any, event_timestamp: int, output: WatermarkOutput) -> None:
        self.watermarks.on_event(event, event_timestamp, output)
        self.counter += 1
        self.idle_now = False

    def _check_if_idle(self) -> bool:
        if self.counter != self._last_counter:
            self._last_counter = self.counter
            self._inactive_since = None
            return False
        if self._inactive_since is None:
            self._inactive_since = self.clock.now()
            return False
        return self.clock.now() - self._inactive_since > self.timeout

    def on_periodic_emit(self, output: WatermarkOutput) -> None:
        if self._check_if_idle():
            if not self.idle_now:
                output.mark_idle()
                self.idle_now = True
        else:
            self.watermarks.on_periodic_emit(output)


def record_timestamp_assigner(value: Any, record_timestamp: int) -> int:
    """The default assigner: keep the timestamp the record already has (Flink's RecordTimestampAssigner)."""
    return record_timestamp


# ---------------------------------------------------------------------------------------------
# WatermarkStrategy
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Alignment:
    group: str
    max_drift_ms: int
    update_interval_ms: int


@dataclass(frozen=True, slots=True)
class WatermarkStrategy:
    """How a stream gets event timestamps and watermarks (PyFlink's ``WatermarkStrategy``).

    Build one with a static constructor and refine it with ``with_*``; every ``with_*`` returns a
    new strategy (Flink's Java semantics; PyFlink's ``with_timestamp_assigner`` mutates and
    returns ``self``, which behaves the same for chained calls).

    Example:
        >>> strategy = (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(20))
        ...             .with_timestamp_assigner(lambda event, ts: event[1])
        ...             .with_idleness(Duration.of_minutes(1)))
        >>> strategy.is_no_watermarks
        False
    """

    _supplier: Callable[[GeneratorContext], WatermarkGenerator]
    _assigner: Any = None  # None, a TimestampAssigner or a (value, record_timestamp) callable
    _idle_timeout_ms: int | None = None
    _alignment: _Alignment | None = None
    is_no_watermarks: bool = False
    _description: str = "custom generator"

    # -- static constructors --
    @staticmethod
    def for_monotonous_timestamps() -> WatermarkStrategy:
        """Timestamps ascend; the watermark trails the highest timestamp by 1 ms."""
        return WatermarkStrategy(lambda ctx: AscendingTimestampsWatermarks(),
                                 _description="monotonous timestamps")

    @staticmethod
    def for_bounded_out_of_orderness(max_out_of_orderness: Duration | Time | int) -> WatermarkStrategy:
        """Events are at most ``max_out_of_orderness`` late; watermark ``max - bound - 1``."""
        bound = to_millis(max_out_of_orderness, "for_bounded_out_of_orderness")
        if bound < 0:
            raise JobDefinitionError(
                f"for_bounded_out_of_orderness: maxOutOfOrderness cannot be negative, got {bound} ms. "
                "Hint: use Duration.of_millis(0) (or for_monotonous_timestamps()) for in-order data.")
        return WatermarkStrategy(lambda ctx: BoundedOutOfOrdernessWatermarks(bound),
                                 _description=f"bounded out-of-orderness {bound} ms")

    @staticmethod
    def no_watermarks() -> WatermarkStrategy:
        """No watermarks at all (pure processing-time jobs)."""
        return WatermarkStrategy(lambda ctx: NoWatermarksGenerator(), is_no_watermarks=True,
                                 _description="no watermarks")

    @staticmethod
    def for_generator(generator_supplier: Any) -> WatermarkStrategy:
        """A custom generator: a ``WatermarkGeneratorSupplier`` or a callable building one per subtask.

        The callable may take the supplier context (``lambda ctx: MyGenerator()``) or nothing
        (``MyGenerator`` itself).
        """
        return WatermarkStrategy(_as_supplier(generator_supplier),
                                 _description=f"generator {describe(generator_supplier)}")

    # -- refinements --
    def with_timestamp_assigner(self, timestamp_assigner: Any) -> WatermarkStrategy:
        """Use ``timestamp_assigner`` (a TimestampAssigner or ``(value, record_timestamp) -> int``)."""
        _check_assigner(timestamp_assigner, "with_timestamp_assigner")
        return replace(self, _assigner=timestamp_assigner)

    def with_idleness(self, idle_timeout: Duration | Time | int) -> WatermarkStrategy:
        """Mark the stream idle when no records came for ``idle_timeout`` of processing time."""
        timeout = to_millis(idle_timeout, "with_idleness")
        if timeout <= 0:
            raise JobDefinitionError(f"with_idleness: idleTimeout must be greater than zero, got {timeout} ms")
        return replace(self, _idle_timeout_ms=timeout)

    def with_watermark_alignment(self, watermark_group: str, max_allowed_watermark_drift: Duration | Time | int,
                                 update_interval: Duration | Time | int | None = None) -> WatermarkStrategy:
        """Accepted and validated; strom does not pause sources that run ahead of their group."""
        if not isinstance(watermark_group, str) or not watermark_group:
            raise JobDefinitionError(
                f"with_watermark_alignment: expected a non-empty group name, got {describe(watermark_group)}")
        drift = to_millis(max_allowed_watermark_drift, "with_watermark_alignment")
        interval = 1000 if update_interval is None else to_millis(update_interval, "with_watermark_alignment")
        return replace(self, _alignment=_Alignment(watermark_group, drift, interval))

    # -- what the runtime calls, once per subtask --
    def create_watermark_generator(self, context: GeneratorContext) -> WatermarkGenerator:
        generator = self._supplier(context)
        if not (callable(getattr(generator, "on_event", None))
                and callable(getattr(generator, "on_periodic_emit", None))):
            msg = (f"watermark strategy ({self._description}): the supplier returned {describe(generator)} "
                   f"({type(generator).__name__}); expected a WatermarkGenerator with on_event(event, "
                   "event_timestamp, output) and on_periodic_emit(output).")
            raise JobDefinitionError(msg)
        if self._idle_timeout_ms is not None:
            generator = WatermarksWithIdleness(generator, self._idle_timeout_ms, context.get_relative_clock())
        return generator

    def create_timestamp_assigner(self) -> Callable[[Any, int], int]:
        """A fresh ``(value, record_timestamp) -> int`` callable for one subtask."""
        return _assigner_callable(self._assigner)

    def __repr__(self) -> str:
        extra = "" if self._idle_timeout_ms is None else f", idleness {self._idle_timeout_ms} ms"
        return f"WatermarkStrategy({self._description}{extra})"


def _as_supplier(supplier: Any) -> Callable[[GeneratorContext], WatermarkGenerator]:
    create = getattr(supplier, "create_watermark_generator", None)
    if callable(create):
        return lambda ctx: create(ctx)
    if callable(getattr(supplier, "on_event", None)) and not isinstance(supplier, type):
        msg = (f"for_generator: expected a WatermarkGeneratorSupplier or a callable returning a new "
               f"WatermarkGenerator, got the generator instance {describe(supplier)}. Each subtask needs its "
               f"own generator. Hint: WatermarkStrategy.for_generator(lambda ctx: {type(supplier).__name__}()).")
        raise JobDefinitionError(msg)
    if not callable(supplier):
        msg = (f"for_generator: expected a WatermarkGeneratorSupplier or a callable returning a "
               f"WatermarkGenerator, got {describe(supplier)} ({type(supplier).__name__}).")
        raise JobDefinitionError(msg)
    if positional_arity(supplier) == 0:
        return lambda ctx: supplier()
    return supplier


def _check_assigner(assigner: Any, where: str) -> None:
    if callable(getattr(assigner, "extract_timestamp", None)) and not isinstance(assigner, type):
        return
    if callable(assigner) and not isinstance(assigner, type):
        return
    msg = (f"{where}: expected a TimestampAssigner (with extract_timestamp(value, record_timestamp)) or a "
           f"callable (value, record_timestamp) -> int, got {describe(assigner)} ({type(assigner).__name__}).")
    if isinstance(assigner, type):
        msg += f" Hint: pass an instance, {assigner.__name__}(), not the class."
    raise JobDefinitionError(msg)


def _assigner_callable(assigner: Any) -> Callable[[Any, int], int]:
    if assigner is None:
        return record_timestamp_assigner
    assigner = fresh(assigner)
    method = getattr(assigner, "extract_timestamp", None)
    return method if callable(method) else assigner


# ---------------------------------------------------------------------------------------------
# Legacy assigners (Flink's deprecated AssignerWith*Watermarks and the two extractors)
# ---------------------------------------------------------------------------------------------
class AssignerWithPeriodicWatermarks:
    """Legacy: assigns timestamps and reports a watermark on every periodic emit."""

    def extract_timestamp(self, element: Any, previous_timestamp: int) -> int:
        raise NotImplementedError

    def get_current_watermark(self) -> Watermark | None:
        raise NotImplementedError


class AssignerWithPunctuatedWatermarks:
    """Legacy: assigns timestamps and may emit a watermark after each element."""

    def extract_timestamp(self, element: Any, previous_timestamp: int) -> int:
        raise NotImplementedError

    def check_and_get_next_watermark(self, last_element: Any, extracted_timestamp: int) -> Watermark | None:
        raise NotImplementedError


class AscendingTimestampExtractor(AssignerWithPeriodicWatermarks):
    """Legacy: ascending timestamps; watermark ``last_timestamp - 1``.

    Override ``extract_ascending_timestamp(element)`` (Flink's abstract method) or, as PyFlink
    articles do, ``extract_timestamp(element, previous_timestamp)``. A timestamp smaller than the
    previous one is handed to the violation handler (by default it logs a warning, as Flink's
    ``LoggingHandler``) and the record keeps its timestamp.

    Example:
        >>> class ByField(AscendingTimestampExtractor):
        ...     def extract_timestamp(self, element, previous_timestamp):
        ...         return element.timestamp * 1000
    """

    class IgnoringHandler:
        """Does nothing when monotony is violated."""

        def handle_violation(self, element_timestamp: int, last_timestamp: int) -> None:
            pass

    class FailingHandler:
        """Fails the job when monotony is violated."""

        def handle_violation(self, element_timestamp: int, last_timestamp: int) -> None:
            raise ValueError(f"Ascending timestamps condition violated. Element timestamp {element_timestamp} "
                             f"is smaller than last timestamp {last_timestamp}")

    class LoggingHandler:
        """Logs a warning when monotony is violated (the default)."""

        def handle_violation(self, element_timestamp: int, last_timestamp: int) -> None:
            _LOG.warning("Timestamp monotony violated: %s < %s", element_timestamp, last_timestamp)

    _current_timestamp: int = MIN_WATERMARK
    _violation_handler: Any = None

    def extract_ascending_timestamp(self, element: Any) -> int:
        """Flink's abstract method; override this or ``extract_timestamp``."""
        raise NotImplementedError(
            f"{type(self).__name__}: override extract_ascending_timestamp(element) or "
            "extract_timestamp(element, previous_timestamp)")

    def extract_timestamp(self, element: Any, previous_timestamp: int) -> int:
        return self.extract_ascending_timestamp(element)

    def with_violation_handler(self, handler: Any) -> AscendingTimestampExtractor:
        """Use ``handler.handle_violation(element_ts, last_ts)`` on timestamps that go backwards."""
        if not callable(getattr(handler, "handle_violation", None)):
            raise JobDefinitionError(
                f"with_violation_handler: expected an object with handle_violation(element_timestamp, "
                f"last_timestamp), got {describe(handler)}")
        self._violation_handler = handler
        return self

    def _observe(self, timestamp: int) -> None:
        """Called by the runtime after every extracted timestamp (Flink's final extractTimestamp)."""
        if timestamp >= self._current_timestamp:
            self._current_timestamp = timestamp
        else:
            handler = self._violation_handler or AscendingTimestampExtractor.LoggingHandler()
            handler.handle_violation(timestamp, self._current_timestamp)

    def get_current_watermark(self) -> Watermark:
        current = self._current_timestamp
        return Watermark(MIN_WATERMARK if current == MIN_WATERMARK else current - 1)


class BoundedOutOfOrdernessTimestampExtractor(AssignerWithPeriodicWatermarks):
    """Legacy: events at most ``max_out_of_orderness`` late; watermark ``max_timestamp - bound``.

    Subclasses call ``super().__init__(Time.seconds(10))`` and override ``extract_timestamp``
    (``(element)`` as in Flink, or ``(element, previous_timestamp)`` as PyFlink articles write it).

    Example:
        >>> class Bounded(BoundedOutOfOrdernessTimestampExtractor):
        ...     def __init__(self):
        ...         super().__init__(Time.seconds(10))
        ...     def extract_timestamp(self, element, previous_timestamp):
        ...         return element.timestamp * 1000
    """

    def __init__(self, max_out_of_orderness: Time | Duration | int) -> None:
        bound = to_millis(max_out_of_orderness, "BoundedOutOfOrdernessTimestampExtractor")
        if bound < 0:
            raise JobDefinitionError(
                f"BoundedOutOfOrdernessTimestampExtractor: Tried to set the maximum allowed lateness to "
                f"{bound} ms. This parameter cannot be negative.")
        self._max_out_of_orderness = bound
        self._current_max_timestamp = MIN_WATERMARK + bound
        self._last_emitted_watermark = MIN_WATERMARK

    def get_max_out_of_orderness_in_millis(self) -> int:
        return self._max_out_of_orderness

    def extract_timestamp(self, element: Any, previous_timestamp: int) -> int:
        raise NotImplementedError(f"{type(self).__name__}: override extract_timestamp(element, previous_timestamp)")

    def _observe(self, timestamp: int) -> None:
        """Called by the runtime after every extracted timestamp."""
        if timestamp > self._current_max_timestamp:
            self._current_max_timestamp = timestamp

    def get_current_watermark(self) -> Watermark:
        potential = self._current_max_timestamp - self._max_out_of_orderness
        if potential >= self._last_emitted_watermark:
            self._last_emitted_watermark = potential
        return Watermark(self._last_emitted_watermark)


class _PeriodicAssignerGenerator(WatermarkGenerator):
    """Flink's AssignerWithPeriodicWatermarksAdapter: ``get_current_watermark`` on periodic emit."""

    __slots__ = ("_current",)

    def __init__(self, assigner: Any) -> None:
        self._current = assigner.get_current_watermark

    def on_periodic_emit(self, output: WatermarkOutput) -> None:
        wm = self._current()
        if wm is not None:
            output.emit_watermark(wm)


class _PunctuatedAssignerGenerator(WatermarkGenerator):
    """Flink's AssignerWithPunctuatedWatermarksAdapter: ``check_and_get_next_watermark`` per event."""

    __slots__ = ("_check",)

    def __init__(self, assigner: Any) -> None:
        self._check = assigner.check_and_get_next_watermark

    def on_event(self, event: Any, event_timestamp: int, output: WatermarkOutput) -> None:
        wm = self._check(event, event_timestamp)
        if wm is not None:
            output.emit_watermark(wm)


@dataclass(frozen=True, slots=True)
class LegacyAssignerStrategy:
    """A legacy assigner object as a strategy: a private copy per subtask serves as both parts."""

    assigner: Any
    punctuated: bool
    is_no_watermarks: bool = False

    def create(self) -> tuple[Callable[[Any, int], int], WatermarkGenerator]:
        """The (assigner callable, generator) pair of one subtask, sharing one copy of the object."""
        obj = fresh(self.assigner)
        extract = obj.extract_timestamp
        if positional_arity(extract) == 1:  # Java-style extract_timestamp(element)
            one_arg = extract

            def extract(value: Any, previous: int) -> int:
                return one_arg(value)
        observe = getattr(obj, "_observe", None)
        if callable(observe):
            raw = extract

            def extract(value: Any, previous: int) -> int:
                ts = raw(value, previous)
                observe(ts)
                return ts
        generator = _PunctuatedAssignerGenerator(obj) if self.punctuated else _PeriodicAssignerGenerator(obj)
        return extract, generator


# ---------------------------------------------------------------------------------------------
# What DataStream.assign_timestamps_and_watermarks calls
# ---------------------------------------------------------------------------------------------
def as_strategy(argument: Any, where: str = "assign_timestamps_and_watermarks") -> Any:
    """Validate ``argument`` and return a WatermarkStrategy or LegacyAssignerStrategy."""
    if isinstance(argument, WatermarkStrategy):
        return argument
    if isinstance(argument, type):
        msg = (f"{where}: got the class {argument.__name__}, expected an instance. "
               f"Hint: pass {argument.__name__}() (with its constructor arguments).")
        raise JobDefinitionError(msg)
    has = lambda name: callable(getattr(argument, name, None))  # noqa: E731
    if has("extract_timestamp"):
        if isinstance(argument, BoundedOutOfOrdernessTimestampExtractor) and not hasattr(
                argument, "_max_out_of_orderness"):
            msg = (f"{where}: {type(argument).__name__} did not call super().__init__(max_out_of_orderness). "
                   "Hint: def __init__(self): super().__init__(Time.seconds(10))")
            raise JobDefinitionError(msg)
        _check_overridden(argument, where)
        if has("check_and_get_next_watermark") and not isinstance(argument, AssignerWithPeriodicWatermarks):
            return LegacyAssignerStrategy(argument, punctuated=True)
        if has("get_current_watermark"):
            return LegacyAssignerStrategy(argument, punctuated=False)
        # An object with only extract_timestamp (the article's TimestampExtractor): no Flink
        # interface has just that; treat it as monotonous timestamps (watermark = max - 1).
        return WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(argument)
    msg = f"{where}: expected {ACCEPTED_FORMS}; got {describe(argument)} ({type(argument).__name__})."
    if callable(argument):
        msg += (" Hint: wrap a timestamp function as WatermarkStrategy.for_monotonous_timestamps()"
                ".with_timestamp_assigner(fn).")
    raise JobDefinitionError(msg)


def _check_overridden(argument: Any, where: str) -> None:
    cls = type(argument)
    if isinstance(argument, BoundedOutOfOrdernessTimestampExtractor):
        missing = cls.extract_timestamp is BoundedOutOfOrdernessTimestampExtractor.extract_timestamp
    elif isinstance(argument, AscendingTimestampExtractor):
        missing = (cls.extract_timestamp is AscendingTimestampExtractor.extract_timestamp
                   and cls.extract_ascending_timestamp is AscendingTimestampExtractor.extract_ascending_timestamp)
    else:
        return
    if missing:
        msg = (f"{where}: {cls.__name__} does not override extract_timestamp(element, previous_timestamp). "
               "Hint: subclass the extractor and return the element's event time in epoch milliseconds.")
        raise JobDefinitionError(msg)


def timestamps_and_watermarks_factory(strategy: Any, env: Any) -> Callable[[], Any]:
    """Validate ``strategy`` at graph-building time; return a factory of fresh operators.

    The auto-watermark interval is read when the operator opens (from the executor's config),
    as Flink reads it from the ExecutionConfig at ``open``.
    """
    resolved = as_strategy(strategy)
    return lambda: TimestampsAndWatermarksOperator("Timestamps/Watermarks", resolved)


__all__ = [
    "AscendingTimestampExtractor", "AscendingTimestampsWatermarks", "AssignerWithPeriodicWatermarks",
    "AssignerWithPunctuatedWatermarks", "BoundedOutOfOrdernessTimestampExtractor",
    "BoundedOutOfOrdernessWatermarks", "GeneratorContext", "NoWatermarksGenerator", "TimestampAssigner",
    "Watermark", "WatermarkGenerator", "WatermarkGeneratorSupplier", "WatermarkOutput", "WatermarkStrategy",
    "WatermarksWithIdleness", "timestamps_and_watermarks_factory",
]
