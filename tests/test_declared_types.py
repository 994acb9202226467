"""Declared types are honoured on keyed state and side outputs, as on ``output_type``.

PyFlink fails to serialize a value of another type than its state descriptor or ``OutputTag``
declares; strom checks it where the value is handed over, naming the operator, the state or tag,
the expected type, and the value with its type.
"""
from __future__ import annotations

from typing import Any

import pytest

from strom.common import Time, Types
from strom.datastream import (
    AggregateFunction,
    BroadcastProcessFunction,
    KeyedProcessFunction,
    OutputTag,
    ProcessFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.state import (
    AggregatingStateDescriptor,
    ListStateDescriptor,
    MapStateDescriptor,
    ReducingStateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
)
from strom.errors import InvalidTypeError, StromError
from strom.state.key_groups import key_group_range
from strom.state.memory import MemoryStateBackend
from strom.time.clock import ManualClock


def _backend() -> MemoryStateBackend:
    backend = MemoryStateBackend(key_group_range(0, 1, 128), 128, ManualClock(0))
    backend.operator_name = "counter"
    backend.current_key = "k"
    return backend


class Sum(AggregateFunction):
    def create_accumulator(self) -> Any:
        return 0

    def add(self, value: Any, accumulator: Any) -> Any:
        return accumulator + value if isinstance(value, int) else str(value)  # a str accumulator

    def get_result(self, accumulator: Any) -> Any:
        return accumulator

    def merge(self, a: Any, b: Any) -> Any:
        return a + b


def _ttl(descriptor: Any) -> Any:
    descriptor.enable_time_to_live(StateTtlConfig.new_builder(Time.seconds(10)).build())
    return descriptor


CASES = [  # (descriptor factory, good call, bad call, what the message says)
    (lambda: ValueStateDescriptor("s", Types.LONG()), lambda s: s.update(5),
     lambda s: s.update("not a long"), r"value state 's': expected Types\.LONG\(\) but got 'not a long' of type str"),
    (lambda: ValueStateDescriptor("s", Types.LONG()), lambda s: s.update(2**62),
     lambda s: s.update(2**64), r"value state 's': expected Types\.LONG\(\) but got \d+ of type int \(out of range"),
    (lambda: ListStateDescriptor("l", Types.STRING()), lambda s: s.add_all(["a", "b"]),
     lambda s: s.update(["a", 3]), r"list state 'l': expected Types\.STRING\(\) but got 3 of type int"),
    (lambda: ListStateDescriptor("l", Types.STRING()), lambda s: s.add("a"),
     lambda s: s.add(b"x"), r"list state 'l': expected Types\.STRING\(\) but got b'x' of type bytes"),
    (lambda: MapStateDescriptor("m", Types.STRING(), Types.INT()), lambda s: s.put("a", 1),
     lambda s: s.put(1, 1), r"map state 'm' key: expected Types\.STRING\(\) but got 1 of type int"),
    (lambda: MapStateDescriptor("m", Types.STRING(), Types.INT()), lambda s: s.put_all({"a": 1}),
     lambda s: s.put_all({"a": 1.5}), r"map state 'm' value: expected Types\.INT\(\) but got 1\.5 of type float"),
    (lambda: ReducingStateDescriptor("r", lambda a, b: a + b, Types.DOUBLE()), lambda s: s.add(1.5),
     lambda s: s.add("x"), r"reducing state 'r': expected Types\.DOUBLE\(\) but got 'x' of type str"),
    (lambda: AggregatingStateDescriptor("a", Sum(), Types.LONG()), lambda s: s.add(2),
     lambda s: s.add("x"), r"aggregating state 'a' accumulator: expected Types\.LONG\(\) but got 'x' of type str"),
]


@pytest.mark.parametrize("ttl", [False, True], ids=["heap", "ttl"])
@pytest.mark.parametrize(("make", "good", "bad", "message"), CASES)
def test_every_state_kind_checks_its_declared_types(make: Any, good: Any, bad: Any, message: str,
                                                    ttl: bool) -> None:
    descriptor = _ttl(make()) if ttl else make()
    state = _backend().state(descriptor)
    good(state)
    with pytest.raises(InvalidTypeError, match=r"^operator 'counter': " + message) as info:
        bad(state)
    assert "hint: store values of the declared type" in str(info.value)


def test_undeclared_and_pickled_state_accept_any_value_and_stay_unchecked() -> None:
    backend = _backend()
    for descriptor in (ValueStateDescriptor("u", None), ValueStateDescriptor("p", Types.PICKLED_BYTE_ARRAY())):
        state = backend.state(descriptor)
        assert type(state).__name__ == "HeapValueState"
        state.update({"any": object})
    assert type(backend.state(ListStateDescriptor("l"))).__name__ == "HeapListState"


def test_none_still_clears_a_typed_value_state() -> None:
    state = _backend().state(ValueStateDescriptor("s", Types.LONG()))
    state.update(3)
    state.update(None)
    assert state.value() is None


class StoresAString(KeyedProcessFunction):
    def open(self, runtime_context: Any) -> None:
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, value: Any, ctx: Any) -> Any:
        self.count.update(value)
        yield value


