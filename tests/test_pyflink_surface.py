"""strom holds PyFlink's public surface: the names, generics and method signatures of
``tests/pyflink_surface.json`` (extracted from PyFlink's wheel by ``tests/tools/pyflink_surface.py``).

For every ``pyflink.X.Name`` of the list:

* the name exists as ``strom.X.Name``;
* a class generic in PyFlink is subscriptable in strom with as many parameters, usable in an
  annotation and as a base class (the subclass instantiates and is still the class);
* every public method (and nested class) PyFlink's class defines exists on strom's class, with
  PyFlink's positional parameters first and in order; strom may add optional ones. PyFlink's
  ``j_*`` parameters (a Java object to wrap) are not compared: strom has no JVM
  (docs/compatibility.md).

Names strom does not provide yet, and deliberate signature differences, are listed below with
their reason; they are ``xfail(strict=True)``, so providing one makes the test say so.
"""
from __future__ import annotations

import importlib
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest

SURFACE = json.loads((Path(__file__).parent / "pyflink_surface.json").read_text())

_WRAPPER = ("PyFlink's constructor wraps a Java object; strom's objects come from their factories "
            "(env.from_collection, WatermarkStrategy.for_..., Time.seconds, ConfigOptions.key, "
            "FileSink.for_row_format, KafkaSource.builder, ...): docs/compatibility.md")

NOT_YET: dict[str, str] = {}
"""``strom.X.Name`` (or ``strom.X.Class.method``) -> why strom lacks it."""

NOT_YET_METHODS: dict[str, str] = {}
"""``strom.X.Class.member`` PyFlink defines that strom's class lacks -> why."""

SIGNATURE_DIFFERENCES: dict[str, str] = {
    "strom.common.CompletableFuture.__init__": _WRAPPER,
    "strom.common.ConfigOptions.OptionBuilder.__init__": _WRAPPER,
    "strom.common.ConfigOptions.TypedConfigOptionBuilder.__init__": _WRAPPER,
    "strom.common.Duration.__init__": _WRAPPER,
    "strom.common.JobClient.__init__": _WRAPPER,
    "strom.common.JobExecutionResult.__init__": _WRAPPER,
    "strom.common.Time.__init__": _WRAPPER,
    "strom.common.WatermarkStrategy.__init__": _WRAPPER,
    "strom.datastream.BroadcastConnectedStream.__init__": _WRAPPER,
    "strom.datastream.DataStream.__init__": _WRAPPER,
    "strom.datastream.DataStreamSink.__init__": _WRAPPER,
    "strom.datastream.KeyedStream.__init__": _WRAPPER,
    "strom.datastream.StreamExecutionEnvironment.__init__": _WRAPPER,
    "strom.datastream.data_stream.CloseableIterator.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileEnumeratorProvider.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileSink.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileSink.BaseBuilder.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileSink.RowFormatBuilder.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileSource.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileSourceBuilder.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.FileSplitAssignerProvider.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.StreamingFileSink.BaseBuilder.__init__": _WRAPPER,
    "strom.datastream.connectors.file_system.StreamingFileSink.DefaultRowFormatBuilder.__init__": _WRAPPER,
    "strom.datastream.connectors.kafka.KafkaOffsetsInitializer.__init__": _WRAPPER,
    "strom.datastream.connectors.kafka.KafkaRecordSerializationSchema.__init__": _WRAPPER,
    "strom.datastream.connectors.kafka.KafkaSink.__init__": _WRAPPER,
    "strom.datastream.connectors.kafka.KafkaSource.__init__": _WRAPPER,
    "strom.datastream.formats.csv.CsvReaderFormat.__init__": _WRAPPER,
    "strom.datastream.formats.csv.CsvSchema.__init__": _WRAPPER,
    "strom.datastream.formats.json.JsonRowDeserializationSchema.__init__": _WRAPPER,
    "strom.datastream.formats.json.JsonRowSerializationSchema.__init__": _WRAPPER,
}
"""``strom.X.Class.method`` whose positional parameters differ from PyFlink's -> why."""


def _strom_module(pyflink_module: str) -> str:
    return "strom" + pyflink_module.removeprefix("pyflink")


def _names() -> list[Any]:
    params = []
    for module, names in SURFACE["modules"].items():
        for name in names:
            path = f"{_strom_module(module)}.{name}"
            marks = ([pytest.mark.xfail(strict=True, reason=NOT_YET[path])]
                     if path in NOT_YET else [])
            params.append(pytest.param(_strom_module(module), name, id=path, marks=marks))
    return params


