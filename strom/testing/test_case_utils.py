"""PyFlink's ``pyflink.testing.test_case_utils`` on strom: the base classes of PyFlink's tests.

PyFlink's ``PyFlinkStreamingTestCase`` and ``PyFlinkBatchTestCase`` start a Java MiniCluster and
hand each test class a ``StreamExecutionEnvironment`` on it; here the environment runs on strom's
own runtime, so a PyFlink test module written against these classes (a project's own, or
PyFlink's DataStream tests) runs unchanged with ``import pyflink`` served by strom
(``pytest -p strom.compat.pytest_plugin``). As in PyFlink:

* ``setUpClass`` makes ``cls.tempdir`` (removed in ``tearDownClass``);
* the environment is the class's (``cls.env``), parallelism 2, streaming or batch mode;
* ``assert_equals(actual, expected)`` compares sorted.

The Table API and Java reflection classes (``PyFlinkUTTestCase``, ``PyFlinkStreamTableTestCase``,
``PyFlinkBatchTableTestCase``, ``PythonAPICompletenessTestCase``) need what strom does not have:
their ``setUp`` raises ``UnsupportedError`` saying so.

Example::

    from pyflink.testing.test_case_utils import PyFlinkStreamingTestCase

    class MyTests(PyFlinkStreamingTestCase):
        def test_map(self):
            with self.env.from_collection([1, 2]).map(lambda v: v + 1).execute_and_collect() as out:
                self.assert_equals(list(out), [2, 3])
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
import unittest
from collections.abc import Callable
from typing import Any

from strom.common import Configuration
from strom.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
from strom.errors import UnsupportedError


class PyFlinkTestCase(unittest.TestCase):
    """Base class for unit tests: a temporary directory per class."""

    tempdir: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.tempdir = tempfile.mkdtemp()
        os.environ["FLINK_TESTING"] = "1"

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tempdir, ignore_errors=True)

    @classmethod
    def assert_equals(cls, actual: list, expected: list) -> None:
        """``actual`` and ``expected`` hold the same elements (both are sorted in place)."""
        actual.sort()
        expected.sort()
        assert len(actual) == len(expected), f"{actual} != {expected}"
        assert all(x == y for x, y in zip(actual, expected, strict=True)), f"{actual} != {expected}"

    @classmethod
    def to_py_list(cls, actual: Any) -> list:
        """A list of ``actual``'s elements (PyFlink converts a Java list here)."""
        return list(actual)


class PyFlinkITTestCase(PyFlinkTestCase):
    """An environment per test class, on strom's runtime (PyFlink: on a Java MiniCluster)."""

    env: StreamExecutionEnvironment

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.env = StreamExecutionEnvironment.get_execution_environment()


class PyFlinkStreamingTestCase(PyFlinkITTestCase):
    """Base class for streaming tests: ``cls.env`` at parallelism 2 in streaming mode."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.env.set_parallelism(2)
        cls.env.set_runtime_mode(RuntimeExecutionMode.STREAMING)


class PyFlinkBatchTestCase(PyFlinkITTestCase):
    """Base class for batch tests: ``cls.env`` at parallelism 2 in batch mode."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.env.set_parallelism(2)
        cls.env.set_runtime_mode(RuntimeExecutionMode.BATCH)


def _table_api(name: str) -> UnsupportedError:
    return UnsupportedError(
        f"{name} needs PyFlink's Table API (StreamTableEnvironment), which strom does not have. "
        "Hint: PyFlinkStreamingTestCase or PyFlinkBatchTestCase test the DataStream API.")


class PyFlinkUTTestCase(PyFlinkTestCase):
    """PyFlink: a Table API environment per test. strom has no Table API: setUp raises."""

    def setUp(self) -> None:
        raise _table_api("PyFlinkUTTestCase")


class PyFlinkStreamTableTestCase(PyFlinkITTestCase):
    """PyFlink: Table API stream tests. strom has no Table API: setUp raises."""

    def setUp(self) -> None:
        raise _table_api("PyFlinkStreamTableTestCase")


class PyFlinkBatchTableTestCase(PyFlinkITTestCase):
    """PyFlink: Table API batch tests. strom has no Table API: setUp raises."""

    def setUp(self) -> None:
        raise _table_api("PyFlinkBatchTableTestCase")


class PythonAPICompletenessTestCase:
    """PyFlink: compares a Python class's methods with its Java class's by reflection."""

    def test_completeness(self) -> None:
        raise UnsupportedError(
            "PythonAPICompletenessTestCase compares Python classes with Java classes through the "
            "JVM, which strom does not have. Hint: strom's tests/test_pyflink_surface.py compares "
            "strom's surface with PyFlink's Python one.")


def run_with_config(config_dict: dict[str, str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: run a test method with ``config_dict`` set on ``self.env``'s configuration,
    and the previous values (or their absence) restored afterwards."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            config = self.env._configuration
            before = {key: config.get_string(key, None) for key in config_dict}
            self.env.configure(Configuration.from_dict(dict(config_dict)))
            try:
                return func(self, *args, **kwargs)
            finally:
                for key, value in before.items():
                    if value is None:
                        config.remove_config(key)
                    else:
                        self.env.configure(Configuration.from_dict({key: value}))

        return wrapper

    return decorator


__all__ = ["PyFlinkBatchTableTestCase", "PyFlinkBatchTestCase", "PyFlinkITTestCase", "PyFlinkStreamTableTestCase",
           "PyFlinkStreamingTestCase", "PyFlinkTestCase", "PyFlinkUTTestCase", "PythonAPICompletenessTestCase",
           "run_with_config"]
