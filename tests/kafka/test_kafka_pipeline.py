"""Whole pipelines on the real broker: 1M records of a 4-partition topic counted per key in
event-time windows at parallelism 1 and 2, and a broker restart in the middle of an
exactly-once job."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest

from strom.common import Duration, Types, WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.common.serialization import SimpleStringSchema
from strom.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource
from strom.datastream.window import TumblingEventTimeWindows
from tests.kafka.kafka_util import produce, read_all
from tests.kafka.test_kafka_exactly_once import KEYS, FailOnce, pipeline

pytestmark = pytest.mark.kafka

KEY_COUNT, WINDOW_MS = 100, 1000


def windowed_counts(env: Any, servers: str, topic: str) -> list[tuple[str, int, int]]:
    """Sorted ``(key, window index, count)`` from a bounded read of ``topic`` (``key,ts`` lines),
    with per-partition monotonous watermarks (timestamps ascend within each partition)."""
    source = (KafkaSource.builder().set_bootstrap_servers(servers).set_topics(topic)
              .set_starting_offsets(KafkaOffsetsInitializer.earliest())
              .set_bounded(KafkaOffsetsInitializer.latest())
              .set_value_only_deserializer(SimpleStringSchema()).build())
    strategy = (WatermarkStrategy.for_monotonous_timestamps()
                .with_timestamp_assigner(lambda line, ts: int(line[line.index(",") + 1:])))
    windows = (env.from_source(source, strategy, "events")
               .map(lambda line: (line[:line.index(",")], int(line[line.index(",") + 1:]) // WINDOW_MS, 1),
                    output_type=Types.TUPLE([Types.STRING(), Types.LONG(), Types.LONG()]))
               .key_by(lambda t: t[0])
               .window(TumblingEventTimeWindows.of(Duration.of_millis(WINDOW_MS)))
               .reduce(lambda a, b: (a[0], a[1], a[2] + b[2])))
    return sorted(windows.execute_and_collect())


def expected_counts(n: int) -> list[tuple[str, int, int]]:
    """Record i has key i % 100 and timestamp i: each 1 s window holds 10 of each key."""
    return sorted((f"k{k}", w, WINDOW_MS // KEY_COUNT) for k in range(KEY_COUNT)
                  for w in range(n // WINDOW_MS))


@pytest.fixture(scope="module")
def million_topic(kafka_broker: Any) -> tuple[str, int]:
    """1M ``key,ts`` records on 4 partitions (record i: key i % 100, ts i, partition i % 4)."""
    n, topic = 1_000_000, f"million-{os.getpid()}"
    kafka_broker.create_topic(topic, 4)
    produce(kafka_broker.bootstrap_servers, topic,
            ((None, f"k{i % KEY_COUNT},{i}", i % 4) for i in range(n)), **{"linger.ms": 50,
                                                                           "batch.size": 1_000_000})
    return topic, n


@pytest.mark.slow
@pytest.mark.parametrize("parallelism", [1, 2])
def test_a_million_records_counted_per_key_and_window(env, kafka_broker, million_topic, parallelism):
    topic, n = million_topic
    env.set_parallelism(parallelism)
    assert windowed_counts(env, kafka_broker.bootstrap_servers, topic) == expected_counts(n)


def test_windowed_counts_per_key(env, kafka_broker, new_topic):
    """The same job on 40k records (the default suite's version)."""
    servers, topic, n = kafka_broker.bootstrap_servers, new_topic(4), 40_000
    produce(servers, topic, ((None, f"k{i % KEY_COUNT},{i}", i % 4) for i in range(n)))
    for parallelism in (1, 2):
        env.set_parallelism(parallelism)
        assert windowed_counts(env, servers, topic) == expected_counts(n)


class Slow:
    """An identity map that takes 5 ms per 10 records (so the job outlives a broker restart)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, value: Any) -> Any:
        self.n += 1
        if not self.n % 10:
            time.sleep(0.005)
        return value


@pytest.mark.slow
def test_broker_restart_mid_job_keeps_exactly_once(env, new_topic, tmp_path):
    """kill -9 of the broker a few seconds into an exactly-once job, then a restart on the
    same data: the job recovers (restart strategy, restore) and a read_committed consumer sees
    every output once. A broker of its own, so the session's broker is not disturbed."""
    from strom.connectors.kafka.broker import KafkaBroker

    broker = KafkaBroker().start()
    try:
        servers, n = broker.bootstrap_servers, 30_000
        source_topic, sink_topic = "restart-in", "restart-out"
        broker.create_topic(source_topic, 4)
        broker.create_topic(sink_topic, 2)
        produce(servers, source_topic, ((None, f"{i % KEYS},{i}", i % 4) for i in range(n)))
        env.set_parallelism(2)
        env.enable_checkpointing(200)
        env.set_restart_strategy(RestartStrategies.fixed_delay_restart(30, 1000))
        pipeline(env, servers, source_topic, sink_topic, "restart", FailOnce(tmp_path, []),
                 middle=Slow())
        client = env.execute_async("broker restart")

        killed_at: list[float] = []

        def restart() -> None:
            time.sleep(3)
            broker.kill()
            killed_at.append(time.monotonic())
            time.sleep(1)
            broker.start(warm_up=False)

        restarter = threading.Thread(target=restart)
        restarter.start()
        client.wait(300)
        ended_at = time.monotonic()
        restarter.join()
        assert killed_at and ended_at > killed_at[0], "the job ended before the broker went down"
        seen = Counter(v.decode() for *_, v in read_all(servers, sink_topic, 2))
        expected = Counter(f"{k}:{c}" for k in range(KEYS) for c in range(1, n // KEYS + 1))
        assert seen == expected, (f"missing {sum((expected - seen).values())}, "
                                  f"duplicated {sum((seen - expected).values())}")
    finally:
        broker.stop()
