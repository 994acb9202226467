"""Every built-in operator through the strom.testing harnesses, on real backends and timers."""
from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strom.api.aggregations import aggregation
from strom.api.functions import (
    AggregateFunction,
    CoFlatMapFunction,
    CoMapFunction,
    CoProcessFunction,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    ProcessFunction,
    SinkFunction,
    TimeDomain,
)
from strom.api.row import Row
from strom.errors import InvalidKeyError, StateAccessError, UserFunctionError
from strom.runtime.elements import OutputTag
from strom.runtime.operators.co import CoMapOperator, CoProcessOperator
from strom.runtime.operators.process import ProcessOperator
from strom.runtime.operators.reduce import ReduceOperator
from strom.runtime.operators.sinks import CollectSinkOperator, PrintSinkOperator, SinkOperator
from strom.runtime.operators.sources import END, MORE, IteratorSourceOperator
from strom.runtime.operators.stateless import FilterOperator, FlatMapOperator, MapOperator
from strom.state import (
    AggregatingStateDescriptor,
    ListStateDescriptor,
    MapStateDescriptor,
    ReducingStateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
    assign_key_group,
    operator_index,
)
from strom.testing import (
    KeyedOneInputHarness,
    KeyedTwoInputHarness,
    OneInputHarness,
    Record,
    TwoInputHarness,
)
from strom.time.clock import ManualClock
from strom.time.watermarks import MAX_WATERMARK, MIN_WATERMARK, Watermark

LATE = OutputTag("late")
EVEN = OutputTag("even")


def first(v: Any) -> Any:
    return v[0]


# -- stateless operators ------------------------------------------------------------------------


def test_map_keeps_timestamps_and_forwards_watermarks() -> None:
    h = OneInputHarness(MapOperator("Map", None, lambda x: x * 10))
    h.process_element(1, timestamp=5)
    h.process_element(2)
    h.process_watermark(7)
    assert h.output == [Record(10, 5), Record(20, None), Watermark(7)]
    assert h.records() == [10, 20]
    assert h.watermarks() == [7]


