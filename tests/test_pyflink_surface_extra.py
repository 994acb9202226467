"""What PyFlink's surface does in strom, beyond existing (tests/test_pyflink_surface.py): keys
PyFlink accepts, Configuration's forms, slot sharing groups, custom window assigners written to
PyFlink's signatures, serializers, per-operator settings, and the JVM-only calls that raise
``UnsupportedFeatureError`` naming what to use instead (docs/compatibility.md)."""
from __future__ import annotations

import io
import struct
import warnings
from typing import Any

import pytest

from strom.common import (
    CompletableFuture,
    ConfigOptions,
    Configuration,
    ExecutionConfig,
    JobID,
    Row,
    RowKind,
    Types,
    WatermarkStrategy,
)
from strom.common.serialization import BulkWriterFactory, RowFieldExtractorSchema
from strom.common.serializer import TypeSerializer
from strom.common.watermark_strategy import TimestampAssigner
from strom.datastream import (
    CustomStateBackend,
    MemorySize,
    OutputTag,
    SlotSharingGroup,
    StreamExecutionEnvironment,
)
from strom.datastream.connectors.base import StreamTransformer, SupportsPreprocessing
from strom.datastream.functions import KeyedProcessFunction, ProcessWindowFunction, SinkFunction
from strom.datastream.window import (
    CountWindow,
    CountWindowSerializer,
    EventTimeTrigger,
    GlobalWindow,
    GlobalWindowSerializer,
    TimeWindow,
    TimeWindowSerializer,
    WindowAssigner,
)
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError
from strom.state import MapStateDescriptor
from strom.state.operator_state import OperatorStateStore, redistribute

# -- keys ------------------------------------------------------------------------------------


class KeyAndValue(KeyedProcessFunction):
    def process_element(self, value: Any, ctx: Any) -> Any:
        yield ctx.get_current_key(), value[1]


@pytest.mark.parametrize(("selector", "keys"), [
    (lambda v: [v[0], "x"], [["a", "x"], ["b", "x"], ["a", "x"]]),
    (lambda v: Row(v[0], 1), [Row("a", 1), Row("b", 1), Row("a", 1)]),
    (lambda v: (v[0], (1, [v[0]])), [("a", (1, ["a"])), ("b", (1, ["b"])), ("a", (1, ["a"]))]),
], ids=["list", "row", "nested-tuple-with-a-list"])
def test_keys_pyflink_accepts_reach_functions_unchanged(env: StreamExecutionEnvironment,
                                                        selector: Any, keys: list) -> None:
    env.set_parallelism(2)
    stream = env.from_collection([("a", 1), ("b", 2), ("a", 3)]).key_by(selector)
    with stream.process(KeyAndValue()).execute_and_collect() as results:
        got = sorted(results, key=lambda kv: kv[1])
    assert [k for k, _ in got] == keys
    assert [type(k) for k, _ in got] == [type(k) for k in keys] or all(
        isinstance(k, list) for k, _ in got)  # a list key is a (hashable) list
    counts: dict[str, set] = {}
    for key, _ in got:  # equal keys met in one subtask, as one key
        counts.setdefault(repr(key), set()).add(id(key))
    assert len(counts) == 2


def test_equal_list_keys_share_state() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    stream = env.from_collection([(["k", 1], 1), (["k", 1], 2), (["j"], 5)])
    with stream.key_by(lambda v: v[0][:]).reduce(lambda a, b: (a[0], a[1] + b[1])) \
            .execute_and_collect() as results:
        assert sorted(map(repr, results)) == sorted(map(repr, [
            (["k", 1], 1), (["k", 1], 3), (["j"], 5)]))


# -- Configuration ---------------------------------------------------------------------------


def test_configuration_forms() -> None:
    base = Configuration().set_integer("parallelism.default", 3).set_string("a.b", "c")
    assert Configuration(base).to_dict() == base.to_dict()
    assert Configuration(other=base) == base
    assert Configuration(None).to_dict() == {}
    assert Configuration.from_dict({"n": 4, "flag": True}).get_integer("n", 0) == 4
    with pytest.raises(UnsupportedError, match="j_configuration"):
        Configuration(j_configuration=object())
    with pytest.raises(InvalidTypeError, match="from_dict"):
        Configuration({"a": "b"})  # type: ignore[arg-type]
    env = StreamExecutionEnvironment.get_execution_environment(base)
    assert env.get_parallelism() == 3


