"""KafkaSource against a real broker: starting offsets, per-partition watermarks with an idle
partition, dead letters, partition discovery, the older FlinkKafkaConsumer, errors."""
from __future__ import annotations

import queue
import threading
import time
import uuid
from typing import Any

import pytest

from strom.common import Duration, Types, WatermarkStrategy
from strom.common.serialization import ByteArraySchema, SimpleStringSchema
from strom.datastream.connectors.kafka import (
    DeadLetterPolicy,
    FlinkKafkaConsumer,
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaSource,
    KafkaTopicPartition,
)
from strom.datastream.window import TumblingEventTimeWindows
from strom.errors import JobDefinitionError, StromError
from tests.kafka.kafka_util import produce

pytestmark = pytest.mark.kafka


def source(servers: str, topic: str, **kw: Any) -> KafkaSource:
    builder = (KafkaSource.builder().set_bootstrap_servers(servers).set_topics(topic)
               .set_value_only_deserializer(kw.pop("schema", SimpleStringSchema())))
    builder.set_starting_offsets(kw.pop("start", KafkaOffsetsInitializer.earliest()))
    if kw.pop("bounded", True):
        builder.set_bounded(KafkaOffsetsInitializer.latest())
    for name, value in kw.items():
        getattr(builder, f"set_{name}")(value)
    return builder.build()


