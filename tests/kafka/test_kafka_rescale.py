"""A Kafka -> Kafka exactly-once job stopped with a savepoint at parallelism 2 and restored at
parallelism 3 and 1: the partitions move to their new owners with their offsets, the sink's
transactions of the savepoint stay committed, and every record is in the output exactly once."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from strom.common import WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.common.serialization import SimpleStringSchema
from strom.datastream.connectors.kafka import (
    DeliveryGuarantee,
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)
from tests.kafka.kafka_util import produce, read_all

pytestmark = pytest.mark.kafka

N = 4000


class Slow:
    def __call__(self, value: Any) -> Any:
        time.sleep(0.001)
        return value


def job(env: Any, servers: str, src: str, dst: str, parallelism: int, bounded: bool) -> None:
    env.set_parallelism(parallelism)
    env.enable_checkpointing(100)
    builder = (KafkaSource.builder().set_bootstrap_servers(servers).set_topics(src)
               .set_starting_offsets(KafkaOffsetsInitializer.earliest())
               .set_value_only_deserializer(SimpleStringSchema()))
    if bounded:
        builder.set_bounded(KafkaOffsetsInitializer.latest())
    sink = (KafkaSink.builder().set_bootstrap_servers(servers)
            .set_record_serializer(KafkaRecordSerializationSchema.builder().set_topic(dst)
                                   .set_value_serialization_schema(SimpleStringSchema()).build())
            .set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
            .set_transactional_id_prefix(dst).build())
    (env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), "in").uid("kafka-in")
        .map(Slow()).uid("slow")
        .sink_to(sink).uid("kafka-out"))


@pytest.mark.parametrize("new_parallelism", [3, 1])
def test_restore_from_a_savepoint_at_another_parallelism(executor, kafka_broker, new_topic, tmp_path,
                                                          new_parallelism):
    from strom.datastream import StreamExecutionEnvironment

    servers, src, dst = kafka_broker.bootstrap_servers, new_topic(4), new_topic(2)
    produce(servers, src, ((None, str(i), i % 4) for i in range(N)))
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    job(env, servers, src, dst, 2, bounded=False)
    client = env.execute_async("first")
    deadline = time.monotonic() + 60  # until a good part was written (transactions open)
    while len(read_all(servers, dst, 2, committed_only=False)) < 500 and time.monotonic() < deadline:
        time.sleep(0.2)
    path = client.stop_with_savepoint(False, str(tmp_path)).result(60)
    client.wait(60)
    before = len(read_all(servers, dst, 2))
    assert 0 < before < N, f"{before} records written before the savepoint"
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.get_checkpoint_config().restore_path = path
    env.set_restart_strategy(RestartStrategies.no_restart())
    job(env, servers, src, dst, new_parallelism, bounded=True)
    env.execute("restored")
    seen = Counter(int(v) for *_, v in read_all(servers, dst, 2))
    assert seen == Counter(range(N)), (f"missing {len(set(range(N)) - set(seen))}, "
                                       f"duplicated {sum(c - 1 for c in seen.values() if c > 1)}")