def test_a_job_fails_at_the_state_update_naming_operator_and_state(executor: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    stream = env.from_collection([1, 2, "three"]).key_by(lambda v: 0).process(StoresAString()).name("counter")
    with pytest.raises(StromError, match=r"operator 'counter': value state 'count': expected Types\.LONG\(\) "
                                         r"but got 'three' of type str"):
        with stream.execute_and_collect() as results:
            list(results)


ODD = OutputTag("odd", Types.INT())


class SplitYield(ProcessFunction):
    def process_element(self, value: Any, ctx: Any) -> Any:
        yield (ODD, value) if value % 2 else value


class SplitOutput(ProcessFunction):
    def process_element(self, value: Any, ctx: Any) -> Any:
        if value % 2:
            ctx.output(ODD, value if value < 5 else f"odd {value}")
        else:
            yield value


def _split(executor: str, function: Any, values: list) -> list:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    main = env.from_collection(values).process(function).name("splitter")
    with main.get_side_output(ODD).execute_and_collect() as results:
        return sorted(results)


@pytest.mark.parametrize("function", [SplitYield(), SplitOutput()], ids=["yield", "ctx.output"])
def test_side_outputs_of_the_declared_type_go_through(executor: str, function: Any) -> None:
    assert _split(executor, function, [1, 2, 3, 4]) == [1, 3]


def test_a_side_output_of_another_type_fails_naming_the_tag(executor: str) -> None:
    with pytest.raises(StromError, match=r"operator 'splitter': side output 'odd': expected Types\.INT\(\) but "
                                         r"got 'odd 5' of type str; hint: emit values of the OutputTag's"):
        _split(executor, SplitOutput(), [1, 2, 3, 4, 5])


def test_a_yielded_side_output_is_checked_too(executor: str) -> None:
    with pytest.raises(StromError, match=r"side output 'odd': expected Types\.INT\(\) but got 1\.5 of type float"):
        _split(executor, SplitYield(), [1.5])


RULES = MapStateDescriptor("rules", Types.STRING(), Types.INT())


class StoresRules(BroadcastProcessFunction):
    def process_element(self, value: Any, ctx: Any) -> Any:
        yield value

    def process_broadcast_element(self, value: Any, ctx: Any) -> Any:
        ctx.get_broadcast_state(RULES).put(value[0], value[1])
        return []


def test_broadcast_state_checks_its_declared_key_and_value_types(executor: str) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    rules = env.from_collection([("a", 1), ("b", "two")]).broadcast(RULES)
    stream = env.from_collection([1]).connect(rules).process(StoresRules()).name("rules")
    with pytest.raises(StromError, match=r"operator 'rules': broadcast state 'rules' value: expected "
                                         r"Types\.INT\(\) but got 'two' of type str"):
        with stream.execute_and_collect() as results:
            list(results)
