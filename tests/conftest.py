"""Test-wide settings: Hypothesis profiles, and the fixtures that run a test on every executor.

``executor`` is each name in ``strom.runtime.executors.EXECUTORS``; ``env`` a fresh environment
on it. Every end-to-end test takes one of them, so it runs on every executor.

``dev`` (default) explores new random examples each run; ``ci`` (selected when the ``CI``
environment variable is set, as in .ci/run) is derandomized so a CI run is reproducible. Neither
has a per-example deadline: many properties run whole jobs, and a loaded 2-core machine would
turn timing noise into failures.
"""
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from strom.api.environment import StreamExecutionEnvironment, set_default_configuration
from strom.runtime.executors import EXECUTORS
from tests.s3_server import s3_server  # noqa: F401  (the session fixture)

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Jobs that choose no executor run in this process (a test about the default choice unsets it);
# the `env`/`executor` fixtures choose each executor explicitly.
os.environ.setdefault("STROM_EXECUTION_TARGET", "inline")


@pytest.fixture(params=sorted(EXECUTORS))
def executor(request: Any) -> str:
    """The name of each executor in turn; TaskManager processes (``local``) are left out for
    tests marked ``in_process(reason)``: they observe the job through objects of the test's
    own process (a ManualClock, class attributes, registries) that no other process shares."""
    marker = request.node.get_closest_marker("in_process")
    if request.param == "local" and marker is not None:
        pytest.skip(f"needs this process: {marker.args[0]}")
    return request.param


@pytest.fixture
def env(executor: str) -> StreamExecutionEnvironment:
    """A fresh environment on each executor in turn."""
    e = StreamExecutionEnvironment.get_execution_environment()
    e.executor = executor
    return e


@pytest.fixture(autouse=True)
def _one_subtask_by_default() -> Any:
    """Jobs default to parallelism 1 on every executor, so a test gets the same results on
    each (an explicitly chosen local target would otherwise take one subtask per core)."""
    set_default_configuration({"parallelism.default": "1"})
    yield
    set_default_configuration(None)
