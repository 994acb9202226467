"""Operators that give records event timestamps and generate watermarks.

:class:`TimestampsAndWatermarksOperator` is Flink's operator of the same name: per record it
asks the timestamp assigner for a timestamp (passing the record's current one, or
``Long.MIN_VALUE``), emits the record with it and then shows it to the watermark generator; every
auto-watermark interval of processing time it calls the generator's ``on_periodic_emit``.
Upstream watermarks and idleness are swallowed, except the end-of-input ``MAX_WATERMARK``.

:func:`ingestion_time` is what Flink's legacy ``IngestionTime`` characteristic does in the
source context: records get the current processing time as their timestamp and watermarks
follow processing time, aligned to multiples of the auto-watermark interval.

Both are chained after their input and never run concurrently with anything in their task;
periodic work runs through the task's processing-time service (between input batches), so no
clock is read per record by :class:`TimestampsAndWatermarksOperator`.
"""
from __future__ import annotations

import numbers
from typing import Any

from strom.errors import StromError, describe
from strom.runtime.operators.base import StreamOperator
from strom.runtime.output import Output
from strom.time.watermarks import MAX_WATERMARK, MIN_WATERMARK, Watermark

DEFAULT_AUTO_WATERMARK_INTERVAL = 200


class GeneratorContext:
    """What a watermark generator supplier gets: the subtask's metric group and processing-time clock."""

    __slots__ = ("_metrics", "_clock")

    def __init__(self, metrics: Any, clock: Any) -> None:
        self._metrics = metrics
        self._clock = clock

    def get_metric_group(self) -> Any:
        return self._metrics

    def get_relative_clock(self) -> Any:
        """The task's injected clock (``now()`` in ms); idleness is measured with it."""
        return self._clock


class WatermarkEmitter:
    """The ``WatermarkOutput`` handed to generators: forwards only increasing watermarks.

    Emitting a watermark marks the output active again after ``mark_idle`` (Flink's
    ``TimestampsAndWatermarksOperator.WatermarkEmitter``).
    """

    __slots__ = ("_output", "current", "idle")

    def __init__(self, output: Output) -> None:
        self._output = output
        self.current = MIN_WATERMARK
        self.idle = False

    def emit_watermark(self, watermark: Watermark | int) -> None:
        ts = watermark.timestamp if type(watermark) is Watermark else watermark
        if ts <= self.current:
            return
        self.current = ts
        if self.idle:
            self.idle = False
            self._output.emit_status(False)
        self._output.emit_watermark(ts)

    def mark_idle(self) -> None:
        if not self.idle:
            self.idle = True
            self._output.emit_status(True)

    def mark_active(self) -> None:
        if self.idle:
            self.idle = False
            self._output.emit_status(False)


def _interval(op: StreamOperator, configured: int | None) -> int:
    if configured is not None:
        return configured
    return int(op.info.config.get("auto_watermark_interval", DEFAULT_AUTO_WATERMARK_INTERVAL))


