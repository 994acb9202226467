"""Helpers of the Kafka tests: produce test data fast, read a topic back (read_committed)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition


def produce(servers: str, topic: str, records: Iterable[tuple[Any, Any, int | None]],
            **conf: Any) -> int:
    """Write ``(key, value, partition)`` records (str or bytes; partition None: the client's
    choice) and wait until all are acknowledged; returns how many."""
    producer = Producer({"bootstrap.servers": servers, "linger.ms": 20, "log_level": 3, **conf})
    n = 0
    for key, value, partition in records:
        k = key.encode() if isinstance(key, str) else key
        v = value.encode() if isinstance(value, str) else value
        while True:
            try:
                if partition is None:
                    producer.produce(topic, v, k)
                else:
                    producer.produce(topic, v, k, partition)
                break
            except BufferError:
                producer.poll(0.05)
        n += 1
        if not n % 10_000:
            producer.poll(0)
    assert producer.flush(60) == 0
    return n


def read_all(servers: str, topic: str, partitions: int, committed_only: bool = True,
             timeout: float = 30.0) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every record now in ``topic`` as ``(partition, offset, key, value)``; with
    ``committed_only`` as a ``read_committed`` consumer sees it (aborted records hidden)."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": "strom-test-reader",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "isolation.level": "read_committed" if committed_only else "read_uncommitted",
                         "log_level": 3})
    try:
        ends = {}
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out, done = [], {p for p, high in ends.items() if high == 0}
        import time
        deadline = time.monotonic() + timeout
        while len(done) < partitions and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                if msg.error() is not None:  # end of the partition (what is readable now)
                    done.add(msg.partition())
                    continue
                out.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
        assert len(done) == partitions, f"read only partitions {sorted(done)} of {topic!r}"
        return out
    finally:
        consumer.close()