def test_configuration_bytes_and_lists() -> None:
    conf = Configuration().set_bytearray("blob", bytearray(b"\x00\xffab"))
    assert conf.get_bytearray("blob", bytearray()) == bytearray(b"\x00\xffab")
    assert conf.get_bytearray("absent", bytearray(b"d")) == bytearray(b"d")
    assert isinstance(conf.to_dict()["blob"], str)
    assert Configuration.parse_list_value("[a.jar, b.jar]") == ["a.jar", "b.jar"]
    assert Configuration.parse_list_value("a.jar;b.jar") == ["a.jar", "b.jar"]
    assert Configuration.parse_list_value("") == []


def test_config_options_are_typed() -> None:
    size = ConfigOptions.key("my.size").int_type().default_value(7)
    name = ConfigOptions.key("my.name").string_type().no_default_value()
    conf = Configuration()
    assert conf.get(size) == 7 and conf.get(name) is None
    conf.set(size, 9).set(name, "x")
    assert conf.get(size) == 9 and conf.get_string("my.size", "") == "9"
    assert size.key() == "my.size" and size.has_default_value() and not name.has_default_value()
    with pytest.raises(InvalidTypeError, match="my.size"):
        conf.set(size, "nine")
    with pytest.raises(InvalidTypeError):
        ConfigOptions.key("my.flag").boolean_type().default_value("yes")


# -- ExecutionConfig and the environment -----------------------------------------------------


@pytest.mark.parametrize("call", ["enable_force_kryo", "enable_force_avro"])
def test_java_serializer_switches_raise_naming_the_call(call: str) -> None:
    with pytest.raises(UnsupportedError, match=call):
        getattr(ExecutionConfig(), call)()


def test_execution_config_reports_strom_state() -> None:
    config = ExecutionConfig().disable_force_kryo().disable_force_avro()
    assert not config.is_force_kryo_enabled() and not config.is_force_avro_enabled()
    assert config.get_registered_kryo_types() == [] and config.get_latency_tracking_interval() == 0
    with pytest.raises(UnsupportedError, match="latency markers"):
        config.set_latency_tracking_interval(1000)
    with pytest.raises(UnsupportedError, match="compress"):
        config.set_use_snapshot_compression(True)
    with pytest.raises(UnsupportedError, match="cooperatively"):
        config.set_task_cancellation_interval(100)
    from strom.api import configuration

    configuration._WARNED_CALLS.discard("ExecutionConfig.disable_generic_types")  # once a process
    with pytest.warns(RuntimeWarning, match="no effect"):
        config.disable_generic_types()
    assert config.has_generic_types_disabled()


def test_disabled_auto_generated_uids_require_a_uid_on_every_operator() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.get_config().disable_auto_generated_uids()
    env.from_collection([1]).uid("source").map(lambda v: v).print()
    with pytest.raises(JobDefinitionError, match="have no uid"):
        env.execute()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.get_config().disable_auto_generated_uids()
    env.from_collection([1]).uid("source").map(lambda v: v).uid("map").print().uid("print")
    env.execute()


def test_the_execution_configs_parallelism_is_the_environments() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.get_config().set_parallelism(3)
    assert env.get_parallelism() == 3
    env.from_collection([1]).map(lambda v: v).print()
    plan = env._job_graph("plan", clear=False)
    assert [v.parallelism for v in plan.vertices] == [1, 3]
    env.set_parallelism(2)
    assert env.get_config().get_parallelism() == 2


def test_environment_settings_map_to_strom() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_default_savepoint_directory("/tmp/savepoints")
    assert env.get_default_savepoint_directory() == "/tmp/savepoints"
    assert env.is_changelog_state_backend_enabled() is None
    env.enable_changelog_state_backend(False)
    assert env.is_changelog_state_backend_enabled() is False
    with pytest.raises(UnsupportedError, match="changelog"):
        env.enable_changelog_state_backend(True)
    assert env.get_checkpointing_consistency_mode() == env.get_checkpointing_mode()
    with pytest.raises(UnsupportedError, match="distributed cache"):
        env.register_cached_file("/tmp/x", "x")
    with pytest.raises(UnsupportedError, match="input formats"):
        env.create_input(object())
    with pytest.raises(UnsupportedError, match="HashMapStateBackend"):
        CustomStateBackend(object())
    with pytest.raises(UnsupportedError, match="for_row_format"):
        BulkWriterFactory(object())
    env.from_collection([1]).print()
    env.close()
    assert env._transformations == {}


@pytest.mark.parametrize("call", [
    lambda: RowKind.INSERT.to_j_row_kind(), lambda: Types.INT().get_java_type_info(),
    lambda: OutputTag("late").get_java_output_tag(),
    lambda: MemorySize(bytes_size=1).get_java_memory_size(),
])
def test_java_object_getters_raise(call: Any) -> None:
    with pytest.raises(UnsupportedError, match="hint"):
        call()