class TimestampsAndWatermarksOperator(StreamOperator):
    """Assigns timestamps and emits watermarks from a strategy's assigner and generator.

    Args:
        name: operator name (for errors and metrics).
        strategy: a ``WatermarkStrategy`` (``create_timestamp_assigner()``,
            ``create_watermark_generator(context)``) or a legacy assigner strategy (``create()``
            returning both). One generator per subtask is created in :meth:`open`.
        interval: the periodic-emit interval in ms; None reads the executor's
            ``auto_watermark_interval`` at open (Flink reads the ExecutionConfig then). 0 disables
            periodic emission.
    """

    def __init__(self, name: str, strategy: Any, interval: int | None = None) -> None:
        super().__init__(name)
        self.strategy = strategy
        self.interval = interval
        self.assigner: Any = None
        self.generator: Any = None
        self.emitter: WatermarkEmitter | None = None

    def open(self) -> None:
        info = self.info
        strategy = self.strategy
        try:
            if callable(getattr(strategy, "create", None)):
                self.assigner, self.generator = strategy.create()
            else:
                self.assigner = strategy.create_timestamp_assigner()
                self.generator = strategy.create_watermark_generator(GeneratorContext(self.metrics, info.clock))
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, None, "creating the timestamp assigner / watermark generator of") from exc
        self.emitter = emitter = WatermarkEmitter(self.output)
        self.process_element = self._build_process_element(emitter)
        self.interval = _interval(self, self.interval)
        if self.interval > 0:
            pts = info.processing_time
            pts.register(pts.now() + self.interval, self._on_periodic)

    def _build_process_element(self, emitter: WatermarkEmitter) -> Any:
        assign, generator, collect, fail = self.assigner, self.generator, self.output.collect, self.fail
        checked = self._checked_timestamp
        on_event = generator.on_event
        min_ts = MIN_WATERMARK
        if getattr(generator, "inline_max_timestamp", False):
            # Bounded out-of-orderness / monotonous: on_event only tracks the maximum; inline it.
            def process_element(value: Any, ts: Any) -> None:
                try:
                    t = assign(value, min_ts if ts is None else ts)
                    if type(t) is not int:
                        t = checked(value, t)
                    collect(value, t)
                    if t > generator.max_timestamp:
                        generator.max_timestamp = t
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, value, "record") from exc

            return process_element
        inner = getattr(generator, "watermarks", None)
        if getattr(generator, "inline_idleness", False) and getattr(inner, "inline_max_timestamp", False):
            # with_idleness around bounded / monotonous: count activity and track the maximum inline.
            def process_element(value: Any, ts: Any) -> None:
                try:
                    t = assign(value, min_ts if ts is None else ts)
                    if type(t) is not int:
                        t = checked(value, t)
                    collect(value, t)
                    if t > inner.max_timestamp:
                        inner.max_timestamp = t
                    generator.counter += 1
                    generator.idle_now = False
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, value, "record") from exc

            return process_element

        def process_element(value: Any, ts: Any) -> None:
            try:
                t = assign(value, min_ts if ts is None else ts)
                if type(t) is not int:
                    t = checked(value, t)
                collect(value, t)
                on_event(value, t, emitter)
            except StromError:
                raise
            except Exception as exc:
                raise fail(exc, value, "record") from exc

        return process_element

    def _checked_timestamp(self, value: Any, t: Any) -> int:
        """The slow path of an assigned timestamp that is not an ``int``: another integral
        number (numpy's int64, ...) becomes an int; anything else (a float, a str, None, a bool)
        fails here, naming the value and its type, instead of later at a window as a record
        without a timestamp. Timestamps are Flink's longs; PyFlink's serializer takes no other."""
        if isinstance(t, numbers.Integral) and not isinstance(t, bool):
            return int(t)
        raise self.fail(TypeError(_timestamp_problem(t)), value, "record")

    def _on_periodic(self, _time: int) -> None:
        try:
            self.generator.on_periodic_emit(self.emitter)
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, None, "periodic watermark emission of") from exc
        pts = self.info.processing_time
        pts.register(pts.now() + self.interval, self._on_periodic)

    def process_watermark(self, watermark: int) -> None:
        """Upstream watermarks are ignored, except end-of-input, which is forwarded."""
        if watermark == MAX_WATERMARK:
            self.emitter.emit_watermark(MAX_WATERMARK)
            self.current_watermark = MAX_WATERMARK

    def process_status(self, idle: bool) -> None:
        """Upstream idleness is ignored: this operator decides its own (Flink does the same)."""

    def finish(self) -> None:
        """A last periodic emit, as Flink's ``finish`` (after MAX_WATERMARK it emits nothing)."""
        if self.generator is not None:
            try:
                self.generator.on_periodic_emit(self.emitter)
            except StromError:
                raise
            except Exception as exc:
                raise self.fail(exc, None, "final watermark emission of") from exc

    def snapshot_state(self) -> dict:
        return {}


