"""PyFlink's test base classes on strom (``pyflink.testing.test_case_utils``), and the wrapping
``Configuration(j_configuration=...)`` they and PyFlink's tests rely on."""
from __future__ import annotations

import os

import pytest

from strom.common import Configuration
from strom.datastream import RuntimeExecutionMode
from strom.errors import UnsupportedError
from strom.testing.test_case_utils import (
    PyFlinkBatchTestCase,
    PyFlinkStreamingTestCase,
    PyFlinkUTTestCase,
    run_with_config,
)


class StreamingCase(PyFlinkStreamingTestCase):
    def test_the_class_environment_runs_jobs(self) -> None:
        assert os.path.isdir(self.tempdir)
        assert self.env.get_parallelism() == 2
        with self.env.from_collection([3, 1, 2]).map(lambda v: v * 10).execute_and_collect() as out:
            self.assert_equals(list(out), [10, 20, 30])

    @run_with_config({"python.fn-execution.bundle.size": "7"})
    def test_run_with_config_sets_the_environments_configuration(self) -> None:
        assert self.env._configuration.get_string("python.fn-execution.bundle.size", "") == "7"


class BatchCase(PyFlinkBatchTestCase):
    def test_batch_mode(self) -> None:
        assert self.env._runtime_mode == RuntimeExecutionMode.BATCH


def test_run_with_config_restores_what_was_there() -> None:
    StreamingCase.setUpClass()
    try:
        case = StreamingCase("test_run_with_config_sets_the_environments_configuration")
        case.test_run_with_config_sets_the_environments_configuration()
        assert StreamingCase.env._configuration.get_string("python.fn-execution.bundle.size", "-") == "-"
    finally:
        StreamingCase.tearDownClass()


def test_table_api_cases_say_strom_has_no_table_api() -> None:
    with pytest.raises(UnsupportedError, match="needs PyFlink's Table API"):
        PyFlinkUTTestCase("setUp").setUp()


def test_a_configuration_wrapping_another_shares_its_settings() -> None:
    inner = Configuration()
    outer = Configuration(j_configuration=inner)
    outer.set_integer("python.fn-execution.bundle.size", 1)
    assert inner.get_integer("python.fn-execution.bundle.size", 0) == 1
    with pytest.raises(UnsupportedError, match="no Java configuration to wrap"):
        Configuration(j_configuration=object())