def test_job_client_futures() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1, 2]).print()
    client = env.execute_async("futures")
    result = client.get_job_execution_result()
    assert isinstance(result, CompletableFuture)
    assert result.result(30).get_job_id() == client.get_job_id()
    assert result.done() and result.exception() is None and not result.cancel()
    assert isinstance(client.get_job_id(), JobID) and len(str(client.get_job_id())) == 32
    assert client.get_job_status().result().is_terminal_state()
    assert client.get_accumulators().result(5) == {}


# -- slot sharing groups, per-operator settings ----------------------------------------------


def test_slot_sharing_group_builder_and_operators() -> None:
    group = (SlotSharingGroup.builder("heavy").set_cpu_cores(1.5).set_task_heap_memory_mb(100)
             .set_managed_memory(MemorySize.of_mebi_bytes(3)).set_external_resource("gpu", 1)
             .build())
    assert group.get_name() == "heavy" and group.get_cpu_cores() == 1.5
    assert group.get_task_heap_memory() == MemorySize(bytes_size=100 * 1024 * 1024)
    assert group.get_managed_memory().get_mebi_bytes() == 3
    assert group.get_task_off_heap_memory() is None and group.get_external_resources() == {"gpu": 1}
    assert MemorySize.of_mebi_bytes(1) < MemorySize.of_mebi_bytes(2)
    with pytest.raises(JobDefinitionError, match="both CPU cores and task heap memory"):
        SlotSharingGroup.builder("half").set_cpu_cores(1).build()

    from strom.api import slot_sharing_group

    slot_sharing_group._WARNED.discard("heavy")  # warned once a process
    env = StreamExecutionEnvironment.get_execution_environment()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env.register_slot_sharing_group(group)
        mapped = env.from_collection([1, 2]).map(lambda v: v + 1).slot_sharing_group(group)
    assert any("reserves no CPU or memory" in str(w.message) for w in caught)
    mapped.map(lambda v: v * 10).slot_sharing_group("light").set_description("tens") \
        .set_max_parallelism(64).print()
    assert env._transformation(mapped._id).slot_sharing_group == "heavy"
    plan = env._job_graph("plan", clear=False)
    # source | heavy map | light map + print: different groups are never chained
    assert len(plan.vertices) == 3
    with pytest.raises(InvalidTypeError, match="slot_sharing_group"):
        mapped.slot_sharing_group(3)


def test_set_buffer_timeout_is_validated_and_recorded() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    mapped = env.from_collection([1]).map(lambda v: v).set_buffer_timeout(0)
    assert env._transformation(mapped._id).buffer_timeout == 0
    with pytest.raises(JobDefinitionError, match="set_buffer_timeout"):
        mapped.set_buffer_timeout(-5)


def test_a_per_operator_buffer_timeout_overrides_the_jobs() -> None:
    """Ordered events, not timing (see tests/test_buffer_timeout.py): the job flushes only when
    full, but the map's timeout 0 hands its records over almost one by one."""
    from tests.test_buffer_timeout import EVENTS, Record, slow

    def produced_before_first_consumed(timeout: int | None) -> int:
        EVENTS.clear()
        env = StreamExecutionEnvironment.get_execution_environment()
        env.set_buffer_timeout(-1)
        mapped = env.from_collection(list(range(200))).map(slow)
        if timeout is not None:
            mapped.set_buffer_timeout(timeout)
        mapped.rebalance().add_sink(Record()).set_parallelism(2)
        env.execute()
        first = EVENTS.index(next(e for e in EVENTS if e[0] == "consumed"))
        return sum(1 for kind, _ in EVENTS[:first] if kind == "produced")

    assert produced_before_first_consumed(None) == 200
    assert produced_before_first_consumed(0) < 20


# -- window assigners and serializers ----------------------------------------------------------


class Tens(WindowAssigner[tuple, TimeWindow]):
    """Written to PyFlink's signatures, get_default_trigger(env) included."""

    def assign_windows(self, element: tuple, timestamp: int, context: Any) -> list[TimeWindow]:
        start = timestamp - timestamp % 10
        return [TimeWindow(start, start + 10)]

    def get_default_trigger(self, env: Any) -> EventTimeTrigger:
        assert isinstance(env, StreamExecutionEnvironment)
        return EventTimeTrigger()

    def get_window_serializer(self) -> TypeSerializer[TimeWindow]:
        return TimeWindowSerializer()

    def is_event_time(self) -> bool:
        return True