def test_flat_map_iterable_generator_and_none() -> None:
    def explode(v: int) -> Any:
        if v == 0:
            return None
        yield from range(v)

    h = OneInputHarness(FlatMapOperator("Flat Map", None, explode))
    for v in (0, 2, 3):
        h.process_element(v, timestamp=v)
    assert h.timestamped() == [(0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]

    h2 = OneInputHarness(FlatMapOperator("Flat Map", None, lambda s: s.split()))
    h2.process_element("a b c")
    assert h2.records() == ["a", "b", "c"]


def test_flat_map_java_style_collector() -> None:
    def split(value: str, out: Any) -> None:
        for word in value.split():
            out.collect(word.upper())

    h = OneInputHarness(FlatMapOperator("Flat Map", None, split, collector_style=True))
    h.process_element("to be", timestamp=3)
    assert h.output == [Record("TO", 3), Record("BE", 3)]


def test_filter() -> None:
    h = OneInputHarness(FilterOperator("Filter", None, lambda x: x % 2 == 0))
    for v in range(6):
        h.process_element(v, timestamp=v)
    assert h.timestamped() == [(0, 0), (2, 2), (4, 4)]


def test_keyed_map_sees_its_key_in_state() -> None:
    class Counting:
        def open(self, ctx: Any) -> None:
            self.n = ctx.get_state(ValueStateDescriptor("n", None))

        def map(self, v: Any) -> Any:
            self.n.update((self.n.value() or 0) + 1)
            return v, self.n.value()

    fn = Counting()
    h = KeyedOneInputHarness(MapOperator("Map", fn, fn.map), first)
    for v in ["a1", "b1", "a2"]:
        h.process_element(v)
    assert h.records() == [("a1", 1), ("b1", 1), ("a2", 2)]
    assert h.state_for("a") == {"n": 2}
    assert h.current_key == "a"


def test_user_exception_names_operator_and_element() -> None:
    h = OneInputHarness(MapOperator("Parse", None, int))
    with pytest.raises(UserFunctionError, match=r"operator 'Parse' failed on element 'x'") as info:
        h.process_element("x")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.operator == "Parse" and info.value.element == "x"


# -- ProcessFunction ---------------------------------------------------------------------------


class SideOutputs(ProcessFunction):
    def process_element(self, value: int, ctx: Any) -> Any:
        if value < 0:
            ctx.output(LATE, value)
        elif value % 2 == 0:
            yield EVEN, value
        else:
            yield value
        yield ("ts", ctx.timestamp())


def test_process_side_outputs_by_yield_and_ctx_output() -> None:
    h = OneInputHarness(ProcessOperator("Process", SideOutputs()))
    h.process_element(1, timestamp=10)
    h.process_element(2, timestamp=11)
    h.process_element(-1)
    assert h.records() == [1, ("ts", 10), ("ts", 11), ("ts", None)]
    assert h.side_output(EVEN) == [2]
    assert h.side_output("late") == [-1]
    assert h.side_output_records(EVEN) == [Record(2, 11)]


def test_process_java_style_collect_and_return_list() -> None:
    class Collecting(ProcessFunction):
        def process_element(self, value: int, ctx: Any) -> Any:
            ctx.collect(value)
            return [value + 100]

    h = OneInputHarness(ProcessOperator("Process", Collecting()))
    h.process_element(1, timestamp=4)
    assert h.output == [Record(1, 4), Record(101, 4)]


def test_process_returning_non_iterable_is_a_clear_error() -> None:
    class Bad(ProcessFunction):
        def process_element(self, value: int, ctx: Any) -> Any:
            return value

    h = OneInputHarness(ProcessOperator("Process", Bad()))
    with pytest.raises(UserFunctionError, match="expected None, an iterable or a generator"):
        h.process_element(5)


def test_non_keyed_process_has_no_state_or_timers() -> None:
    class Timers(ProcessFunction):
        def process_element(self, value: int, ctx: Any) -> Any:
            assert ctx.timer_service().current_watermark() == MIN_WATERMARK
            ctx.timer_service().register_event_time_timer(10)

    h = OneInputHarness(ProcessOperator("Process", Timers()))
    with pytest.raises(StateAccessError, match="only supported on a keyed stream"):
        h.process_element(1)

    class Key(ProcessFunction):
        def process_element(self, value: int, ctx: Any) -> Any:
            ctx.get_current_key()

    h = OneInputHarness(ProcessOperator("Process", Key()))
    with pytest.raises(StateAccessError, match="keyed stream"):
        h.process_element(1)


def test_non_keyed_open_state_access_raises_state_access_error() -> None:
    class Stateful(ProcessFunction):
        def open(self, ctx: Any) -> None:
            ctx.get_state(ValueStateDescriptor("x", None))

        def process_element(self, value: int, ctx: Any) -> Any:
            return None

    with pytest.raises(StateAccessError, match=r"operator 'Process': ValueState .*key_by"):
        OneInputHarness(ProcessOperator("Process", Stateful()))


# -- KeyedProcessFunction: state ---------------------------------------------------------------


class Sum(AggregateFunction):
    def create_accumulator(self) -> tuple:
        return (0, 0)

    def add(self, value: int, acc: tuple) -> tuple:
        return acc[0] + value, acc[1] + 1

    def get_result(self, acc: tuple) -> float:
        return acc[0] / acc[1]


class AllStates(KeyedProcessFunction):
    def open(self, ctx: Any) -> None:
        self.value = ctx.get_state(ValueStateDescriptor("value", None))
        self.list = ctx.get_list_state(ListStateDescriptor("list", None))
        self.map = ctx.get_map_state(MapStateDescriptor("map", None, None))
        self.reducing = ctx.get_reducing_state(
            ReducingStateDescriptor("reducing", lambda a, b: a + b, None))
        self.agg = ctx.get_aggregating_state(AggregatingStateDescriptor("agg", Sum(), None))

    def process_element(self, value: tuple, ctx: Any) -> Any:
        _, v = value
        self.value.update(v)
        self.list.add(v)
        self.map.put(v, v * v)
        self.reducing.add(v)
        self.agg.add(v)
        yield (ctx.get_current_key(), self.value.value(), list(self.list.get()),
               dict(self.map.items()), self.reducing.get(), self.agg.get())


def test_keyed_process_all_state_kinds() -> None:
    h = KeyedOneInputHarness.for_function(AllStates(), first)
    h.process_element(("a", 1))
    h.process_element(("b", 10))
    h.process_element(("a", 3))
    assert h.records() == [
        ("a", 1, [1], {1: 1}, 1, 1.0),
        ("b", 10, [10], {10: 100}, 10, 10.0),
        ("a", 3, [1, 3], {1: 1, 3: 9}, 4, 2.0),
    ]
    state = h.state_for("a")
    assert state["value"] == 3 and state["list"] == [1, 3] and state["map"] == {1: 1, 3: 9}
    assert state["reducing"] == 4 and state["agg"] == (4, 2)
    assert h.state_for("zzz") == {}
    assert h.keys() == {"a", "b"}


def test_state_ttl_on_harness_clock() -> None:
    class Ttl(KeyedProcessFunction):
        def open(self, ctx: Any) -> None:
            d = ValueStateDescriptor("v", None)
            d.enable_time_to_live(StateTtlConfig.new_builder(100).build())
            self.v = ctx.get_state(d)

        def process_element(self, value: tuple, ctx: Any) -> Any:
            yield self.v.value()
            self.v.update(value[1])

    h = KeyedOneInputHarness.for_function(Ttl(), first, clock=ManualClock(1000))
    h.process_element(("a", 1))
    h.set_processing_time(1099)
    h.process_element(("a", 2))   # written at 1099, alive until 1199
    h.set_processing_time(1199)
    h.process_element(("a", 3))
    assert h.records() == [None, 1, None]


# -- timers ------------------------------------------------------------------------------------


class TimerProbe(KeyedProcessFunction):
    """Registers timers from the element's instructions and reports firings."""

    def process_element(self, value: tuple, ctx: Any) -> Any:
        key, op, ts = value
        ts_service = ctx.timer_service()
        if op == "event":
            ts_service.register_event_time_timer(ts)
        elif op == "proc":
            ts_service.register_processing_time_timer(ts)
        elif op == "del-event":
            ts_service.delete_event_time_timer(ts)
        elif op == "del-proc":
            ts_service.delete_processing_time_timer(ts)
        return None

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        yield (ctx.get_current_key(), timestamp, ctx.timestamp(), ctx.time_domain(),
               ctx.timer_service().current_watermark())


def probe() -> KeyedOneInputHarness:
    return KeyedOneInputHarness.for_function(TimerProbe(), first)


def test_event_time_timers_fire_in_order_with_timer_timestamp() -> None:
    h = probe()
    for key, ts in [("a", 30), ("b", 10), ("a", 20), ("c", 40)]:
        h.process_element((key, "event", ts))
    assert h.num_event_time_timers() == 4
    h.process_watermark(25)
    h.process_watermark(100)
    assert h.output == [
        Record(("b", 10, 10, TimeDomain.EVENT_TIME, 25), 10),
        Record(("a", 20, 20, TimeDomain.EVENT_TIME, 25), 20),
        Watermark(25),
        Record(("a", 30, 30, TimeDomain.EVENT_TIME, 100), 30),
        Record(("c", 40, 40, TimeDomain.EVENT_TIME, 100), 40),
        Watermark(100),
    ]
    assert h.num_event_time_timers() == 0


def test_same_timer_twice_fires_once_and_delete_removes_it() -> None:
    h = probe()
    h.process_element(("a", "event", 10))
    h.process_element(("a", "event", 10))
    h.process_element(("b", "event", 10))   # another key: its own timer
    h.process_element(("a", "event", 12))
    h.process_element(("a", "del-event", 12))
    assert h.num_event_time_timers() == 2
    assert h.event_time_timers() in ([("a", 10), ("b", 10)], [("b", 10), ("a", 10)])
    h.process_watermark(20)
    assert sorted(r[:2] for r in h.records()) == [("a", 10), ("b", 10)]


def test_watermark_equal_to_timer_fires_it() -> None:
    h = probe()
    h.process_element(("a", "event", 10))
    h.process_watermark(9)
    assert h.records() == []
    h.process_watermark(10)
    assert [r[1] for r in h.records()] == [10]


def test_processing_time_timers_fire_with_set_processing_time() -> None:
    h = probe()
    h.process_element(("a", "proc", 100))
    h.process_element(("b", "proc", 50))
    h.process_element(("a", "proc", 100))   # deduplicated
    h.process_element(("c", "proc", 70))
    h.process_element(("c", "del-proc", 70))
    assert h.num_processing_time_timers() == 3 - 1
    h.set_processing_time(60)
    # Flink's OnTimerContext.timestamp() is the timer's time in both domains; but records
    # emitted from a processing-time timer carry no timestamp
    assert h.output == [Record(("b", 50, 50, TimeDomain.PROCESSING_TIME, MIN_WATERMARK), None)]
    h.set_processing_time(100)
    assert h.records()[1][:2] == ("a", 100)
    assert h.num_processing_time_timers() == 0


def test_timer_registered_in_on_timer_fires_in_same_advance() -> None:
    class Chain(KeyedProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> Any:
            ctx.timer_service().register_event_time_timer(1)

        def on_timer(self, timestamp: int, ctx: Any) -> Any:
            if timestamp < 3:
                ctx.timer_service().register_event_time_timer(timestamp + 1)
            yield timestamp

    h = KeyedOneInputHarness.for_function(Chain(), lambda v: v)
    h.process_element("k")
    h.process_watermark(5)
    assert h.records() == [1, 2, 3]


def test_ctx_timestamp_watermark_and_current_key_in_process_element() -> None:
    class Facts(KeyedProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> Any:
            yield (ctx.get_current_key(), ctx.timestamp(),
                   ctx.timer_service().current_watermark(),
                   ctx.timer_service().current_processing_time())

    h = KeyedOneInputHarness.for_function(Facts(), first, clock=ManualClock(500))
    h.process_element(("a",), timestamp=7)
    h.process_watermark(8)
    h.set_processing_time(600)
    h.process_element(("b",))
    assert h.records() == [("a", 7, MIN_WATERMARK, 500), ("b", None, 8, 600)]


def test_end_input_finishes_and_stops_processing_timers() -> None:
    h = probe()
    h.process_element(("a", "proc", 100))
    h.end_input()
    h.set_processing_time(200)
    assert h.records() == []
    with pytest.raises(Exception, match="already finished"):
        h.process_element(("a", "event", 1))
    h.close()


def test_keyed_harness_rejects_keys_of_other_subtasks() -> None:
    key = "a"
    owner = operator_index(assign_key_group(key, 128), 2, 128)
    h = KeyedOneInputHarness.for_function(TimerProbe(), first, parallelism=2,
                                          subtask_index=1 - owner)
    with pytest.raises(InvalidKeyError, match="does not own"):
        h.process_element((key, "event", 1))


# -- reduce and aggregations -------------------------------------------------------------------


def reduce_harness(fn: Any, ks: Any = first) -> KeyedOneInputHarness:
    return KeyedOneInputHarness(ReduceOperator("Keyed Reduce", None, fn, ks), ks)


def test_reduce_emits_running_value_per_key() -> None:
    h = reduce_harness(lambda a, b: (a[0], a[1] + b[1]))
    for v in [("a", 1), ("b", 2), ("a", 3), ("a", 4)]:
        h.process_element(v, timestamp=v[1])
    assert h.timestamped() == [(("a", 1), 1), (("b", 2), 2), (("a", 4), 3), (("a", 8), 4)]
    assert h.state_for("a") == {"_reduce": ("a", 8)}


DATA = [("a", 3, "x"), ("a", 1, "y"), ("a", 2, "z"), ("a", 1, "w")]


@pytest.mark.parametrize(("kind", "expected"), [
    # sum/min/max replace the field in the FIRST element; the other fields stay the first's
    ("sum", [("a", 3, "x"), ("a", 4, "x"), ("a", 6, "x"), ("a", 7, "x")]),
    ("min", [("a", 3, "x"), ("a", 1, "x"), ("a", 1, "x"), ("a", 1, "x")]),
    ("max", [("a", 3, "x"), ("a", 3, "x"), ("a", 3, "x"), ("a", 3, "x")]),
    # min_by/max_by return the whole element, the first one on ties (Flink's first=true)
    ("min_by", [("a", 3, "x"), ("a", 1, "y"), ("a", 1, "y"), ("a", 1, "y")]),
    ("max_by", [("a", 3, "x"), ("a", 3, "x"), ("a", 3, "x"), ("a", 3, "x")]),
])
def test_field_aggregations_follow_flink(kind: str, expected: list) -> None:
    h = reduce_harness(aggregation(kind, 1))
    for v in DATA:
        h.process_element(v)
    assert h.records() == expected


def test_aggregation_by_field_name_on_rows_and_dicts() -> None:
    h = reduce_harness(aggregation("sum", "n"), ks=lambda r: r["k"])
    h.process_element({"k": "a", "n": 1, "tag": "first"})
    h.process_element({"k": "a", "n": 5, "tag": "second"})
    assert h.records()[-1] == {"k": "a", "n": 6, "tag": "first"}

    r1, r2 = Row(k="a", n=2), Row(k="a", n=1)
    h = reduce_harness(aggregation("min", "n"), ks=lambda r: r["k"])
    h.process_element(r1)
    h.process_element(r2)
    assert h.records()[-1]["n"] == 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(-5, 5)), max_size=30))
