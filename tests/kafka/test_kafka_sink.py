"""KafkaSink and FlinkKafkaProducer against a real broker: topics, keys, partitions, timestamps,
the delivery guarantees at the end of a bounded job."""
from __future__ import annotations

import pytest

from strom.common.serialization import SimpleStringSchema
from strom.datastream.connectors import FlinkKafkaProducer
from strom.datastream.connectors.kafka import (
    DeliveryGuarantee,
    FlinkKafkaPartitioner,
    KafkaRecordSerializationSchema,
    KafkaSink,
    Semantic,
)
from strom.errors import JobDefinitionError
from tests.kafka.kafka_util import read_all

pytestmark = pytest.mark.kafka


class Mod(FlinkKafkaPartitioner):
    def partition(self, record, key, value, target_topic, partitions):
        return partitions[int(record) % len(partitions)]


@pytest.mark.parametrize("guarantee", list(DeliveryGuarantee))
def test_sink_writes_every_record_with_key_and_partitioner(env, kafka_broker, new_topic, guarantee):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(3)
    env.set_parallelism(2)
    env.enable_checkpointing(50)
    serializer = (KafkaRecordSerializationSchema.builder().set_topic(topic)
                  .set_key_serialization_schema(SimpleStringSchema())
                  .set_value_serialization_schema(SimpleStringSchema())
                  .set_partitioner(Mod()).build())
    sink = (KafkaSink.builder().set_bootstrap_servers(servers).set_record_serializer(serializer)
            .set_delivery_guarantee(guarantee).set_transactional_id_prefix(f"p-{topic}")
            .set_property("linger.ms", "1").build())
    env.from_collection([str(i) for i in range(3000)]).sink_to(sink)
    env.execute("sink")
    records = read_all(servers, topic, 3)
    assert sorted(int(v) for _, _, _, v in records) == list(range(3000))
    assert all(int(v) % 3 == p and k == v for p, _, k, v in records)


def test_topic_selector(env, kafka_broker, new_topic):
    servers = kafka_broker.bootstrap_servers
    even, odd = new_topic(1), new_topic(1)
    serializer = (KafkaRecordSerializationSchema.builder()
                  .set_topic_selector(lambda v: even if int(v) % 2 == 0 else odd)
                  .set_value_serialization_schema(SimpleStringSchema()).build())
    env.from_collection([str(i) for i in range(10)]).sink_to(
        KafkaSink.builder().set_bootstrap_servers(servers).set_record_serializer(serializer).build())
    env.execute("selector")
    assert sorted(v for *_, v in read_all(servers, even, 1)) == [b"0", b"2", b"4", b"6", b"8"]
    assert sorted(v for *_, v in read_all(servers, odd, 1)) == [b"1", b"3", b"5", b"7", b"9"]


def test_flink_kafka_producer_with_add_sink_writes_one_partition_per_subtask(env, kafka_broker, new_topic):
    servers, topic = kafka_broker.bootstrap_servers, new_topic(4)
    env.set_parallelism(2)
    producer = FlinkKafkaProducer(topic, SimpleStringSchema(), {"bootstrap.servers": servers})
    env.from_collection([str(i) for i in range(100)]).rebalance().add_sink(producer)
    env.execute("legacy producer")
    records = read_all(servers, topic, 4)
    assert sorted(int(v) for *_, v in records) == list(range(100))
    assert {p for p, *_ in records} == {0, 1}  # FlinkFixedPartitioner: subtask i -> partition i


def test_exactly_once_needs_a_transactional_id_prefix():
    serializer = (KafkaRecordSerializationSchema.builder().set_topic("t")
                  .set_value_serialization_schema(SimpleStringSchema()).build())
    with pytest.raises(JobDefinitionError, match="set_transactional_id_prefix"):
        (KafkaSink.builder().set_bootstrap_servers("h:1").set_record_serializer(serializer)
         .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE).build())
    with pytest.raises(JobDefinitionError, match="no value serialization schema"):
        KafkaRecordSerializationSchema.builder().set_topic("t").build()
    assert FlinkKafkaProducer("t", SimpleStringSchema(), {"bootstrap.servers": "h:1"},
                              semantic=Semantic.EXACTLY_ONCE).guarantee is DeliveryGuarantee.EXACTLY_ONCE