class Second(TimestampAssigner):
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        return value[1]


class CountPerWindow(ProcessWindowFunction):
    def process(self, key: Any, context: Any, elements: Any) -> Any:
        yield key, context.window().start, len(list(elements))


def test_a_custom_window_assigner_with_pyflinks_signatures(env: StreamExecutionEnvironment
                                                           ) -> None:
    stream = env.from_collection([("a", 1), ("a", 5), ("b", 12), ("a", 15)]) \
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(Second()))
    with stream.key_by(lambda v: v[0]).window(Tens()).process(CountPerWindow()) \
            .execute_and_collect() as results:
        assert sorted(results) == [("a", 0, 2), ("a", 10, 1), ("b", 10, 1)]


def _roundtrip(serializer: TypeSerializer, value: Any) -> tuple[bytes, Any]:
    out = io.BytesIO()
    serializer.serialize(value, out)
    return out.getvalue(), serializer.deserialize(io.BytesIO(out.getvalue()))


def test_window_serializers_write_pyflinks_bytes() -> None:
    data, back = _roundtrip(TimeWindowSerializer(), TimeWindow(-5, 10))
    assert data == struct.pack(">qq", -5, 10) and back == TimeWindow(-5, 10)
    data, back = _roundtrip(CountWindowSerializer(), CountWindow(7))
    assert data == struct.pack(">q", 7) and back == CountWindow(7)
    data, back = _roundtrip(GlobalWindowSerializer(), GlobalWindow.get())
    assert data == b"\x00" and back == GlobalWindow.get()
    with pytest.raises(InvalidTypeError, match="expected 16 bytes"):
        TimeWindowSerializer().deserialize(io.BytesIO(b"\x00"))
    assert TimeWindowSerializer() == TimeWindowSerializer()


def test_a_user_serializer_subclasses_type_serializer() -> None:
    class Utf8(TypeSerializer[str]):
        def serialize(self, element: str, stream: io.BytesIO) -> None:
            data = element.encode()
            stream.write(struct.pack(">i", len(data)) + data)

        def deserialize(self, stream: io.BytesIO) -> str:
            (size,) = struct.unpack(">i", stream.read(4))
            return stream.read(size).decode()

    assert _roundtrip(Utf8(), "héllo")[1] == "héllo"
    with pytest.raises(TypeError):
        TypeSerializer()  # type: ignore[abstract]


# -- sinks, schemas, operator broadcast state --------------------------------------------------


class Collected(SinkFunction):
    values: list = []

    def invoke(self, value: Any, context: Any = None) -> None:
        Collected.values.append(value)


class UpperFirst(StreamTransformer):
    def apply(self, ds: Any) -> Any:
        return ds.map(str.upper)


class PreprocessingSink(Collected, SupportsPreprocessing):
    def get_transformer(self) -> StreamTransformer:
        return UpperFirst()


def test_sink_to_applies_a_sinks_preprocessing() -> None:
    Collected.values = []
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection(["a", "b"]).sink_to(PreprocessingSink())
    env.execute()
    assert sorted(Collected.values) == ["A", "B"]


def test_row_field_extractor_schema() -> None:
    schema = RowFieldExtractorSchema(1)
    assert schema.serialize(Row(b"k", b"v")) == b"v"
    with pytest.raises(InvalidTypeError, match="expected bytes"):
        schema.serialize(Row(b"k", "v"))
    with pytest.raises(JobDefinitionError):
        RowFieldExtractorSchema(-1)


def test_operator_broadcast_state_is_copied_to_new_subtasks() -> None:
    store = OperatorStateStore()
    rules = store.get_broadcast_state(MapStateDescriptor("rules", Types.STRING(), Types.INT()))
    rules.put("a", 1)
    rules.put_all({"b": 2})
    assert store.get_broadcast_state(MapStateDescriptor("rules", None, None)) is rules
    parts = redistribute([store.snapshot(), store.snapshot()], 3)
    for part in parts:
        restored = OperatorStateStore()
        restored.restore(part)
        state = restored.get_broadcast_state(MapStateDescriptor("rules", None, None))
        assert dict(state.items()) == {"a": 1, "b": 2}
    with pytest.raises(InvalidTypeError, match="MapStateDescriptor"):
        store.get_broadcast_state("rules")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="operator broadcast state 'rules' value"):
        rules.put("c", "three")  # the descriptor declares INT values
    with pytest.raises(InvalidTypeError, match="operator broadcast state 'rules' key"):
        rules.put_all({3: 3})
