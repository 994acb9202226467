"""Helpers for tests/test_pyflink_parity.py: the parts of PyFlink's test harness that strom lacks.

PyFlink's DataStream tests collect with ``DataStreamTestSinkFunction`` (a Java sink,
``org.apache.flink.python.util.DataStreamTestCollectSink``). ``get_results(False)`` returns each
record's Java ``toString`` (``+I[a, 1]`` for a Row, ``(a,1)`` for a Tuple, ``3`` for an Integer);
``get_results(True)`` unpickles untyped records and returns Python's ``str`` of them
(``<Row('a', 1)>``, ``('a', 1)``). :class:`ParitySink` gives the same two views of what strom
collected, so the expected strings of PyFlink's tests can be kept as they are.
"""
from __future__ import annotations

from typing import Any

from strom.api.java_strings import java_to_string  # the Java toString strom's own sinks write
from strom.testing import CollectSink


class ParitySink:
    """A stand-in for PyFlink's ``DataStreamTestSinkFunction``.

    Use ``sink.attach(ds)`` where PyFlink writes ``ds.add_sink(test_sink)``: it remembers the
    stream's declared type, which decides the Java ``toString`` of each record.
    """

    def __init__(self) -> None:
        self._sink = CollectSink()
        self._type: Any = None

    def attach(self, ds: Any) -> Any:
        self._type = ds.get_type()
        return ds.add_sink(self._sink)

    @property
    def values(self) -> list[Any]:
        return self._sink.values

    def get_results(self, is_python_object: bool = False, stringify: bool | None = None) -> list[str]:
        """Java ``toString`` of each record, or (``is_python_object``) Python's ``str``."""
        if stringify is not None:  # the older keyword of the same sink
            is_python_object = stringify
        if is_python_object:
            return [str(v) for v in self._sink.values]
        return [java_to_string(v, self._type) for v in self._sink.values]

    def clear(self) -> None:
        self._sink.release()


def sorted_by_str(values: list[Any]) -> list[Any]:
    """``CommonDataStreamTests.assert_equals_sorted``: sort by ``str`` (values may mix types)."""
    return sorted(values, key=str)
