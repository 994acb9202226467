"""Exactly-once Kafka -> keyed state -> Kafka under injected failures, against a real broker.

A bounded KafkaSource reads ``key,i`` records from 4 partitions; a KeyedProcessFunction counts
per key in ValueState and writes ``key:count``; an EXACTLY_ONCE KafkaSink writes them in
transactions tied to checkpoints. User code fails at chosen records (once each: a marker file
remembers it, so this works whatever process the task runs in); the restart strategy restores
the newest checkpoint. A ``read_committed`` consumer must then see every ``key:count`` exactly
once: a lost or replayed state update, a record read twice, or a transaction committed twice
or not at all, changes the multiset.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from strom.common import WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.common.serialization import SimpleStringSchema
from strom.connectors.kafka._transactions import TransactionPool
from strom.datastream.connectors.kafka import (
    DeliveryGuarantee,
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)
from strom.datastream.functions import KeyedProcessFunction
from strom.state import ValueStateDescriptor
from tests.kafka.kafka_util import produce, read_all

pytestmark = pytest.mark.kafka

N, KEYS = 30_000, 10


class FailOnce:
    """Raises at each chosen record the first time it is seen (a marker file per point)."""

    def __init__(self, directory: Path, points: list[int]) -> None:
        self.directory, self.points = str(directory), frozenset(points)

    def check(self, i: int) -> None:
        if i in self.points:
            try:
                os.close(os.open(os.path.join(self.directory, f"fired-{i}"),
                                 os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            raise RuntimeError(f"injected failure at record {i}")

    def fired(self) -> int:
        return len([p for p in os.listdir(self.directory) if p.startswith("fired-")])


class Count(KeyedProcessFunction):
    def __init__(self, failures: FailOnce) -> None:
        self.failures = failures

    def open(self, runtime_context: Any) -> None:
        self.count = runtime_context.get_state(ValueStateDescriptor("count", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        key, i = value
        self.failures.check(i)
        n = (self.count.value() or 0) + 1
        self.count.update(n)
        yield f"{key}:{n}"


def pipeline(env: Any, servers: str, source_topic: str, sink_topic: str, prefix: str,
             failures: FailOnce, middle: Any = None) -> None:
    """Kafka -> parse -> (``middle``, a map) -> count per key -> EXACTLY_ONCE Kafka."""
    source = (KafkaSource.builder().set_bootstrap_servers(servers).set_topics(source_topic)
              .set_group_id(prefix).set_starting_offsets(KafkaOffsetsInitializer.earliest())
              .set_bounded(KafkaOffsetsInitializer.latest())
              .set_value_only_deserializer(SimpleStringSchema()).build())
    sink = (KafkaSink.builder().set_bootstrap_servers(servers)
            .set_record_serializer(KafkaRecordSerializationSchema.builder().set_topic(sink_topic)
                                   .set_value_serialization_schema(SimpleStringSchema()).build())
            .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
            .set_transactional_id_prefix(prefix).build())
    parsed = (env.from_source(source, WatermarkStrategy.no_watermarks(), "numbers")
              .map(lambda line: (int(line.split(",")[0]), int(line.split(",")[1]))))
    if middle is not None:
        parsed = parsed.map(middle)
    (parsed
        .key_by(lambda kv: kv[0])
        .process(Count(failures))
        .sink_to(sink))


@pytest.mark.parametrize("parallelism", [1, 2])
def test_exactly_once_through_failures(env, kafka_broker, new_topic, tmp_path, parallelism):
    servers = kafka_broker.bootstrap_servers
    source_topic, sink_topic = new_topic(4, "eo-in"), new_topic(2, "eo-out")
    produce(servers, source_topic, ((None, f"{i % KEYS},{i}", i % 4) for i in range(N)))
    env.set_parallelism(parallelism)
    env.enable_checkpointing(100)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(10, 0))
    failures = FailOnce(tmp_path, [4_000, 13_000, 22_000])
    pipeline(env, servers, source_topic, sink_topic, os.path.basename(sink_topic), failures)
    env.execute("kafka exactly once")
    assert failures.fired() == 3
    seen = Counter(value.decode() for _, _, _, value in read_all(servers, sink_topic, 2))
    expected = Counter(f"{k}:{c}" for k in range(KEYS) for c in range(1, N // KEYS + 1))
    assert seen == expected, (f"missing {sum((expected - seen).values())}, "
                              f"duplicated {sum((seen - expected).values())}")


def test_restore_fences_a_restored_transaction_slot_reused_after_its_commit(kafka_broker, new_topic):
    """The restored checkpoint's transaction was committed before the failure, and its slot then
    went on to a newer transaction, pre-committed at a checkpoint that never completed. The
    restore must abort that newer transaction and begin afresh in the slot, not reuse the
    producer mid-transaction (librdkafka: "Operation not valid in state InTransaction")."""
    servers, topic = kafka_broker.bootstrap_servers, new_topic(1, "eo-slot")
    conf = {"bootstrap.servers": servers, "log_level": 3}
    prefix = os.path.basename(topic)

    def attempt(restored: list[dict]) -> TransactionPool:
        pool = TransactionPool(confluent_kafka, conf, prefix, 0, servers)
        pool.recover(restored, 1)
        return pool

    first = attempt([])
    first.begin().produce(topic, b"checkpoint 1")        # slot 0
    first.pre_commit(1).produce(topic, b"checkpoint 2")  # slot 1
    restored = [first.state()]                           # checkpoint 1 completes: slot 0 pending
    first.commit_up_to(1)                                # ... and is committed; slot 0 is free
    first.pre_commit(2).produce(topic, b"checkpoint 3")  # slot 0 again
    first.pre_commit(3).produce(topic, b"never")         # slot 2; checkpoints 2 and 3 never complete
    first.close()                                        # the failure

    second = attempt(restored)                           # restores checkpoint 1
    second.begin().produce(topic, b"after restore")
    second.finishing = True
    second.pre_commit(4)
    second.commit_up_to(4)
    assert sorted(v for *_, v in read_all(servers, topic, 1)) == [b"after restore", b"checkpoint 1"]
