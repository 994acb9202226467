"""Kafka connector pieces that need no broker: partition ownership, picklability, errors."""
from __future__ import annotations

import builtins

import cloudpickle
import pytest

from strom.common.serialization import SimpleStringSchema
from strom.connectors.kafka._common import java_string_hash, split_owner
from strom.datastream.connectors.kafka import (
    DeliveryGuarantee,
    FlinkKafkaConsumer,
    FlinkKafkaProducer,
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)
from strom.errors import StromError


def test_java_string_hash_and_flinks_split_owner():
    assert java_string_hash("test") == 3556498            # "test".hashCode() in Java
    assert java_string_hash("orders-2024") == -1815790872   # checked with a JVM
    assert java_string_hash("é€") == 15587              # UTF-16 code units
    # a topic's partitions go round-robin from the topic's start index
    owners = [split_owner("orders", p, 3) for p in range(6)]
    start = owners[0]
    assert owners == [(start + p) % 3 for p in range(6)]


def test_sources_and_sinks_pickle_without_a_client():
    source = (KafkaSource.builder().set_bootstrap_servers("h:1").set_topics("a", "b")
              .set_starting_offsets(KafkaOffsetsInitializer.latest())
              .set_value_only_deserializer(SimpleStringSchema()).build())
    sink = (KafkaSink.builder().set_bootstrap_servers("h:1")
            .set_record_serializer(KafkaRecordSerializationSchema.builder().set_topic("t")
                                   .set_value_serialization_schema(SimpleStringSchema()).build())
            .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
            .set_transactional_id_prefix("p").build())
    legacy = (FlinkKafkaConsumer("t", SimpleStringSchema(), {"bootstrap.servers": "h:1"}),
              FlinkKafkaProducer("t", SimpleStringSchema(), {"bootstrap.servers": "h:1"}))
    for obj in (source, sink, *legacy):
        assert type(cloudpickle.loads(cloudpickle.dumps(obj))) is type(obj)


def test_missing_client_names_the_extra(monkeypatch):
    from strom.connectors.kafka._common import client

    real_import = builtins.__import__

    def no_kafka(name, *args, **kwargs):
        if name == "confluent_kafka":
            raise ImportError("No module named 'confluent_kafka'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_kafka)
    with pytest.raises(StromError, match=r"pip install 'strom\[kafka\]'"):
        client()