def test_reads_every_partition_once_at_any_parallelism(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(4)
    produce(servers, topic, ((None, str(i), i % 4) for i in range(5000)))
    for parallelism in (1, 3):
        env.set_parallelism(parallelism)
        stream = env.from_source(source(servers, topic), WatermarkStrategy.no_watermarks(), "k")
        assert sorted(int(v) for v in stream.execute_and_collect()) == list(range(5000))


def test_starting_offsets(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(2)
    produce(servers, topic, ((None, f"a{i}", i % 2) for i in range(10)))
    middle = int(time.time() * 1000)
    time.sleep(0.05)
    produce(servers, topic, ((None, f"b{i}", i % 2) for i in range(10)))

    def read(start: KafkaOffsetsInitializer, group: str = "g-start") -> list[str]:
        s = source(servers, topic, start=start, group_id=group)
        return sorted(env.from_source(s, WatermarkStrategy.no_watermarks(), "k").execute_and_collect())

    assert len(read(KafkaOffsetsInitializer.earliest())) == 20
    assert read(KafkaOffsetsInitializer.latest()) == []
    assert read(KafkaOffsetsInitializer.timestamp(middle)) == sorted(f"b{i}" for i in range(10))
    given = {KafkaTopicPartition(topic, 0): 8, KafkaTopicPartition(topic, 1): 9}
    assert read(KafkaOffsetsInitializer.offsets(given)) == ["b6", "b8", "b9"]
    # no committed offsets yet: the reset strategy decides; NONE fails naming the group
    assert len(read(KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST),
                    "fresh-group")) == 20
    with pytest.raises(StromError, match="no offset is committed.*other-group"):
        read(KafkaOffsetsInitializer.committed_offsets(), "other-group")


def test_offsets_are_committed_on_checkpoints_and_read_by_committed_offsets(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(2)
    produce(servers, topic, ((None, str(i), i % 2) for i in range(100)))
    env.enable_checkpointing(50)
    s = source(servers, topic, group_id="committer")
    assert len(list(env.from_source(s, WatermarkStrategy.no_watermarks(), "k").execute_and_collect())) == 100
    produce(servers, topic, ((None, str(i), i % 2) for i in range(100, 110)))
    again = source(servers, topic, group_id="committer",
                   start=KafkaOffsetsInitializer.committed_offsets())
    rest = env.from_source(again, WatermarkStrategy.no_watermarks(), "k").execute_and_collect()
    assert sorted(int(v) for v in rest) == list(range(100, 110))


def collect_async(stream: Any) -> tuple[queue.Queue, Any]:
    """Run the job; its results arrive in the returned queue (the iterator to close it)."""
    results: queue.Queue = queue.Queue()
    it = stream.execute_and_collect()

    def pump() -> None:
        try:
            for value in it:
                results.put(value)
        except Exception as exc:  # the test sees it
            results.put(exc)

    threading.Thread(target=pump, daemon=True).start()
    return results, it


def drain(results: queue.Queue, expect: int, quiet: float = 1.0, limit: float = 60.0) -> list[Any]:
    """Wait (up to ``limit`` s) for ``expect`` results, then take whatever else arrives until
    nothing came for ``quiet`` seconds (so extra results are seen, a slow start is not fatal)."""
    out, deadline = [], time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            item = results.get(timeout=quiet if len(out) >= expect else 0.2)
        except queue.Empty:
            if len(out) >= expect:
                return out
            continue
        if isinstance(item, Exception):
            raise item
        out.append(item)
    return out


def test_watermarks_per_partition_with_an_idle_partition(env, kafka_broker, new_topic):
    """Partition 0 is at 9.9 s of event time, partition 1 at 4.9 s, partition 2 has no data.
    Per-partition watermarks with idleness: the watermark is 4899 (partition 1 holds it back,
    the idle partition does not), so the windows up to 4 s fire, and no later one until
    partition 1 catches up. A single watermark over the whole source would fire windows up to
    9 s; without idleness nothing would fire. Partitions 0 and 1 get heartbeats (timestamp 0,
    filtered out after the source) so that only partition 2 is idle."""
    servers, topic = kafka_broker.bootstrap_servers, new_topic(3)
    produce(servers, topic, [(None, f"a,{t}", 0) for t in range(0, 10_000, 100)]
            + [(None, f"b,{t}", 1) for t in range(0, 5_000, 100)])
    stop = threading.Event()

    def heartbeats() -> None:
        while not stop.wait(0.1):
            produce(servers, topic, [(None, "h,0", 0), (None, "h,0", 1)])

    beating = threading.Thread(target=heartbeats, daemon=True)
    beating.start()
    env.set_parallelism(1)
    env.get_config().set_auto_watermark_interval(50)
    strategy = (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(0))
                .with_timestamp_assigner(lambda line, ts: int(line.split(",")[1]))
                .with_idleness(Duration.of_millis(500)))
    counts = (env.from_source(source(servers, topic, bounded=False), strategy, "events")
              .filter(lambda line: not line.startswith("h,"))
              .map(lambda line: (line.split(",")[0], 1),
                   output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
              .key_by(lambda kv: kv[0])
              .window(TumblingEventTimeWindows.of(Duration.of_seconds(1)))
              .process(WindowCount()))
    results, it = collect_async(counts)
    try:
        first = drain(results, 8, quiet=2.0)
        assert sorted(first) == [(k, w * 1000, 10) for k in "ab" for w in range(4)]
        produce(servers, topic, [(None, f"b,{t}", 1) for t in range(5_000, 10_000, 100)])
        second = drain(results, 10, quiet=2.0)
        assert sorted(second) == [(k, w * 1000, 10) for k in "ab" for w in range(4, 9)]
    finally:
        stop.set()
        it.close()
        beating.join(5)


class WindowCount:
    """(key, window start, count) per window (a ProcessWindowFunction)."""

    def process(self, key: Any, context: Any, elements: Any) -> Any:
        yield key, context.window().start, sum(1 for _ in elements)

    def clear(self, context: Any) -> None:
        """Nothing kept per window."""

    def open(self, runtime_context: Any) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""


def test_malformed_record_goes_to_the_dead_letter_output_with_its_offset(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(1)
    produce(servers, topic, [(None, b"1", 0), (None, b"2", 0), (b"k", b"\xff\xfe", 0), (None, b"4", 0)])
    stream = env.from_source(source(servers, topic), WatermarkStrategy.no_watermarks(), "k")
    dead = stream.get_side_output(KafkaSource.DEAD_LETTER)
    both = stream.map(lambda v: ("ok", v)).union(
        dead.map(lambda d: ("dead", d.topic, d.partition, d.offset, d.key, d.value, d.reason)))
    out = sorted(both.execute_and_collect(), key=str)
    assert [o for o in out if o[0] == "ok"] == [("ok", "1"), ("ok", "2"), ("ok", "4")]
    [letter] = [o for o in out if o[0] == "dead"]
    assert letter[1:6] == (topic, 0, 2, b"k", b"\xff\xfe")
    assert "UnicodeDecodeError" in letter[6]


def test_dead_letter_policies_skip_and_fail(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(1)
    produce(servers, topic, [(None, b"1", 0), (None, b"\xff", 0), (None, b"3", 0)])
    skip = source(servers, topic, dead_letter_policy=DeadLetterPolicy.SKIP)
    assert sorted(env.from_source(skip, WatermarkStrategy.no_watermarks(), "k").execute_and_collect()) == ["1", "3"]
    fail = source(servers, topic, dead_letter_policy=DeadLetterPolicy.FAIL)
    with pytest.raises(StromError, match=f"topic '{topic}', partition 0, offset 1"):
        list(env.from_source(fail, WatermarkStrategy.no_watermarks(), "k").execute_and_collect())


def test_raw_bytes_and_a_user_deserialization_schema(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(1)
    produce(servers, topic, [(None, b"\x00\x01", 0), (None, b"\x02", 0)])
    raw = source(servers, topic, schema=ByteArraySchema())
    assert list(env.from_source(raw, WatermarkStrategy.no_watermarks(), "k").execute_and_collect()) == [b"\x00\x01", b"\x02"]

    class Length:
        def deserialize(self, message: bytes) -> int:
            return len(message)

    lengths = source(servers, topic, schema=Length())
    assert list(env.from_source(lengths, WatermarkStrategy.no_watermarks(), "k").execute_and_collect()) == [2, 1]


def test_partition_discovery_picks_up_new_topics(env, kafka_broker, new_topic):
    servers = kafka_broker.bootstrap_servers
    family = f"disc{uuid.uuid4().hex[:6]}"
    first = new_topic(1, family)
    produce(servers, first, [(None, "x1", 0)])
    s = (KafkaSource.builder().set_bootstrap_servers(servers)
         .set_topic_pattern(family + "-.*")
         .set_value_only_deserializer(SimpleStringSchema())
         .set_property("partition.discovery.interval.ms", "100").build())
    env.set_parallelism(1)
    results, it = collect_async(env.from_source(s, WatermarkStrategy.no_watermarks(), "k"))
    try:
        assert drain(results, 1) == ["x1"]
        second = new_topic(2, family)
        produce(servers, second, [(None, "y1", 0), (None, "y2", 1)])
        assert sorted(drain(results, 2)) == ["y1", "y2"]
    finally:
        it.close()


def test_flink_kafka_consumer_with_add_source(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(2)
    produce(servers, topic, ((None, str(i), i % 2) for i in range(20)))
    consumer = FlinkKafkaConsumer(topic, SimpleStringSchema(),
                                  {"bootstrap.servers": servers, "group.id": "legacy"})
    consumer.set_start_from_earliest()
    results, it = collect_async(env.add_source(consumer))
    try:
        assert sorted(int(v) for v in drain(results, 20)) == list(range(20))
    finally:
        it.close()


def test_unreachable_broker_is_a_clear_error_after_bounded_retries(env):
    s = (KafkaSource.builder().set_bootstrap_servers("127.0.0.1:1").set_topics("t")
         .set_value_only_deserializer(SimpleStringSchema())
         .set_property("strom.connect.timeout.ms", "1500").build())
    started = time.monotonic()
    with pytest.raises(StromError, match="no Kafka broker answered at bootstrap.servers='127.0.0.1:1'"):
        env.from_source(s, WatermarkStrategy.no_watermarks(), "k").execute_and_collect(limit=1)
    assert time.monotonic() - started < 30


def test_builder_errors_name_what_is_missing():
    with pytest.raises(JobDefinitionError, match="no bootstrap servers"):
        KafkaSource.builder().set_topics("t").build()
    with pytest.raises(JobDefinitionError, match="no deserializer"):
        KafkaSource.builder().set_bootstrap_servers("h:1").set_topics("t").build()
    with pytest.raises(JobDefinitionError, match="set_group_id"):
        (KafkaSource.builder().set_bootstrap_servers("h:1").set_topics("t")
         .set_value_only_deserializer(SimpleStringSchema())
         .set_starting_offsets(KafkaOffsetsInitializer.committed_offsets()).build())


def test_json_rows_round_trip_and_a_malformed_message(env, kafka_broker, new_topic):
    from strom.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink
    from strom.datastream.formats.json import (
        JsonRowDeserializationSchema,
        JsonRowSerializationSchema,
    )

    servers, topic = kafka_broker.bootstrap_servers, new_topic(1)
    row_type = Types.ROW_NAMED(["id", "name"], [Types.LONG(), Types.STRING()])
    serializer = (KafkaRecordSerializationSchema.builder().set_topic(topic)
                  .set_value_serialization_schema(
                      JsonRowSerializationSchema.builder().with_type_info(row_type).build()).build())
    env.from_collection([(1, "a"), (2, "b")]).sink_to(
        KafkaSink.builder().set_bootstrap_servers(servers).set_record_serializer(serializer).build())
    env.execute("json out")
    produce(servers, topic, [(None, b'{"id": "x"}', 0), (None, b"not json", 0)])
    schema = JsonRowDeserializationSchema.builder().type_info(row_type).build()
    stream = env.from_source(source(servers, topic, schema=schema), WatermarkStrategy.no_watermarks(), "j")
    both = stream.map(lambda r: ("ok", r.id, r.name)).union(
        stream.get_side_output(KafkaSource.DEAD_LETTER).map(lambda d: ("dead", d.offset, d.value)))
    out = sorted(both.execute_and_collect(), key=str)
    assert out == [("dead", 2, b'{"id": "x"}'), ("dead", 3, b"not json"), ("ok", 1, "a"), ("ok", 2, "b")]
    lenient = JsonRowDeserializationSchema.builder().type_info(row_type).ignore_parse_errors().build()
    rows = env.from_source(source(servers, topic, schema=lenient), WatermarkStrategy.no_watermarks(), "j")
    assert sorted(r.id for r in rows.execute_and_collect()) == [1, 2]
