"""The young-generation GC threshold is raised while a job runs and restored afterwards."""
from __future__ import annotations

import gc

import pytest

from strom.common import Configuration
from strom.datastream import StreamExecutionEnvironment


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_threshold_is_raised_during_the_job_and_restored(executor):
    before = gc.get_threshold()
    seen = []
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.from_collection([1, 2, 3]).map(lambda x: seen.append(gc.get_threshold()[0]) or x).print()
    env.execute()
    assert seen and all(t == max(50_000, before[0]) for t in seen)
    assert gc.get_threshold() == before


def test_zero_leaves_python_settings_alone():
    before = gc.get_threshold()
    seen = []
    env = StreamExecutionEnvironment.get_execution_environment(
        Configuration().set_integer("strom.gc.young-threshold", 0))
    env.from_collection([1]).map(lambda x: seen.append(gc.get_threshold()) or x).print()
    env.execute()
    assert seen == [before] and gc.get_threshold() == before
