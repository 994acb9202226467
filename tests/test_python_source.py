"""Python sources for from_source: subclass Source and override read()."""
from __future__ import annotations

import threading

import pytest

from strom.common import WatermarkStrategy
from strom.datastream import RuntimeContext, StreamExecutionEnvironment
from strom.datastream.connectors import Source
from strom.errors import JobDefinitionError, JobExecutionError


class Squares(Source):
    def __init__(self, n):
        self.n = n

    def read(self, subtask_index, parallelism):
        for i in range(subtask_index, self.n, parallelism):
            yield i * i


class Subtask:
    def open(self, runtime_context: RuntimeContext):
        self.index = runtime_context.get_index_of_this_subtask()

    def map(self, value):
        return self.index, value


@pytest.mark.parametrize("parallelism", [1, 3])
def test_each_subtask_reads_its_split_and_every_record_arrives_once(parallelism):
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    out = list(env.from_source(Squares(20), WatermarkStrategy.no_watermarks(), "squares")
               .map(Subtask()).execute_and_collect())
    assert sorted(v for _, v in out) == [i * i for i in range(20)]
    assert {s for s, v in out} == set(range(parallelism))
    assert all(int(v ** 0.5) % parallelism == s for s, v in out)


def test_blocking_source_is_read_on_its_own_thread():
    main = threading.get_ident()

    class Threads(Source):
        blocking = True
        parallel = False

        def read(self, subtask_index, parallelism):
            yield threading.get_ident() != main

    env = StreamExecutionEnvironment.get_execution_environment()
    assert list(env.from_source(Threads(), None, "t").execute_and_collect()) == [True]


def test_a_source_without_read_is_rejected_when_the_job_is_defined():
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match=r"read\(subtask_index"):
        env.from_source(Source(), None, "nothing")


def test_read_errors_name_the_source():
    class Broken(Source):
        def read(self, subtask_index, parallelism):
            yield 1
            raise OSError("disk gone")

    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_source(Broken(), None, "broken").print()
    with pytest.raises(JobExecutionError) as info:
        env.execute()
    assert "broken" in str(info.value) and "disk gone" in str(info.value)