def _timestamp_problem(t: Any) -> str:
    """What is wrong with a timestamp an assigner returned, with a hint."""
    if t is None:
        hint = ("every record needs a timestamp: give records without one a timestamp (the "
                "record's previous one is the assigner's second argument) or filter them out "
                "before assign_timestamps_and_watermarks")
    elif isinstance(t, str):
        hint = ("parse it into milliseconds, e.g. int(datetime.fromisoformat(s).timestamp() * "
                "1000) or int(s)")
    elif isinstance(t, float):
        hint = "return int(...) of it (timestamps are whole milliseconds)"
    else:
        hint = "return the event time as int milliseconds since the epoch"
    return (f"the timestamp assigner returned {describe(t)} of type {type(t).__name__}, "
            f"expected an int (milliseconds since the epoch). Hint: {hint}")


class IngestionTimeOutput:
    """Legacy ``TimeCharacteristic.IngestionTime``: a source's output that stamps processing time.

    Installed in front of a source operator's output (see :func:`ingestion_time`). Per record the
    timestamp is the clock's ``now()``; a watermark ``now - now % interval`` is emitted when a
    record (or the periodic timer) sees processing time pass the next watermark time (Flink's
    ``StreamSourceContexts.AutomaticWatermarkContext``). Watermarks from the source itself are
    ignored except ``MAX_WATERMARK``. Only ingestion-time jobs pay for the clock read per record.
    """

    def __init__(self, op: StreamOperator, output: Output, interval: int) -> None:
        self._op = op
        self._output = output
        self.interval = interval
        self.next_watermark_time = 0  # Java's default field value, as in Flink
        self.current = MIN_WATERMARK
        self.collect_side = output.collect_side
        self.emit_status = output.emit_status
        pts = op.info.processing_time
        now, collect = pts.now, output.collect
        if interval <= 0:
            def collect_stamped(value: Any, ts: Any) -> None:
                collect(value, now())
        else:
            advance = self._advance

            def collect_stamped(value: Any, ts: Any) -> None:
                t = now()
                collect(value, t)
                if t > self.next_watermark_time:
                    advance(t)
            pts.register(now() + interval, self._on_periodic)
        self.collect = collect_stamped

    def _advance(self, t: int) -> None:
        wm = t - t % self.interval
        self.next_watermark_time = wm + self.interval
        if wm > self.current:
            self.current = wm
            self._output.emit_watermark(wm)

    def _on_periodic(self, _time: int) -> None:
        if self.next_watermark_time == MAX_WATERMARK:
            return
        pts = self._op.info.processing_time
        t = pts.now()
        if t > self.next_watermark_time:
            self._advance(t)
        pts.register(t + self.interval, self._on_periodic)

    def emit_watermark(self, watermark: int) -> None:
        if watermark == MAX_WATERMARK and self.current != MAX_WATERMARK:
            self.next_watermark_time = self.current = MAX_WATERMARK
            self._output.emit_watermark(MAX_WATERMARK)


def ingestion_time(source: StreamOperator) -> StreamOperator:
    """Let ``source`` stamp ingestion time if the job runs with ``TimeCharacteristic.IngestionTime``.

    The characteristic is read from the task config when the source opens (Flink reads it when
    the source runs); for any other characteristic nothing changes and nothing is paid.
    """
    original_open = source.open

    def open_with_ingestion_time() -> None:
        info = source.info
        characteristic = info.config.get("time_characteristic")
        if getattr(characteristic, "name", characteristic) == "IngestionTime":
            source.output = IngestionTimeOutput(source, source.output, _interval(source, None))
        original_open()

    source.open = open_with_ingestion_time
    return source


__all__ = ["GeneratorContext", "IngestionTimeOutput", "TimestampsAndWatermarksOperator", "WatermarkEmitter",
           "ingestion_time"]