def test_rolling_sum_matches_a_dict(values: list) -> None:
    h = reduce_harness(aggregation("sum", 1))
    model: dict[str, int] = {}
    expected = []
    for k, v in values:
        model[k] = model.get(k, 0) + v
        expected.append((k, model[k]))
        h.process_element((k, v))
    assert h.records() == expected


# -- two-input operators -----------------------------------------------------------------------


class Tagger(CoMapFunction):
    def map1(self, value: Any) -> Any:
        return ("1", value)

    def map2(self, value: Any) -> Any:
        return ("2", value)


class Splitter(CoFlatMapFunction):
    def flat_map1(self, value: str) -> Any:
        yield from value.split()

    def flat_map2(self, value: int) -> Any:
        return [value] * value


def test_co_map_and_co_flat_map() -> None:
    h = TwoInputHarness(CoMapOperator("Co-Map", Tagger()))
    h.process_element1("x", timestamp=1)
    h.process_element2(5, timestamp=2)
    assert h.output == [Record(("1", "x"), 1), Record(("2", 5), 2)]

    h = TwoInputHarness(CoMapOperator("Co-Flat Map", Splitter(), flat=True))
    h.process_element1("a b")
    h.process_element2(2)
    assert h.records() == ["a", "b", 2, 2]


def test_two_input_watermark_is_min_of_inputs_and_never_decreases() -> None:
    h = TwoInputHarness(CoMapOperator("Co-Map", Tagger()))
    h.process_watermark1(10)
    assert h.watermarks() == []          # input 2 has no watermark yet
    h.process_watermark2(5)
    assert h.watermarks() == [5]
    h.process_watermark2(20)
    assert h.watermarks() == [5, 10]
    h.process_watermark1(15)
    assert h.watermarks() == [5, 10, 15]
    h.process_watermark1(30)
    assert h.watermarks() == [5, 10, 15, 20]


