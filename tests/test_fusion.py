"""Fused chains of stateless operators behave exactly like unfused ones."""
from __future__ import annotations

import pytest

from strom.common import Types
from strom.datastream import MapFunction, SinkFunction, StreamExecutionEnvironment
from strom.errors import InvalidTypeError, JobExecutionError, UserFunctionError
from strom.runtime.fusion import Step, compile_steps


def _cause(err: BaseException, kind: type) -> BaseException:
    while err is not None and not isinstance(err, kind):
        err = err.__cause__
    assert err is not None, f"no {kind.__name__} in the cause chain"
    return err


def _run(env, build):
    out = []

    class Collect(SinkFunction):
        def invoke(self, value, context=None):
            out.append(value)

    build(env).add_sink(Collect())
    env.execute()
    return out


def test_same_results_fused_and_unfused():
    def build(env):
        return (env.from_collection(range(20)).map(lambda x: x * 3).filter(lambda x: x % 2 == 0)
                .map(str).filter(lambda s: s != "12"))
    fused = StreamExecutionEnvironment.get_execution_environment()
    plain = StreamExecutionEnvironment.get_execution_environment()
    plain.disable_operator_chaining()
    assert _run(fused, build) == _run(plain, build) == ["0", "6", "18", "24", "30", "36", "42", "48", "54"]


def test_declared_type_is_checked_inside_a_fused_chain():
    env = StreamExecutionEnvironment.get_execution_environment()
    stream = env.from_collection([1, 2]).map(lambda x: "not an int", output_type=Types.INT()).map(lambda x: x)
    with pytest.raises(JobExecutionError) as info:
        stream.execute_and_collect(limit=5)
    err = _cause(info.value, InvalidTypeError)
    assert "operator 'Map' output" in str(err) and "'not an int'" in str(err)


def test_error_in_a_fused_chain_names_the_failing_operator():
    class Boom(MapFunction):
        def map(self, value):
            if value == 3:
                raise ValueError("three")
            return value

    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1, 2, 3]).map(lambda x: x).map(Boom()).name("boom").map(lambda x: x).print()
    with pytest.raises(JobExecutionError) as info:
        env.execute()
    err = _cause(info.value, UserFunctionError)
    assert err.operator == "boom" and err.element == 3
    assert isinstance(err.__cause__, ValueError)


def test_compiled_steps_follow_the_step_kinds():
    seen = []
    fn = compile_steps([Step("map", lambda v: v + 1, None), Step("filter", lambda v: v > 2, None),
                        Step("check", lambda v: True, None), Step("sink", seen.append, None)], None)
    for v in range(4):
        fn(v, None)
    assert seen == [3, 4]
    with pytest.raises(ValueError):
        compile_steps([Step("sink", seen.append, None), Step("map", str, None)], None)
