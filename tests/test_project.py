"""DataStream.project: PyFlink's projection of tuple and Row fields, on every executor."""
from __future__ import annotations

import pytest

from strom.common import Row, Types
from strom.datastream import StreamExecutionEnvironment
from strom.errors import JobDefinitionError, JobExecutionError


def env_for(executor: str) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    return env


def test_project_tuples_keeps_the_chosen_fields_in_order(executor: str) -> None:
    env = env_for(executor)
    tuple_type = Types.TUPLE([Types.INT(), Types.STRING(), Types.DOUBLE()])
    ds = env.from_collection([(1, "a", 2.5), (2, "b", 3.5)], tuple_type).project(2, 0, 0)
    assert repr(ds.get_type()) == "Types.TUPLE([Types.DOUBLE(), Types.INT(), Types.INT()])"
    assert ds.execute_and_collect(limit=10) == [(2.5, 1, 1), (3.5, 2, 2)]


def test_project_rows_keeps_field_names(executor: str) -> None:
    env = env_for(executor)
    row_type = Types.ROW_NAMED(["user", "n", "score"], [Types.STRING(), Types.INT(), Types.DOUBLE()])
    out = (env.from_collection([Row(user="u1", n=3, score=0.5)], row_type).project(2, 0)
           .execute_and_collect(limit=10))
    assert out == [Row(score=0.5, user="u1")]
    assert out[0].as_dict() == {"score": 0.5, "user": "u1"}


def test_project_of_undeclared_tuples_and_bad_input(executor: str) -> None:
    env = env_for(executor)
    assert env.from_collection([("k", 1, True)]).project(1).execute_and_collect(limit=5) == [(1,)]
    with pytest.raises(JobDefinitionError, match="field index 5 is out of range"):
        env.from_collection([(1, 2)], Types.TUPLE([Types.INT(), Types.INT()])).project(5)
    with pytest.raises(JobDefinitionError, match="one or more field indexes"):
        env.from_collection([(1, 2)]).project()
    env2 = env_for(executor)
    env2.from_collection([(1, 2), "not a tuple"]).project(0).print()
    with pytest.raises(JobExecutionError, match="expected a tuple or Row element, got 'not a tuple'"):
        env2.execute()