def _lookup(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _classes() -> list[tuple[str, Any, dict[str, Any]]]:
    """(strom path, strom class, PyFlink entry) for each PyFlink class strom has, nested too."""
    out: list[tuple[str, Any, dict[str, Any]]] = []
    seen: set[int] = set()

    def visit(path: str, cls: Any, entry: dict[str, Any]) -> None:
        out.append((path, cls, entry))
        for inner, inner_entry in entry["nested"].items():
            if hasattr(cls, inner):
                visit(f"{path}.{inner}", getattr(cls, inner), inner_entry)

    for module, names in SURFACE["modules"].items():
        for name, entry in names.items():
            path = f"{_strom_module(module)}.{name}"
            if entry["kind"] != "class" or path in NOT_YET:
                continue
            cls = _lookup(_strom_module(module), name)
            if id(cls) not in seen:
                seen.add(id(cls))
                visit(path, cls, entry)
    return out


CLASSES = _classes()


def test_the_surface_file_holds_pyflinks_facts() -> None:
    assert SURFACE["pyflink_version"].startswith("2.")
    functions = SURFACE["modules"]["pyflink.datastream.functions"]
    assert functions["ProcessWindowFunction"]["generic_params"] == 4
    assert functions["MapFunction"]["generic_params"] == 0  # not generic in PyFlink
    assert [p["name"] for p in functions["MapFunction"]["methods"]["map"]["params"]] == ["value"]


@pytest.mark.parametrize(("module", "name"), _names())
def test_name_exists_under_strom(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is missing"


def _args(n: int) -> Any:
    return (int,) * n if n > 1 else int


def _concrete_subclass(base: Any) -> type:
    """``class UserSubclass(base)`` with every abstract method defined (``base`` may be an alias)."""
    origin = typing.get_origin(base) or base
    abstract = getattr(origin, "__abstractmethods__", frozenset())
    body = {m: (lambda self, *a, **k: None) for m in abstract}
    return types.new_class("UserSubclass", (base,), exec_body=lambda ns: ns.update(body))


@pytest.mark.parametrize(("path", "cls", "count"), [
    pytest.param(path, cls, entry["generic_params"], id=path)
    for path, cls, entry in CLASSES if entry["generic_params"]])
def test_generic_classes_take_pyflinks_parameters(path: str, cls: Any, count: int) -> None:
    alias = cls[_args(count)]
    assert typing.get_origin(alias) is cls and len(typing.get_args(alias)) == count
    with pytest.raises(TypeError):
        cls[_args(count + 1)]

    def annotated(f: alias) -> alias:  # type: ignore[valid-type]
        return f

    assert typing.get_type_hints(annotated, localns={"alias": alias})["f"] == alias
    sub = _concrete_subclass(alias)
    assert issubclass(sub, cls)
    if len(inspect.signature(cls.__init__).parameters) == 1 or cls.__init__ is object.__init__:
        assert isinstance(sub(), cls)


STROM_GENERICS = {
    "MapFunction": 2, "FlatMapFunction": 2, "FilterFunction": 1, "ReduceFunction": 1,
    "AggregateFunction": 3, "KeySelector": 2, "NullByteKeySelector": 1, "Partitioner": 1,
    "CoMapFunction": 3, "CoFlatMapFunction": 3, "ProcessFunction": 2, "KeyedProcessFunction": 3,
    "CoProcessFunction": 3, "KeyedCoProcessFunction": 4, "SinkFunction": 1, "SourceFunction": 1,
}
"""Flink's Java generics that PyFlink's classes lack; strom has them (docs/compatibility.md)."""


@pytest.mark.parametrize(("name", "count"), STROM_GENERICS.items())
def test_user_functions_have_flinks_java_generics(name: str, count: int) -> None:
    cls = _lookup("strom.datastream.functions", name)
    sub = _concrete_subclass(cls[_args(count)])
    assert isinstance(sub(), cls)


def test_a_generic_user_function_runs_in_a_job() -> None:
    from strom.datastream import StreamExecutionEnvironment
    from strom.datastream.functions import MapFunction

    class Length(MapFunction[str, int]):
        def map(self, value: str) -> int:
            return len(value)

    env = StreamExecutionEnvironment.get_execution_environment()
    with env.from_collection(["a", "bcd"]).map(Length()).execute_and_collect() as results:
        assert sorted(results) == [1, 3]


def _members() -> list[Any]:
    params = []
    for path, cls, entry in CLASSES:
        for member, facts in [*entry["methods"].items(),
                              *((n, None) for n in entry["nested"])]:
            full = f"{path}.{member}"
            reason = NOT_YET_METHODS.get(full) or SIGNATURE_DIFFERENCES.get(full)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(cls, member, facts, id=full, marks=marks))
    return params


def _positional(params: list[dict[str, Any]]) -> list[str]:
    return [p["name"] for p in params if p["kind"] == "positional"
            and not p["name"].startswith("j_")]


@pytest.mark.parametrize(("cls", "member", "facts"), _members())
def test_methods_have_pyflinks_parameters(cls: Any, member: str, facts: Any) -> None:
    assert hasattr(cls, member), f"{cls.__qualname__}.{member} is missing"
    if facts is None or facts["kind"] == "property":
        return
    try:
        signature = inspect.signature(getattr(cls, member))
    except (TypeError, ValueError):  # a builtin without a signature (e.g. an Enum's)
        return
    params = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return
    have = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and not p.name.startswith("j_")]
    want = _positional(facts["params"])
    assert [p.name for p in have[:len(want)]] == want, (
        f"{cls.__qualname__}.{member}: PyFlink's positional parameters are {want}, "
        f"strom's {[p.name for p in have]}")
    extra = [p.name for p in params[len(want):] if p.default is p.empty
             and p.kind not in (p.VAR_KEYWORD,)]
    assert not extra, f"{cls.__qualname__}.{member}: strom's extra parameters {extra} need defaults"
