"""The broadcast state pattern: DataStream.broadcast(descriptor) + connect + (Keyed)BroadcastProcessFunction.

Harness tests drive the real BroadcastProcessOperator (input 1: the non-broadcast side, input 2:
the broadcast side) on real backends and timers; end-to-end tests run jobs at parallelism 1 and
3 on every executor.
"""
from __future__ import annotations

import pickle
import threading
from collections import Counter
from typing import Any

import pytest

from strom.api.environment import StreamExecutionEnvironment
from strom.api.functions import (
    BroadcastProcessFunction,
    KeyedBroadcastProcessFunction,
    TimeDomain,
)
from strom.api.sources import NumberSequenceSource
from strom.datastream import BroadcastConnectedStream, BroadcastStream, DataStream
from strom.errors import (
    InvalidTypeError,
    JobDefinitionError,
    JobExecutionError,
    StateAccessError,
    UserFunctionError,
)
from strom.runtime.elements import OutputTag
from strom.runtime.operators.broadcast import (
    BroadcastProcessOperator,
    BroadcastState,
    ReadOnlyBroadcastState,
)
from strom.state import (
    ListStateDescriptor,
    MapStateDescriptor,
    ValueStateDescriptor,
    assign_key_group,
    key_group_range,
)
from strom.testing import CollectSink, ListSource, Record, TwoInputHarness, Watermark

RULES = MapStateDescriptor("rules", None, None)
OTHER = MapStateDescriptor("other", None, None)
SIDE = OutputTag("side")
COUNT = ValueStateDescriptor("count", None)


# -- functions under test ----------------------------------------------------------------------


class Prefixer(BroadcastProcessFunction):
    """Non-keyed: prefixes elements with the rule for their parity; rules go to a side output."""

    def process_element(self, value: Any, ctx: Any) -> Any:
        rule = ctx.get_broadcast_state(RULES).get(value % 2)
        if rule is None:
            yield SIDE, ("no rule", value)
        else:
            yield f"{rule}{value}"

    def process_broadcast_element(self, value: Any, ctx: Any) -> Any:
        ctx.get_broadcast_state(RULES).put(value[0], value[1])
        yield SIDE, ("rule", value)


class Counting(KeyedBroadcastProcessFunction):
    """Keyed: counts per key, timers on the element's timestamp, reset via apply_to_keyed_state."""

    def open(self, runtime_context: Any) -> None:
        self.count = runtime_context.get_state(COUNT)

    def process_element(self, value: Any, ctx: Any) -> Any:
        key, _ = value
        self.count.update((self.count.value() or 0) + 1)
        ctx.timer_service().register_event_time_timer(ctx.timestamp() + 10)
        yield key, self.count.value()

    def process_broadcast_element(self, value: Any, ctx: Any) -> Any:
        if value == "reset":
            visited = []

            def reset(key: Any, state: Any) -> None:
                visited.append((key, state.value()))
                state.clear()

            ctx.apply_to_keyed_state(COUNT, reset)
            yield "reset", sorted(visited)
        else:
            ctx.get_broadcast_state(RULES).put("label", value)

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        label = ctx.get_broadcast_state(RULES).get("label")
        domain = "event" if ctx.time_domain() == TimeDomain.EVENT_TIME else "processing"
        yield label, ctx.get_current_key(), timestamp, domain


def plain(fn: Any) -> BroadcastProcessOperator:
    return BroadcastProcessOperator("Co-Process-Broadcast", fn, [RULES])


def keyed(fn: Any, *descriptors: MapStateDescriptor) -> BroadcastProcessOperator:
    return BroadcastProcessOperator("Co-Process-Broadcast-Keyed", fn, descriptors or (RULES,),
                                    lambda v: v[0])


def keys_of(subtask: int, parallelism: int, n: int = 3) -> list[str]:
    """``n`` keys owned by ``subtask`` of ``parallelism`` (max parallelism 128)."""
    own = key_group_range(subtask, parallelism, 128)
    return [k for k in (f"k{i}" for i in range(1000)) if assign_key_group(k, 128) in own][:n]


# -- harness: non-keyed ------------------------------------------------------------------------


def test_broadcast_elements_fill_the_state_that_elements_read() -> None:
    h = TwoInputHarness(plain(Prefixer()))
    h.process_element1(1, timestamp=3)
    h.process_element2((1, "odd-"), timestamp=4)
    h.process_element2((0, "even-"))
    h.process_element1(1, timestamp=5)
    h.process_element1(2)
    assert h.output == [Record("odd-1", 5), Record("even-2", None)]
    assert h.side_output_records(SIDE) == [
        Record(("no rule", 1), 3), Record(("rule", (1, "odd-")), 4), Record(("rule", (0, "even-")))]