class Join(KeyedCoProcessFunction):
    def open(self, ctx: Any) -> None:
        self.left = ctx.get_state(ValueStateDescriptor("left", None))

    def process_element1(self, value: tuple, ctx: Any) -> Any:
        self.left.update(value[1])
        ctx.timer_service().register_event_time_timer(ctx.timestamp() + 10)

    def process_element2(self, value: tuple, ctx: Any) -> Any:
        yield (ctx.get_current_key(), self.left.value(), value[1])

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        yield ("expired", ctx.get_current_key(), timestamp)
        self.left.clear()


def test_keyed_co_process_state_timers_and_combined_watermark() -> None:
    h = KeyedTwoInputHarness(Join(), first, first)
    h.process_element1(("a", "L1"), timestamp=1)
    h.process_element2(("a", "R1"), timestamp=2)
    h.process_element2(("b", "R2"), timestamp=3)
    assert h.records() == [("a", "L1", "R1"), ("b", None, "R2")]
    assert h.num_event_time_timers() == 1
    h.process_watermark1(50)
    assert h.num_event_time_timers() == 1    # input 2 still at MIN_WATERMARK
    h.process_watermark2(11)
    assert h.output[-2:] == [Record(("expired", "a", 11), 11), Watermark(11)]
    assert h.state_for("a") == {}


