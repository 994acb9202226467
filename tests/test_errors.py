"""Failures users meet: the exception class, what the message names, and the cause chain."""
from __future__ import annotations

import traceback
from typing import Any

import pytest

from strom.api.environment import StreamExecutionEnvironment
from strom.api.functions import KeyedProcessFunction, MapFunction, ProcessFunction
from strom.api.sources import NumberSequenceSource
from strom.api.typeinfo import Types
from strom.api.watermarks import WatermarkStrategy
from strom.errors import (
    InvalidKeyError,
    InvalidTypeError,
    JobDefinitionError,
    JobExecutionError,
    StateAccessError,
    StromError,
    UnsupportedError,
    UserFunctionError,
)
from strom.state import ValueStateDescriptor
from strom.testing import CRASH, CollectSink, ListSource, SourceCrash
from strom.time.durations import Time
from strom.window import EventTimeSessionWindows, SlidingEventTimeWindows, TumblingEventTimeWindows


def causes(exc: BaseException) -> list[BaseException]:
    """The ``__cause__`` chain below ``exc``; stops on a cycle."""
    chain: list[BaseException] = []
    seen = {id(exc)}
    c = exc.__cause__
    while c is not None and id(c) not in seen:
        chain.append(c)
        seen.add(id(c))
        c = c.__cause__
    return chain


def run_failing(env: StreamExecutionEnvironment) -> JobExecutionError:
    with pytest.raises(JobExecutionError) as info:
        env.execute("failing")
    return info.value


def cause_of(err: BaseException, cls: type) -> Any:
    found = [c for c in causes(err) if isinstance(c, cls)]
    assert found, f"no {cls.__name__} in the cause chain of {err!r}: {causes(err)!r}"
    return found[0]


def parse_or_fail(value: str) -> int:
    return int(value)


# -- user functions that raise -----------------------------------------------------------------


def test_failing_map_names_operator_and_element_and_keeps_traceback(env: Any) -> None:
    sink = CollectSink()
    env.from_collection(["1", "2", "oops", "4"]).map(parse_or_fail).add_sink(sink)
    err = run_failing(env)
    assert "operator 'Map'" in str(err) and "'oops'" in str(err)
    assert "ValueError" in str(err)
    cause_of(err, ValueError)
    # the user's frame is in what the failure prints (from another process: its traceback text)
    assert "in parse_or_fail" in "".join(traceback.format_exception(err))
    wrapped = cause_of(err, UserFunctionError)
    assert wrapped.element == "oops" and wrapped.key is None
    assert sink.values == [1, 2]