def test_context_times_and_java_style_collect() -> None:
    class Times(BroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            ctx.collect((value, ctx.timestamp(), ctx.current_watermark(),
                         ctx.current_processing_time()))

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            ctx.output(SIDE, (value, ctx.timestamp()))

    h = TwoInputHarness(plain(Times()))
    h.set_processing_time(42)
    h.process_watermark1(7)
    h.process_watermark2(9)
    h.process_element1("a", timestamp=8)
    h.process_element2("r", timestamp=11)
    assert h.timestamped() == [(("a", 8, 7, 42), 8)]
    assert h.side_output("side") == [("r", 11)]


def test_watermark_is_the_minimum_of_both_inputs() -> None:
    h = TwoInputHarness(plain(Prefixer()))
    h.process_watermark1(10)
    assert h.watermarks() == []
    h.process_watermark2(5)
    h.process_watermark2(20)
    h.process_watermark1(30)
    assert h.watermarks() == [5, 10, 20]


@pytest.mark.parametrize("mutate", [
    lambda s: s.put(1, "x"), lambda s: s.put_all({1: "x"}), lambda s: s.remove(1),
    lambda s: s.clear(), lambda s: s.__setitem__(1, "x"), lambda s: s.__delitem__(1),
])
def test_process_element_sees_a_read_only_view(mutate: Any) -> None:
    class Mutates(BroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            state = ctx.get_broadcast_state(RULES)
            assert isinstance(state, ReadOnlyBroadcastState)
            assert not isinstance(state, BroadcastState)
            mutate(state)

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            ctx.get_broadcast_state(RULES).put(1, "kept")

    h = TwoInputHarness(plain(Mutates()))
    h.process_element2("rule")
    with pytest.raises(StateAccessError, match=r"'Co-Process-Broadcast'.*'rules' is read-only.*"
                                               r"process_broadcast_element"):
        h.process_element1(1)
    assert h.operator.broadcast_states["rules"] == {1: "kept"}


def test_read_only_view_reads_everything() -> None:
    seen = []

    class Reads(BroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            s = ctx.get_broadcast_state(RULES)
            seen.append((s.get("a"), s.get("zz"), s.contains("b"), "b" in s, s["a"],
                         sorted(s.items()), sorted(s.keys()), sorted(s.values()), sorted(s),
                         s.is_empty(), len(s)))

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            state = ctx.get_broadcast_state(RULES)
            assert state.is_empty()
            state.put_all({"a": 1, "b": 2, "c": 3})
            state["d"] = 4
            del state["c"]
            state.remove("nothing")
            for key in state.keys():  # a copy: may change the state while iterating
                if key == "d":
                    state.remove(key)

    h = TwoInputHarness(plain(Reads()))
    h.process_element2("go")
    h.process_element1(0)
    assert seen == [(1, None, True, True, 1, [("a", 1), ("b", 2)], ["a", "b"], [1, 2],
                     ["a", "b"], False, 2)]


def test_undeclared_or_non_map_descriptor_is_refused() -> None:
    class Asks(BroadcastProcessFunction):
        def __init__(self, desc: Any) -> None:
            self.desc = desc

        def process_element(self, value: Any, ctx: Any) -> None:
            ctx.get_broadcast_state(self.desc)

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            ctx.get_broadcast_state(self.desc)

    h = TwoInputHarness(plain(Asks(OTHER)))
    with pytest.raises(StateAccessError, match=r"'other' does not exist \(declared: 'rules'\)"):
        h.process_element2("r")
    h = TwoInputHarness(plain(Asks(ValueStateDescriptor("rules", None))))
    with pytest.raises(InvalidTypeError, match="expected a MapStateDescriptor"):
        h.process_element1(1)


def test_user_errors_name_the_operator_and_the_broadcast_element() -> None:
    class Fails(BroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            pass

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            raise ValueError("bad rule")

    h = TwoInputHarness(plain(Fails()))
    with pytest.raises(UserFunctionError, match=r"'Co-Process-Broadcast' failed on broadcast "
                                                r"element 'r1': ValueError: bad rule"):
        h.process_element2("r1")


# -- harness: keyed ----------------------------------------------------------------------------


def test_keyed_state_timers_and_read_only_state_in_on_timer() -> None:
    h = TwoInputHarness(keyed(Counting()))
    h.process_element2("L1")
    h.process_element1(("a", 0), timestamp=1)
    h.process_element1(("a", 0), timestamp=2)
    h.process_element1(("b", 0), timestamp=5)
    assert h.records() == [("a", 1), ("a", 2), ("b", 1)]
    assert h.state_for("a") == {"count": 2}
    assert h.event_time_timers() == [("a", 11), ("a", 12), ("b", 15)]
    h.clear_output()
    h.process_watermark1(100)  # the broadcast input holds the watermark back
    assert h.output == []
    h.process_element2("L2")
    h.process_watermark2(12)
    assert h.output == [Record(("L2", "a", 11, "event"), 11), Record(("L2", "a", 12, "event"), 12),
                        Watermark(12)]
    assert h.num_event_time_timers() == 1


def test_keyed_processing_time_timer() -> None:
    class Later(KeyedBroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            ctx.timer_service().register_processing_time_timer(
                ctx.current_processing_time() + 5)

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            ctx.get_broadcast_state(RULES).put("label", value)

        def on_timer(self, timestamp: int, ctx: Any) -> Any:
            assert ctx.time_domain() == TimeDomain.PROCESSING_TIME
            yield ctx.get_broadcast_state(RULES).get("label"), ctx.get_current_key(), timestamp

    h = TwoInputHarness(keyed(Later()))
    h.process_element1(("a", 0))
    h.process_element2("late")
    h.set_processing_time(5)
    assert h.output == [Record(("late", "a", 5), None)]


def test_on_timer_cannot_write_broadcast_state() -> None:
    class Writes(KeyedBroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            ctx.timer_service().register_event_time_timer(1)

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            pass

        def on_timer(self, timestamp: int, ctx: Any) -> None:
            ctx.get_broadcast_state(RULES).put("x", 1)

    h = TwoInputHarness(keyed(Writes()))
    h.process_element1(("a", 0))
    h.process_watermark2(5)
    with pytest.raises(StateAccessError, match="read-only"):
        h.process_watermark1(5)


@pytest.mark.parametrize("subtask", [0, 1, 2])
def test_apply_to_keyed_state_visits_every_key_of_the_subtask(subtask: int) -> None:
    keys = keys_of(subtask, 3, n=4)
    h = TwoInputHarness(keyed(Counting()), parallelism=3, subtask_index=subtask)
    for i, key in enumerate(keys):
        for _ in range(i + 1):
            h.process_element1((key, 0), timestamp=0)
    h.clear_output()
    h.process_element2("reset")
    assert h.records() == [("reset", sorted((k, i + 1) for i, k in enumerate(keys)))]
    assert all(h.state_for(k) == {} for k in keys)
    h.process_element1((keys[0], 0), timestamp=0)  # counting starts over
    assert h.records()[-1] == (keys[0], 1)


def test_apply_to_keyed_state_accepts_a_keyed_state_function_object() -> None:
    class Doubler:
        def process(self, key: Any, state: Any) -> None:
            state.update(state.value() * 2)

    class Applies(Counting):
        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            ctx.apply_to_keyed_state(COUNT, Doubler())

    h = TwoInputHarness(keyed(Applies()))
    h.process_element1(("a", 0), timestamp=0)
    h.process_element1(("b", 0), timestamp=0)
    h.process_element2("double")
    assert h.state_for("a") == {"count": 2} and h.state_for("b") == {"count": 2}


def test_keyed_state_outside_apply_to_keyed_state_has_no_key() -> None:
    class Touches(Counting):
        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            self.count.value()

    h = TwoInputHarness(keyed(Touches()))
    h.process_element1(("a", 0), timestamp=0)  # a current key exists ...
    with pytest.raises(StateAccessError, match="outside a keyed context"):
        h.process_element2("x")  # ... but not on the broadcast side


# -- harness: snapshots ------------------------------------------------------------------------


def _filled(subtask: int, parallelism: int, label: str) -> TwoInputHarness:
    h = TwoInputHarness(keyed(Counting()), parallelism=parallelism, subtask_index=subtask)
    h.process_element2(label)
    for key in keys_of(subtask, parallelism, n=2):
        h.process_element1((key, 0), timestamp=100)
    return h


def test_snapshot_restores_broadcast_keyed_state_and_timers() -> None:
    h = _filled(0, 1, "L")
    snap = h.snapshot()
    assert set(snap) == {"broadcast", "keyed", "timers"}
    h.process_element2("changed-after-snapshot")
    restored = TwoInputHarness.restore(snap, lambda: keyed(Counting()))
    assert restored.operator.broadcast_states == {"rules": {"label": "L"}}
    key = keys_of(0, 1, n=1)[0]
    assert restored.state_for(key) == {"count": 1}
    restored.process_watermark1(200)
    restored.process_watermark2(200)
    assert ("L", key, 110, "event") in restored.records()


def test_non_keyed_snapshot_holds_only_broadcast_state() -> None:
    h = TwoInputHarness(plain(Prefixer()))
    h.process_element2((1, "odd-"))
    snap = h.snapshot()
    assert list(snap) == ["broadcast"]
    restored = TwoInputHarness.restore(snap, lambda: plain(Prefixer()))
    restored.process_element1(3)
    assert restored.records() == ["odd-3"]


@pytest.mark.parametrize("new_parallelism", [1, 2, 3, 5])
def test_rescaling_copies_broadcast_state_round_robin_and_splits_keyed_state(
        new_parallelism: int) -> None:
    # each old subtask's copy is labelled differently only to show which copy a new subtask gets;
    # in a real job (same updates everywhere) all copies are equal
    old = [_filled(i, 3, f"copy-{i}") for i in range(3)]
    snaps = [h.snapshot() for h in old]
    every_key = {k for i in range(3) for k in keys_of(i, 3, n=2)}
    found: set[str] = set()
    for i in range(new_parallelism):
        h = TwoInputHarness.restore(snaps, lambda: keyed(Counting()),
                                    parallelism=new_parallelism, subtask_index=i)
        assert h.operator.broadcast_states["rules"] == {"label": f"copy-{i % 3}"}
        keys = h.keys()
        own = h.operator.backend.key_group_range
        assert all(assign_key_group(k, 128) in own for k in keys)
        found |= keys
    assert found == every_key


def test_restored_state_that_is_no_longer_declared_is_kept() -> None:
    h = TwoInputHarness(keyed(Counting(), RULES, OTHER))
    h.operator.broadcast_states["other"]["x"] = 1
    restored = TwoInputHarness.restore(h.snapshot(), lambda: keyed(Counting()))
    assert restored.operator.broadcast_states["other"] == {"x": 1}
    assert pickle.loads(restored.snapshot()["broadcast"]["other"]) == {"x": 1}


def test_unpicklable_broadcast_state_fails_the_snapshot_clearly() -> None:
    class Locks(BroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            pass

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            ctx.get_broadcast_state(RULES).put("lock", threading.Lock())

    h = TwoInputHarness(plain(Locks()))
    h.process_element2("x")
    with pytest.raises(InvalidTypeError, match="broadcast state 'rules' cannot be pickled"):
        h.snapshot()


# -- API ---------------------------------------------------------------------------------------


@pytest.fixture
def env() -> StreamExecutionEnvironment:
    return StreamExecutionEnvironment.get_execution_environment()


def test_api_types(env: StreamExecutionEnvironment) -> None:
    rules = env.from_collection([1])
    bs = rules.broadcast(RULES, OTHER)
    assert isinstance(bs, BroadcastStream) and not isinstance(bs, DataStream)
    assert bs.get_broadcast_state_descriptors() == [RULES, OTHER]
    connected = env.from_collection([2]).connect(bs)
    assert isinstance(connected, BroadcastConnectedStream)
    assert connected.get_second_input() is bs
    assert isinstance(env.from_collection([2]).key_by(lambda v: v).connect(bs),
                      BroadcastConnectedStream)
    assert isinstance(rules.broadcast(), DataStream)  # plain broadcast partitioning


def test_api_errors(env: StreamExecutionEnvironment) -> None:
    events, rules = env.from_collection([1]), env.from_collection([2])
    with pytest.raises(JobDefinitionError, match="expected MapStateDescriptors"):
        rules.broadcast(ValueStateDescriptor("v", None))
    with pytest.raises(JobDefinitionError, match="declared twice"):
        rules.broadcast(RULES, MapStateDescriptor("rules", None, None))
    with pytest.raises(JobDefinitionError, match="cannot be re-partitioned"):
        rules.key_by(lambda v: v).broadcast(RULES)
    bs = rules.broadcast(RULES)
    with pytest.raises(JobDefinitionError, match="needs a KeyedStream"):
        events.connect(bs).process(Counting())
    with pytest.raises(JobDefinitionError, match="needs a non-keyed stream"):
        events.key_by(lambda v: v).connect(bs).process(Prefixer())
    with pytest.raises(JobDefinitionError, match="lacks process_element, process_broadcast_element"):
        events.connect(bs).process(object())


# -- end to end --------------------------------------------------------------------------------


def make_env(executor: str, parallelism: int) -> StreamExecutionEnvironment:
    e = StreamExecutionEnvironment.get_execution_environment()
    e.executor = executor
    e.set_parallelism(parallelism)
    return e


class WhoGotTheRule(BroadcastProcessFunction):
    def open(self, runtime_context: Any) -> None:
        self.subtask = runtime_context.get_index_of_this_subtask()

    def process_element(self, value: Any, ctx: Any) -> Any:
        yield value * 2

    def process_broadcast_element(self, value: Any, ctx: Any) -> Any:
        state = ctx.get_broadcast_state(RULES)
        state.put(value, self.subtask)
        yield SIDE, (self.subtask, value, len(state))


@pytest.mark.parametrize("parallelism", [1, 3])
def test_rules_reach_every_subtask(executor: str, parallelism: int) -> None:
    env = make_env(executor, parallelism)
    events = env.from_source(NumberSequenceSource(0, 29), None, "numbers")
    rules = env.from_collection(["r1", "r2"])
    main, side = CollectSink(), CollectSink()
    out = events.connect(rules.broadcast(RULES)).process(WhoGotTheRule())
    out.add_sink(main)
    out.get_side_output(SIDE).add_sink(side)
    env.execute("broadcast to all")
    assert sorted(main.values) == [2 * i for i in range(30)]
    assert Counter((s, r) for s, r, _ in side.values) == {
        (s, r): 1 for s in range(parallelism) for r in ("r1", "r2")}
    # every subtask applied the same updates, in the same order
    assert sorted(n for _s, r, n in side.values if r == "r2") == [2] * parallelism


class Threshold(KeyedBroadcastProcessFunction):
    """Buffers amounts per key; when the watermark passes, applies the broadcast limit to them."""

    def open(self, runtime_context: Any) -> None:
        self.amounts = runtime_context.get_list_state(ListStateDescriptor("amounts", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        self.amounts.add(value[1])
        ctx.timer_service().register_event_time_timer(ctx.timestamp())
        if not ctx.get_broadcast_state(RULES).contains("limit"):
            yield SIDE, ("early", value)

    def process_broadcast_element(self, value: Any, ctx: Any) -> Any:
        ctx.get_broadcast_state(RULES).put(value[0], value[1])
        return ()

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        limit = ctx.get_broadcast_state(RULES).get("limit")
        over = [a for a in self.amounts.get() if a > limit]
        self.amounts.clear()
        if over:
            yield ctx.get_current_key(), timestamp, over


@pytest.mark.parametrize("parallelism", [1, 3])
def test_keyed_broadcast_end_to_end(executor: str, parallelism: int) -> None:
    env = make_env(executor, parallelism)
    data = [((f"k{i % 7}", i), i) for i in range(40)]
    events = env.add_source(ListSource.with_timestamps(data))
    rules = env.from_collection([("limit", 5), ("limit", 20)])  # no watermark until it ends
    sink = CollectSink()
    (events.key_by(lambda v: v[0]).connect(rules.broadcast(RULES))
        .process(Threshold()).add_sink(sink))
    env.execute("keyed broadcast")
    # timers fire only when both inputs' watermarks pass, i.e. after the last rule; each key's
    # first timer (at its first element's timestamp) flushes all of its amounts
    expected = [(f"k{j}", j, [i for i in range(21, 40) if i % 7 == j]) for j in range(7)]
    assert sorted(sink.values) == expected
    assert sorted(sink.timestamps) == list(range(7))


@pytest.mark.parametrize("parallelism", [1, 3])
def test_read_only_violation_fails_the_job(executor: str, parallelism: int) -> None:
    class Cheats(BroadcastProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> None:
            ctx.get_broadcast_state(RULES).put("cheat", value)

        def process_broadcast_element(self, value: Any, ctx: Any) -> None:
            pass

    env = make_env(executor, parallelism)
    (env.from_collection([1, 2]).connect(env.from_collection(["r"]).broadcast(RULES))
        .process(Cheats()).add_sink(CollectSink()))
    with pytest.raises(JobExecutionError) as info:
        env.execute("cheater")
    assert isinstance(info.value.__cause__, StateAccessError)
    assert "read-only" in str(info.value)