def test_co_process_non_keyed_side_output() -> None:
    class Route(CoProcessFunction):
        def process_element1(self, value: Any, ctx: Any) -> Any:
            yield value

        def process_element2(self, value: Any, ctx: Any) -> Any:
            ctx.output(LATE, value)

    h = TwoInputHarness(CoProcessOperator("Co-Process", Route()))
    h.process_element1(1)
    h.process_element2(2)
    assert h.records() == [1] and h.side_output(LATE) == [2]
    assert h.snapshot() == {}


def test_two_input_end_input_finishes_after_both() -> None:
    h = TwoInputHarness(CoMapOperator("Co-Map", Tagger()))
    h.end_input(1)
    assert not h.finished
    h.process_element2(1)
    h.end_input(2)
    assert h.finished


# -- sinks and sources -------------------------------------------------------------------------


def test_sink_function_gets_context() -> None:
    seen = []

    class Sink(SinkFunction):
        def invoke(self, value: Any, context: Any) -> None:
            seen.append((value, context.timestamp(), context.current_watermark(),
                         context.current_processing_time()))

    h = OneInputHarness(SinkOperator("Sink", Sink()), clock=ManualClock(42))
    h.process_element("a", timestamp=3)
    h.process_watermark(4)
    h.process_element("b")
    assert seen == [("a", 3, MIN_WATERMARK, 42), ("b", None, 4, 42)]

    plain = []
    h = OneInputHarness(SinkOperator("Sink", plain.append))
    h.process_element(1)
    assert plain == [1]