@pytest.mark.parametrize("parallelism", [1, 2])
def test_failing_keyed_function_names_the_key(env: Any, parallelism: int) -> None:
    class Boom(KeyedProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> Any:
            if value == ("b", 2):
                raise ZeroDivisionError("no")
            yield value

    env.set_parallelism(parallelism)
    env.from_collection([("a", 1), ("b", 2)]).key_by(lambda v: v[0]).process(Boom()).print()
    err = run_failing(env)
    assert "operator 'KeyedProcess'" in str(err)
    assert "('b', 2)" in str(err) and "with key 'b'" in str(err)
    wrapped = cause_of(err, UserFunctionError)
    assert wrapped.key == "b"
    assert isinstance(wrapped.__cause__, ZeroDivisionError)


def test_failing_on_timer_names_timer_and_key(env: Any) -> None:
    class Late(KeyedProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> Any:
            ctx.timer_service().register_event_time_timer(5)

        def on_timer(self, timestamp: int, ctx: Any) -> Any:
            raise KeyError("gone")

    env.from_collection(["a"]).key_by(lambda v: v).process(Late()).print()
    err = run_failing(env)
    assert "timer at 5" in str(err) and "key 'a'" in str(err)
    assert isinstance(cause_of(err, KeyError), KeyError)


def test_failing_open_is_reported(env: Any) -> None:
    class NoOpen(MapFunction):
        def open(self, ctx: Any) -> None:
            raise RuntimeError("cannot connect")

        def map(self, value: Any) -> Any:
            return value

    env.from_collection([1]).map(NoOpen()).print()
    err = run_failing(env)
    assert "operator 'Map'" in str(err) and "open()" in str(err) and "cannot connect" in str(err)


def test_failing_open_message_has_no_stray_none(env: Any) -> None:
    class NoOpen(MapFunction):
        def open(self, ctx: Any) -> None:
            raise RuntimeError("cannot connect")

        def map(self, value: Any) -> Any:
            return value

    env.from_collection([1]).map(NoOpen()).print()
    assert "None" not in str(run_failing(env))


def test_error_names_the_user_given_operator_name(env: Any) -> None:
    env.from_collection(["x"]).map(parse_or_fail).name("parse ids").print()
    assert "operator 'parse ids'" in str(run_failing(env))


def test_flat_map_returning_non_iterable_has_a_hint(env: Any) -> None:
    env.from_collection([1]).flat_map(lambda v: v + 1).print()
    assert "expected None, an iterable or a generator" in str(run_failing(env))


@pytest.mark.in_process("a one-shot generator source cannot be sent to another process")
def test_failing_sources(env: Any) -> None:
    env.add_source(ListSource([1, CRASH, 2])).print()
    err = run_failing(env)
    assert "Custom Source" in str(err) and "CRASH marker" in str(err)
    assert isinstance(cause_of(err, SourceCrash), SourceCrash)

    def broken() -> Any:
        yield 1
        raise OSError("disk gone")

    env.from_collection(broken()).print()
    err = run_failing(env)
    assert "Collection Source" in str(err) and isinstance(cause_of(err, OSError), OSError)


def test_failing_sink(env: Any) -> None:
    class Bad:
        def invoke(self, value: Any, context: Any) -> None:
            raise ConnectionError(f"refused {value}")

    env.from_collection([1]).add_sink(Bad())
    err = run_failing(env)
    assert "element 1" in str(err) and isinstance(cause_of(err, ConnectionError), ConnectionError)


# -- keyed state and timers without a key --------------------------------------------------------


class StateInOpen(MapFunction):
    def open(self, ctx: Any) -> None:
        self.s = ctx.get_state(ValueStateDescriptor("s", None))

    def map(self, value: Any) -> Any:
        return value


def test_state_access_on_non_keyed_stream(env: Any) -> None:
    env.from_collection([1]).map(StateInOpen()).print()
    err = run_failing(env)
    state_err = cause_of(err, StateAccessError)
    assert "operator 'Map'" in str(state_err)
    assert "only available on a keyed stream" in str(state_err) and "key_by" in str(state_err)


def test_strom_error_in_open_is_not_its_own_cause(env: Any) -> None:
    env.from_collection([1]).map(StateInOpen()).print()
    err = run_failing(env)
    state_err = cause_of(err, StateAccessError)
    assert state_err.__cause__ is not state_err


def test_timers_on_non_keyed_stream(env: Any) -> None:
    class Timer(ProcessFunction):
        def process_element(self, value: Any, ctx: Any) -> Any:
            ctx.timer_service().register_processing_time_timer(10)

    env.from_collection([1]).process(Timer()).print()
    err = run_failing(env)
    timer_err = cause_of(err, StateAccessError)
    assert "operator 'Process'" in str(timer_err) and "keyed stream" in str(timer_err)


# -- keys ----------------------------------------------------------------------------------------


class TouchState(KeyedProcessFunction):
    def open(self, ctx: Any) -> None:
        self.s = ctx.get_state(ValueStateDescriptor("s", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        self.s.update(value)
        yield value


@pytest.mark.parametrize("parallelism", [1, 2])
def test_unhashable_key_with_keyed_state(env: Any, parallelism: int) -> None:
    env.set_parallelism(parallelism)
    # a set: lists are accepted as keys (as in PyFlink), sets are not
    env.from_collection([{"id": 3}]).key_by(lambda v: {v["id"]}).process(TouchState()).print()
    err = run_failing(env)
    key_err = cause_of(err, InvalidKeyError)
    assert "{3}" in str(key_err) and "unhashable" in str(key_err) and "{'id': 3}" in str(key_err)


@pytest.mark.parametrize("parallelism", [
    1,
    2,
])
@pytest.mark.parametrize("key", [lambda v: {v}, lambda v: None], ids=["set", "none"])
def test_invalid_key_is_rejected_even_without_state_access(env: Any, parallelism: int,
                                                           key: Any) -> None:
    env.set_parallelism(parallelism)
    env.from_collection([1, 2]).key_by(key).map(lambda v: v).print()
    err = run_failing(env)
    key_err = cause_of(err, InvalidKeyError)
    assert "element 1" in str(key_err)


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize("window", ["tumbling", "sliding", "session"])
def test_none_key_is_rejected_by_windows(env: Any, parallelism: int, window: str) -> None:
    """The event-time fast path (tumbling, sliding) and the general window operator (session)
    reject a None key as every other keyed operator does, instead of pooling such records."""
    assigner = {"tumbling": TumblingEventTimeWindows.of(Time.seconds(1)),
                "sliding": SlidingEventTimeWindows.of(Time.seconds(2), Time.seconds(1)),
                "session": EventTimeSessionWindows.with_gap(Time.seconds(1))}[window]
    env.set_parallelism(parallelism)
    stream = env.from_collection([("a", 1), ("b", 2)]).assign_timestamps_and_watermarks(
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(lambda v, _: v[1]))
    stream.key_by(lambda v: None).window(assigner).reduce(lambda a, b: a).print()
    err = run_failing(env)
    key_err = cause_of(err, InvalidKeyError)
    assert "returned None" in str(key_err)
    # at p = 2 the two records reach different subtasks, which fail side by side
    assert "('a', 1)" in str(key_err) or (parallelism == 2 and "('b', 2)" in str(key_err))
    if parallelism == 1:  # at p = 2 the key_by exchange already rejects it, naming key_by
        assert "Window(" in str(key_err)


def test_key_selector_that_raises(env: Any) -> None:
    env.set_parallelism(2)
    env.from_collection([{"a": 1}]).key_by(lambda v: v["missing"]).map(lambda v: v).print()
    err = run_failing(env)
    assert "key" in str(err) and "{'a': 1}" in str(err)
    assert isinstance(cause_of(err, KeyError), KeyError)


# -- graph-building errors ---------------------------------------------------------------------


def test_wrong_output_type_argument() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    ds = env.from_collection([1])
    with pytest.raises(InvalidTypeError, match=r"Map: output_type must be a TypeInformation.*'INT'"):
        ds.map(lambda v: v, output_type="INT")
    with pytest.raises(InvalidTypeError, match="output_type must be a TypeInformation"):
        ds.flat_map(lambda v: [v], output_type=int)


def test_declared_output_type_mismatch_fails_at_run_time(env: Any) -> None:
    env.from_collection([1]).map(lambda v: "s", output_type=Types.INT()).print()
    err = run_failing(env)
    type_err = cause_of(err, InvalidTypeError)
    assert "Types.INT()" in str(type_err) and "'s'" in str(type_err)


def test_process_without_process_element_fails_at_graph_building() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()

    class NotAFunction:
        def process(self, value: Any) -> None: ...

    with pytest.raises(JobDefinitionError, match="lacks process_element"):
        env.from_collection([1]).process(NotAFunction())
    with pytest.raises(JobDefinitionError, match="KeyedProcessFunction.*lacks process_element"):
        env.from_collection([1]).key_by(lambda v: v).process(NotAFunction())
    with pytest.raises(JobDefinitionError, match="lacks process_element2"):
        a = env.from_collection([1])
        a.connect(a).process(type("Half", (), {"process_element1": lambda s, v, c: None})())
    with pytest.raises(JobDefinitionError, match="expected a MapFunction or a callable"):
        env.from_collection([1]).map(42)


def test_parallelism_errors() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match="expected an int >= 1"):
        env.set_parallelism(0)
    ds = env.from_collection([1])
    with pytest.raises(JobDefinitionError, match="non-parallel source must be 1"):
        ds.set_parallelism(2)
    with pytest.raises(JobDefinitionError, match="parallelism must be an int >= 1"):
        ds.map(lambda v: v).set_parallelism(-1)
    with pytest.raises(JobDefinitionError, match="KeyedStream is not an operator"):
        ds.key_by(lambda v: v).set_parallelism(2)

    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_source(NumberSequenceSource(1, 3), None, "n").map(lambda v: v) \
        .set_parallelism(200).print()
    with pytest.raises(JobDefinitionError, match="parallelism 200 exceeds the max parallelism 128"):
        env.execute()


def test_from_collection_type_mismatch_names_element_index() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(InvalidTypeError, match=r"from_collection element #2: expected Types.INT\(\)"
                       r".*'three'"):
        env.from_collection([1, 2, "three"], Types.INT())


def test_job_without_sink_and_unknown_executor() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1]).map(lambda v: v)
    with pytest.raises(JobDefinitionError, match="no sinks"):
        env.execute()
    env.from_collection([1]).print()
    env.executor = "nope"
    with pytest.raises(UnsupportedError, match="unknown execution target 'nope'"):
        env.execute()


def test_every_error_is_a_strom_error() -> None:
    for cls in (InvalidKeyError, InvalidTypeError, JobDefinitionError, JobExecutionError,
                StateAccessError, UnsupportedError, UserFunctionError):
        assert issubclass(cls, StromError)


@pytest.mark.parametrize("key", [lambda v: None, lambda v: {v}], ids=["none", "set"])
def test_keyed_connected_streams_reject_bad_keys(env: Any, key: Any) -> None:
    from strom.datastream import CoMapFunction, KeyedCoProcessFunction

    class Both(KeyedCoProcessFunction):
        def process_element1(self, value, ctx):
            yield value

        def process_element2(self, value, ctx):
            yield value

    class Maps(CoMapFunction):
        def map1(self, value):
            return value

        def map2(self, value):
            return value

    for fn, method in ((Both(), "process"), (Maps(), "map")):
        a, b = env.from_collection([1, 2]), env.from_collection([3])
        getattr(a.connect(b).key_by(key, key), method)(fn).print()
        err = run_failing(env)
        assert isinstance(cause_of(err, InvalidKeyError), InvalidKeyError)


def test_jvm_only_calls_warn_once_that_they_have_no_effect() -> None:
    import warnings

    from strom.api import configuration
    from strom.datastream import StreamExecutionEnvironment

    configuration._WARNED_CALLS.discard("add_jars")
    env = StreamExecutionEnvironment.get_execution_environment()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env.add_jars("file:///opt/flink-connector-kafka.jar")
        env.add_jars("file:///opt/other.jar")
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert messages == ["add_jars(): strom's connectors are Python; the jars are not loaded; "
                        "the call has no effect on strom."]
