"""The strom half of the differential conformance suite: one case in, its output lines out.

The same case interpreter as ``java/src/main/java/strom/conformance/Reference.java``, written
against strom's PyFlink-path API only (``strom.datastream``, ``strom.common``), so a case
exercises what a ported PyFlink job would. Every function here mirrors the Java class of the
same role; both sides format each output line as ``STREAM|watermark-at-emit|timestamp|key|rest``
(see ``Tag``). The case language is described in ``generate.py``.
"""
from __future__ import annotations

import traceback
from typing import Any

from strom.common import Duration, Types
from strom.common.watermark_strategy import (
    Watermark,
    WatermarkGenerator,
    WatermarkOutput,
    WatermarkStrategy,
)
from strom.datastream import (
    AggregateFunction,
    DataStream,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    ReduceFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.functions import ProcessAllWindowFunction, ProcessWindowFunction
from strom.datastream.state import ListStateDescriptor, ValueStateDescriptor
from strom.datastream.window import (
    ContinuousEventTimeTrigger,
    CountEvictor,
    CountTrigger,
    DeltaEvictor,
    DynamicEventTimeSessionWindows,
    EventTimeSessionWindows,
    EventTimeTrigger,
    GlobalWindows,
    PurgingTrigger,
    SessionWindowTimeGapExtractor,
    SlidingEventTimeWindows,
    TimeEvictor,
    TimeWindow,
    TumblingEventTimeWindows,
)

Event = tuple[str, int, int]
LATE = OutputTag("late", Types.TUPLE([Types.STRING(), Types.LONG(), Types.LONG()]))


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case; ``{"id", "out": [lines]}`` or ``{"id", "error": "Type: message"}``."""
    try:
        return {"id": case["id"], "out": _run(case)}
    except Exception as e:  # a failing job is an outcome to compare, not a crash of the suite
        root: BaseException = e
        while root.__cause__ is not None and root.__cause__ is not root:
            root = root.__cause__
        return {"id": case["id"], "error": f"{type(root).__name__}: {root}",
                "trace": traceback.format_exc(limit=8)}


def _run(case: dict[str, Any]) -> list[str]:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(case.get("parallelism", 1))
    env.get_config().set_auto_watermark_interval(0)  # watermarks only on events: deterministic
    events = [(str(k), int(t), int(v)) for k, t, v in case["events"]]
    ooo = int(case.get("ooo", 0))
    strategy = (WatermarkStrategy.for_generator(lambda ctx: PerEventWatermarks(ooo))
                .with_timestamp_assigner(lambda e, previous: e[1]))
    source = (env.from_collection(events, Types.TUPLE([Types.STRING(), Types.LONG(), Types.LONG()]))
              .set_parallelism(1)
              .assign_timestamps_and_watermarks(strategy).set_parallelism(1))
    op = case["op"]
    kind = op["kind"]
    if kind == "window":
        tagged = _window(source, op)
    elif kind == "rolling":
        tagged = _tag(_rolling(source.key_by(key_of), op), "M")
    elif kind == "process":
        tagged = _tag(source.key_by(key_of).process(Program(op), Types.STRING()), "M")
    else:
        raise ValueError(f"unknown op kind {kind!r}")
    return [str(line) for line in tagged.execute_and_collect(limit=10**9)]


def _window(source: DataStream, op: dict[str, Any]) -> DataStream:
    a = op["assigner"]
    all_ = bool(op.get("all", False))
    if all_:
        if a["type"] == "count":
            ws = source.count_window_all(a["size"], a["slide"]) if "slide" in a else source.count_window_all(a["size"])
        else:
            ws = source.window_all(_assigner(a))
    else:
        keyed = source.key_by(key_of)
        ws = keyed.count_window(a["size"]) if a["type"] == "count" else keyed.window(_assigner(a))
    if op.get("trigger") is not None:
        ws = ws.trigger(_trigger(op["trigger"]))
    if op.get("evictor") is not None:
        ws = ws.evictor(_evictor(op["evictor"]))
    if op.get("lateness", 0):
        ws = ws.allowed_lateness(op["lateness"])
    late = bool(op.get("late_output", False))
    if late:
        ws = ws.side_output_late_data(LATE)
    fn = op["function"]
    if fn == "reduce":
        result = ws.reduce(SumReduce())
    elif fn == "aggregate":
        result = ws.aggregate(SumAggregate())
    elif fn == "process":
        result = ws.process(ListAllElements() if all_ else ListElements(), Types.STRING())
    elif fn == "aggregate_process" and not all_:
        result = ws.aggregate(SumAggregate(), WithWindow(), Types.STRING(), Types.STRING())
    elif fn == "reduce_process" and not all_:
        result = ws.reduce(SumReduce(), WithWindow(), Types.STRING())
    else:
        raise ValueError(f"unknown function {fn!r}")
    # the tag keeps its input's parallelism (1 after a window_all): no rebalance reorders lines
    tagged = _tag(result, "M")
    if all_:
        tagged = tagged.set_parallelism(1)
    if late:
        late_tagged = _tag(result.get_side_output(LATE), "L")
        tagged = tagged.union(late_tagged.set_parallelism(1) if all_ else late_tagged)
    return tagged


def _assigner(a: dict[str, Any]) -> Any:
    t = a["type"]
    if t == "tumbling":
        return TumblingEventTimeWindows.of(Duration.of_millis(a["size"]), Duration.of_millis(a.get("offset", 0)))
    if t == "sliding":
        return SlidingEventTimeWindows.of(Duration.of_millis(a["size"]), Duration.of_millis(a["slide"]),
                                          Duration.of_millis(a.get("offset", 0)))
    if t == "session":
        return EventTimeSessionWindows.with_gap(Duration.of_millis(a["gap"]))
    if t == "dynamic_session":
        return DynamicEventTimeSessionWindows.with_dynamic_gap(GapOf(a["base"], a["mod"]))
    if t == "global":
        return GlobalWindows.create()
    raise ValueError(f"unknown assigner {a!r}")


def _trigger(t: dict[str, Any]) -> Any:
    kind = t["type"]
    if kind == "count":
        return CountTrigger.of(t["n"])
    if kind == "continuous":
        return ContinuousEventTimeTrigger.of(Duration.of_millis(t["interval"]))
    if kind == "event_time":
        return EventTimeTrigger.create()
    if kind == "purging":
        return PurgingTrigger.of(_trigger(t["inner"]))
    raise ValueError(f"unknown trigger {t!r}")


def _evictor(e: dict[str, Any]) -> Any:
    after = bool(e.get("after", False))
    kind = e["type"]
    if kind == "count":
        return CountEvictor.of(e["n"], after)
    if kind == "time":
        return TimeEvictor.of(Duration.of_millis(e["ms"]), after)
    if kind == "delta":
        return DeltaEvictor.of(float(e["threshold"]), value_delta, after)
    raise ValueError(f"unknown evictor {e!r}")


def _rolling(keyed: Any, op: dict[str, Any]) -> DataStream:
    agg = op["agg"]
    if agg == "reduce":
        return keyed.reduce(SumReduce())
    if agg in ("sum", "min", "max", "min_by", "max_by"):
        return getattr(keyed, agg)(2)
    raise ValueError(f"unknown rolling aggregation {op!r}")


def _tag(stream: DataStream, name: str) -> DataStream:
    return stream.process(Tag(name), Types.STRING())


# ----------------------------------------------------------------------- functions (mirrored in Java)

class PerEventWatermarks(WatermarkGenerator):
    """Bounded out-of-orderness, but a watermark (max - ooo - 1) after every event, never periodically."""

    def __init__(self, ooo: int) -> None:
        self.ooo = ooo
        self.max = -(2**63) + ooo + 1

    def on_event(self, event: Any, event_timestamp: int, output: WatermarkOutput) -> None:
        self.max = max(self.max, event_timestamp)
        output.emit_watermark(Watermark(self.max - self.ooo - 1))

    def on_periodic_emit(self, output: WatermarkOutput) -> None:
        pass


def key_of(e: Event) -> str:
    return e[0]


def value_delta(a: Event, b: Event) -> float:
    return float(abs(a[2] - b[2]))


class GapOf(SessionWindowTimeGapExtractor):
    def __init__(self, base: int, mod: int) -> None:
        self.base, self.mod = base, mod

    def extract(self, element: Event) -> int:
        return self.base + element[2] % self.mod  # Python's % is Java's floorMod


class SumReduce(ReduceFunction):
    """Commutative, so the order in which merged session windows combine does not show."""

    def reduce(self, a: Event, b: Event) -> Event:
        return (min(a[0], b[0]), max(a[1], b[1]), a[2] + b[2])


class SumAggregate(AggregateFunction):
    """Accumulator (key, count, sum); result ``key|count,sum``."""

    def create_accumulator(self) -> tuple[str, int, int]:
        return ("", 0, 0)

    def add(self, value: Event, accumulator: tuple[str, int, int]) -> tuple[str, int, int]:
        k = value[0] if not accumulator[0] or value[0] < accumulator[0] else accumulator[0]
        return (k, accumulator[1] + 1, accumulator[2] + value[2])

    def get_result(self, accumulator: tuple[str, int, int]) -> str:
        return f"{accumulator[0]}|{accumulator[1]},{accumulator[2]}"

    def merge(self, a: tuple[str, int, int], b: tuple[str, int, int]) -> tuple[str, int, int]:
        k = b[0] if not a[0] else (a[0] if not b[0] or a[0] <= b[0] else b[0])
        return (k, a[1] + b[1], a[2] + b[2])


def window_text(w: Any) -> str:
    return f"{w.start},{w.end}" if isinstance(w, TimeWindow) else "G"


def elements_text(elements: Any) -> str:
    return " ".join(f"{k}:{v}@{t}" for k, t, v in elements)


class ListElements(ProcessWindowFunction):
    """``key|window,[k:v@ts ...]`` in the order the window holds them."""

    def process(self, key: str, context: Any, elements: Any) -> Any:
        yield f"{key}|{window_text(context.window())},[{elements_text(elements)}]"


class ListAllElements(ProcessAllWindowFunction):
    def process(self, context: Any, elements: Any) -> Any:
        yield f"*|{window_text(context.window())},[{elements_text(elements)}]"


class WithWindow(ProcessWindowFunction):
    """After a reduce or an aggregate: ``key|window,<pre-aggregated value>``."""

    def process(self, key: str, context: Any, elements: Any) -> Any:
        for v in elements:
            yield f"{key}|{window_text(context.window())},{format_value(v).replace('|', '/')}"


class Program(KeyedProcessFunction):
    """Value and list state, an event-time timer per element, optional deletes and chains."""

    def __init__(self, op: dict[str, Any]) -> None:
        self.delta = int(op["delta"])
        self.delete = bool(op["delete"])
        self.clear = bool(op["clear"])
        self.chain = int(op["chain"])

    def open(self, runtime_context: Any) -> None:
        self.sum = runtime_context.get_state(ValueStateDescriptor("sum", Types.LONG()))
        self.timer = runtime_context.get_state(ValueStateDescriptor("timer", Types.LONG()))
        self.chained = runtime_context.get_state(ValueStateDescriptor("chained", Types.LONG()))
        self.values = runtime_context.get_list_state(ListStateDescriptor("values", Types.LONG()))

    def process_element(self, value: Event, ctx: Any) -> Any:
        s = (self.sum.value() or 0) + value[2]
        self.sum.update(s)
        self.values.add(value[2])
        ts = ctx.timestamp()
        if self.delete and self.timer.value() is not None:
            ctx.timer_service().delete_event_time_timer(self.timer.value())
        t = ts + self.delta
        ctx.timer_service().register_event_time_timer(t)
        self.timer.update(t)
        yield f"{value[0]}|E,{ts},{s},{ctx.timer_service().current_watermark()}"

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        vs = " ".join(str(v) for v in (self.values.get() or []))
        s = self.sum.value()
        yield (f"{ctx.get_current_key()}|T,{timestamp},{'-' if s is None else s},[{vs}],"
               f"{ctx.timer_service().current_watermark()}")
        if self.clear:
            self.sum.clear()
            self.values.clear()
            self.timer.clear()
        c = self.chained.value() or 0
        if c < self.chain:
            self.chained.update(c + 1)
            ctx.timer_service().register_event_time_timer(timestamp + self.delta + 1)


def format_value(v: Any) -> str:
    if isinstance(v, tuple) and len(v) == 3:
        return f"{v[0]}|{v[1]},{v[2]}"
    return str(v)


class Tag(ProcessFunction):
    """The last operator of every case: ``STREAM|watermark|timestamp|formatted value``."""

    def __init__(self, stream: str) -> None:
        self.stream = stream

    def process_element(self, value: Any, ctx: Any) -> Any:
        ts = ctx.timestamp()
        yield (f"{self.stream}|{ctx.timer_service().current_watermark()}|{'-' if ts is None else ts}"
               f"|{format_value(value)}")