def test_sink_finish_is_called_at_end_input() -> None:
    class Buffering(SinkFunction):
        def __init__(self) -> None:
            self.buf: list = []
            self.flushed: list = []

        def invoke(self, value: Any, context: Any) -> None:
            self.buf.append(value)

        def finish(self) -> None:
            self.flushed, self.buf = self.buf, []

    sink = Buffering()
    h = OneInputHarness(SinkOperator("Sink", sink))
    h.process_elements([1, 2])
    h.end_input()
    assert sink.flushed == [1, 2]


@pytest.mark.parametrize(("parallelism", "subtask", "ident", "prefix"), [
    (1, 0, None, ""),
    (1, 0, "out", "out> "),
    (3, 0, None, "1> "),
    (3, 2, None, "3> "),
    (3, 1, "out", "out:2> "),
])
def test_print_sink_prefixes(capsys: Any, parallelism: int, subtask: int, ident: Any,
                             prefix: str) -> None:
    h = OneInputHarness(PrintSinkOperator("Print", ident, str), parallelism=parallelism,
                        subtask_index=subtask)
    h.process_element((1, "a"))
    h.end_input()
    assert capsys.readouterr().out == prefix + "(1, 'a')\n"


def test_print_sink_to_stderr(capsys: Any) -> None:
    h = OneInputHarness(PrintSinkOperator("Print", "err", str, to_stderr=True))
    h.process_element(1)
    captured = capsys.readouterr()
    assert captured.err == "err> 1\n" and captured.out == ""


def test_collect_sink_operator() -> None:
    got: list = []
    h = OneInputHarness(CollectSinkOperator("Collect", got.append))
    h.process_element(1, timestamp=2)
    assert got == [1]


def test_iterator_source_splits_per_subtask() -> None:
    def split(subtask: int, parallelism: int) -> Any:
        return iter(range(subtask, 10, parallelism))

    h = OneInputHarness(IteratorSourceOperator("Source", split), parallelism=3, subtask_index=1)
    assert h.operator.emit_next(2) == MORE
    assert h.records() == [1, 4]
    assert h.operator.emit_next(100) == END
    assert h.records() == [1, 4, 7]


# -- snapshot and restore -----------------------------------------------------------------------


class CountAndRemind(KeyedProcessFunction):
    """Counts per key and sets one event-time and one processing-time timer per key."""

    def open(self, ctx: Any) -> None:
        self.count = ctx.get_state(ValueStateDescriptor("count", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        self.count.update((self.count.value() or 0) + 1)
        ctx.timer_service().register_event_time_timer(1000)
        ctx.timer_service().register_processing_time_timer(5000)
        return None

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        yield (ctx.get_current_key(), timestamp, self.count.value())


KEYS = [f"k{i}" for i in range(40)]


def count_harness(**kw: Any) -> KeyedOneInputHarness:
    return KeyedOneInputHarness.for_function(CountAndRemind(), lambda v: v, **kw)


def test_snapshot_is_picklable_and_restores_state_at_same_parallelism() -> None:
    h = count_harness()
    for k in ["a", "b", "a"]:
        h.process_element(k)
    snap = h.snapshot()
    pickle.dumps(snap)
    h.process_element("a")        # after the snapshot: must not leak into it
    restored = KeyedOneInputHarness.restore(snap, CountAndRemind, key_selector=lambda v: v)
    assert restored.state_for("a") == {"count": 2}
    assert restored.state_for("b") == {"count": 1}


def test_reduce_operator_snapshot_restore() -> None:
    def factory() -> ReduceOperator:
        return ReduceOperator("Keyed Reduce", None, lambda a, b: a + b, lambda v: v % 3)

    h = KeyedOneInputHarness(factory(), lambda v: v % 3)
    for v in range(10):
        h.process_element(v)
    restored = KeyedOneInputHarness.restore(h.snapshot(), factory)
    restored.process_element(3)
    assert restored.records() == [0 + 3 + 6 + 9 + 3]


def test_restored_timers_survive_open() -> None:
    h = count_harness()
    h.process_element("a")
    restored = KeyedOneInputHarness.restore(h.snapshot(), CountAndRemind, key_selector=lambda v: v)
    assert restored.num_event_time_timers() == 1
    assert restored.num_processing_time_timers() == 1
    restored.process_watermark(1000)
    assert restored.records() == [("a", 1000, 1)]


def test_keyed_co_process_restores_state_and_timers() -> None:
    h = KeyedTwoInputHarness(Join(), first, first)
    h.process_element1(("a", "L"), timestamp=1)
    snap = h.snapshot()
    restored = KeyedTwoInputHarness.restore(
        snap, lambda: CoProcessOperator("KeyedCoProcess", Join(), first, first))
    assert restored.state_for("a") == {"left": "L"}
    assert restored.num_event_time_timers() == 1


def test_keyed_co_process_restores_state() -> None:
    h = KeyedTwoInputHarness(Join(), first, first)
    h.process_element1(("a", "L"), timestamp=1)
    restored = KeyedTwoInputHarness.restore(
        h.snapshot(), lambda: CoProcessOperator("KeyedCoProcess", Join(), first, first))
    assert restored.state_for("a") == {"left": "L"}
    restored.process_element2(("a", "R"))
    assert restored.records() == [("a", "L", "R")]


@pytest.mark.parametrize(("old_p", "new_p"), [(1, 3), (3, 1), (2, 4), (4, 3)])
def test_rescaled_restore_puts_each_key_state_in_exactly_one_subtask(old_p: int, new_p: int) -> None:
    old = [count_harness(parallelism=old_p, subtask_index=i) for i in range(old_p)]
    expected: dict[str, int] = {}
    for n, key in enumerate(KEYS * 2):
        if n % 3 == 0:
            continue
        expected[key] = expected.get(key, 0) + 1
        next(h for h in old if h.owns(key)).process_element(key)
    snaps = [h.snapshot() for h in old]
    new = KeyedOneInputHarness.restore_all(snaps, CountAndRemind, lambda v: v, parallelism=new_p)
    for key, count in expected.items():
        holders = [i for i, h in enumerate(new) if h.state_for(key)]
        assert holders == [operator_index(assign_key_group(key, 128), new_p, 128)]
        assert new[holders[0]].state_for(key) == {"count": count}


def test_rescaled_restore_filters_timers_by_key_group() -> None:
    """Timer filtering checked before open()."""
    old = [count_harness(parallelism=2, subtask_index=i) for i in range(2)]
    for key in KEYS:
        next(h for h in old if h.owns(key)).process_element(key)
    snaps = [h.snapshot() for h in old]
    owners: dict[str, list[int]] = {k: [] for k in KEYS}
    for i in range(3):
        h = KeyedOneInputHarness(ProcessOperator("KeyedProcess", CountAndRemind(), lambda v: v),
                                 lambda v: v, parallelism=3, subtask_index=i,
                                 initial_state=snaps, open=False)
        event, processing = h.event_time_timers(), h.processing_time_timers()
        assert {ts for _, ts in event} <= {1000} and {ts for _, ts in processing} <= {5000}
        assert {k for k, _ in event} == {k for k, _ in processing} == h.keys()
        for key, _ in event:
            owners[key].append(i)
    for key, subtasks in owners.items():
        assert subtasks == [operator_index(assign_key_group(key, 128), 3, 128)]


def test_restore_rejects_other_max_parallelism() -> None:
    h = count_harness()
    h.process_element("a")
    with pytest.raises(Exception, match="max_parallelism"):
        KeyedOneInputHarness.restore(h.snapshot(), CountAndRemind, key_selector=lambda v: v,
                                     max_parallelism=64)


def test_harness_for_function_builds_process_operator() -> None:
    h = KeyedOneInputHarness.for_function(AllStates(), first)
    assert isinstance(h.operator, ProcessOperator)
    assert h.operator.key_selector is first


def test_max_watermark_fires_every_event_timer() -> None:
    h = probe()
    h.process_element(("a", "event", 2**40))
    h.process_watermark(MAX_WATERMARK)
    assert [r[1] for r in h.records()] == [2**40]


# -- properties --------------------------------------------------------------------------------

TIMER_OPS = st.lists(st.one_of(
    st.tuples(st.just("event"), st.sampled_from("abc"), st.integers(0, 20)),
    st.tuples(st.just("del-event"), st.sampled_from("abc"), st.integers(0, 20)),
    st.tuples(st.just("watermark"), st.just(""), st.integers(0, 25)),
), max_size=40)


@settings(max_examples=60, deadline=None)
@given(TIMER_OPS)
def test_event_timers_match_a_set_model(ops: list) -> None:
    """Timers are a set of (key, ts); a watermark fires those <= it, in timestamp order."""
    h = probe()
    model: set[tuple[str, int]] = set()
    watermark = MIN_WATERMARK
    expected: list[tuple[str, int]] = []
    for op, key, ts in ops:
        if op == "watermark":
            watermark = max(watermark, ts)
            h.process_watermark(watermark)
            due = sorted((t for t in model if t[1] <= watermark), key=lambda t: t[1])
            model -= set(due)
            expected.extend(due)
        else:
            h.process_element((key, op, ts))
            if op == "event":
                model.add((key, ts))   # even one in the past: it fires at the next watermark
            else:
                model.discard((key, ts))
        assert h.num_event_time_timers() == len(model)
    fired = [(r[0], r[1]) for r in h.records()]
    assert [ts for _, ts in fired] == [ts for _, ts in expected]
    assert sorted(fired) == sorted(expected)


MONOTONIC = st.lists(st.integers(0, 5), max_size=8).map(
    lambda steps: [sum(steps[: i + 1]) for i in range(len(steps))])


@settings(max_examples=60, deadline=None)
@given(MONOTONIC, MONOTONIC, st.randoms(use_true_random=False))
def test_two_input_watermark_is_the_rising_minimum(w1: list, w2: list, rnd: Any) -> None:
    h = TwoInputHarness(CoMapOperator("Co-Map", Tagger()))
    events = [(1, w) for w in w1] + [(2, w) for w in w2]
    # any interleaving that keeps each input's own order
    order = sorted(range(len(events)), key=lambda i: (rnd.random(), i))
    queues = {1: list(w1), 2: list(w2)}
    current = {1: MIN_WATERMARK, 2: MIN_WATERMARK}
    expected, last = [], MIN_WATERMARK
    for i in order:
        n = events[i][0]
        w = queues[n].pop(0)
        current[n] = w
        (h.process_watermark1 if n == 1 else h.process_watermark2)(w)
        combined = min(current.values())
        if combined > last:
            expected.append(combined)
            last = combined
    assert h.watermarks() == expected
