#!/usr/bin/env python
"""Kafka -> map -> Kafka on strom next to a raw confluent-kafka loop, on a real broker.

Usage:
    python bench/kafka.py [--n 500000] [--parallelism 1,2] [--rounds 2]
                          [--latency-seconds 5] [--rate 2000] [--json bench/results/kafka.json]

Starts its own broker (strom.connectors.kafka.broker; java + mvn) unless ``--bootstrap`` names
one. Input: ``n`` records of ~100 bytes on a 4-partition topic.

throughput  **raw**: one confluent-kafka consumer (all 4 partitions assigned, batches of
            ``consume(num_messages=10000)``), each value decoded, upper-cased, encoded and
            produced to an output topic, then flushed: the practical limit of a Python
            consume/produce loop. **strom**: ``KafkaSource`` (bounded at the current end) ->
            ``map(str.upper)`` -> ``KafkaSink`` (AT_LEAST_ONCE, flushed at the end) at each
            parallelism, timed from ``execute`` to the job's end (startup included). Every run
            writes to a fresh output topic whose record count is checked. ratio = strom rate /
            raw rate of the same round; medians over rounds.
latency     an unbounded job from the end of the input topic; a producer writes ``rate``
            records/s, each carrying its send time; a consumer of the output topic records
            receive time - send time (so producer linger, the job and the consumer's fetch are
            all in it). The same for the raw loop. The probe runs in a process of its own, so it
            does not compete with the job for the interpreter lock. p50 / p99 / max over
            ``latency-seconds``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from strom.common import WatermarkStrategy  # noqa: E402
from strom.common.serialization import SimpleStringSchema  # noqa: E402
from strom.connectors.kafka.broker import KafkaBroker  # noqa: E402
from strom.datastream import StreamExecutionEnvironment  # noqa: E402
from strom.datastream.connectors.kafka import (  # noqa: E402
    DeliveryGuarantee,
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)

PARTITIONS = 4
PAD = "x" * 90


def produce_input(servers: str, topic: str, n: int) -> None:
    p = Producer({"bootstrap.servers": servers, "linger.ms": 50, "batch.size": 1_000_000})
    for i in range(n):
        while True:
            try:
                p.produce(topic, f"{i:09d}{PAD}".encode(), partition=i % PARTITIONS)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(120) == 0


def count(servers: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": servers, "group.id": "bench-count"})
    try:
        meta = c.list_topics(topic, timeout=10).topics[topic]
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in meta.partitions)
    finally:
        c.close()


def raw_loop(servers: str, src: str, dst: str, n: int | None, stop: threading.Event | None = None,
             start_at_end: bool = False) -> float:
    """Consume ``src``, upper-case, produce to ``dst``; until ``n`` records (or ``stop``)."""
    c = Consumer({"bootstrap.servers": servers, "group.id": f"raw-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False})
    # the sink's own producer settings (no delivery report per acknowledged record)
    p = Producer({"bootstrap.servers": servers, "delivery.report.only.error": True})
    offset = -1 if start_at_end else -2
    c.assign([TopicPartition(src, i, offset) for i in range(PARTITIONS)])
    started, seen = time.perf_counter(), 0
    produce, poll = p.produce, p.poll
    while (n is None or seen < n) and not (stop is not None and stop.is_set()):
        msgs = c.consume(num_messages=10_000, timeout=0)
        if not msgs:
            time.sleep(0.0005)  # nothing fetched yet: do not spin, do not wait for a batch either
        for m in msgs:
            if m.error() is not None:
                continue
            value = m.value().decode().upper().encode()
            while True:
                try:
                    produce(dst, value)
                    break
                except BufferError:
                    poll(0.05)
            seen += 1
        poll(0)
    p.flush(60)
    took = time.perf_counter() - started
    c.close()
    return took


def strom_job(servers: str, src: str, dst: str, parallelism: int, bounded: bool) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    builder = (KafkaSource.builder().set_bootstrap_servers(servers).set_topics(src)
               .set_value_only_deserializer(SimpleStringSchema()))
    if bounded:
        builder.set_starting_offsets(KafkaOffsetsInitializer.earliest())
        builder.set_bounded(KafkaOffsetsInitializer.latest())
    else:
        builder.set_starting_offsets(KafkaOffsetsInitializer.latest())
    sink = (KafkaSink.builder().set_bootstrap_servers(servers)
            .set_record_serializer(KafkaRecordSerializationSchema.builder().set_topic(dst)
                                   .set_value_serialization_schema(SimpleStringSchema()).build())
            .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE).build())
    (env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), "in")
        .map(str.upper).sink_to(sink))
    return env


def new_topic(broker_servers: str, admin_broker: KafkaBroker | None, partitions: int) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    if admin_broker is not None:
        admin_broker.create_topic(name, partitions)
    else:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": broker_servers})
        admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    return name


def probe(servers: str, src: str, dst: str, rate: int, seconds: float, out: Any) -> None:
    """In a process of its own (so the job under test does not share its interpreter lock):
    write ``rate`` records/s carrying their send time to ``src``, read ``dst``, and put the
    send-to-receive times (ms) into ``out``."""
    c = Consumer({"bootstrap.servers": servers, "group.id": f"lat-{uuid.uuid4().hex[:6]}"})
    c.assign([TopicPartition(dst, i, -2) for i in range(PARTITIONS)])
    p = Producer({"bootstrap.servers": servers, "linger.ms": 0})
    p.list_topics(src, timeout=10)
    samples: list[float] = []

    def receive(timeout: float) -> None:
        for m in c.consume(num_messages=1000, timeout=timeout):
            if m.error() is None:
                samples.append((time.time() - float(m.value()[:20])) * 1000)

    def send_for(duration: float) -> int:
        interval, sent, started = 1.0 / rate, 0, time.perf_counter()
        while time.perf_counter() < started + duration:
            left = started + sent * interval - time.perf_counter()
            if left > 0:
                receive(min(left, 0.002))
                continue
            p.produce(src, f"{time.time():20.6f}".encode(), partition=sent % PARTITIONS)
            p.poll(0)
            sent += 1
        return sent

    # warm-up: the job has assigned its partitions (it starts at the end of the topic), then
    # 3 s of traffic whose times are not counted (new topics' metadata, first fetches, the
    # broker's JIT), so neither side's start-up is in the figures
    warm_until = time.perf_counter() + 3
    while time.perf_counter() < warm_until:
        receive(0.05)
    send_for(3.0)
    drain_until = time.perf_counter() + 2
    while time.perf_counter() < drain_until:
        receive(0.05)
    samples.clear()
    sent = send_for(seconds)
    p.flush(10)
    drain_until = time.perf_counter() + 3
    while time.perf_counter() < drain_until and len(samples) < sent:
        receive(0.1)
    c.close()
    out.put((sent, samples))


def latency(servers: str, broker: KafkaBroker | None, run: str, rate: int, seconds: float) -> dict:
    """p50/p99/max ms from send to receive through ``run`` ("raw" or a parallelism)."""
    src, dst = new_topic(servers, broker, PARTITIONS), new_topic(servers, broker, PARTITIONS)
    stop = threading.Event()
    if run == "raw":
        worker = threading.Thread(target=raw_loop, args=(servers, src, dst, None, stop, True))
        worker.start()
        client = None
    else:
        client = strom_job(servers, src, dst, int(run), bounded=False).execute_async("latency")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=probe, args=(servers, src, dst, rate, seconds, out))
    child.start()
    sent, samples = out.get(timeout=seconds + 60)
    child.join(30)
    stop.set()
    if client is not None:
        client.cancel()
        try:
            client.wait(30)
        except Exception:  # noqa: S110 - cancelled on purpose
            pass
    else:
        worker.join(30)
    samples.sort()
    q = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
    return {"sent": sent, "received": len(samples), "p50_ms": round(q[49], 2),
            "p99_ms": round(q[98], 2), "max_ms": round(samples[-1], 2) if samples else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500_000)
    ap.add_argument("--parallelism", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--latency-seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "kafka.json"))
    args = ap.parse_args()
    parallelisms = [int(p) for p in args.parallelism.split(",")]
    broker = None if args.bootstrap else KafkaBroker().start()
    servers = args.bootstrap or broker.bootstrap_servers
    try:
        src = new_topic(servers, broker, PARTITIONS)
        produce_input(servers, src, args.n)
        rounds: list[dict] = []
        for r in range(args.rounds):
            row: dict = {}
            dst = new_topic(servers, broker, PARTITIONS)
            took = raw_loop(servers, src, dst, args.n)
            assert count(servers, dst) == args.n
            row["raw"] = args.n / took
            for par in parallelisms:
                dst = new_topic(servers, broker, PARTITIONS)
                started = time.perf_counter()
                strom_job(servers, src, dst, par, bounded=True).execute("kafka bench")
                took = time.perf_counter() - started
                got = count(servers, dst)
                assert got == args.n, f"strom p={par} wrote {got} of {args.n}"
                row[f"p{par}"] = args.n / took
            rounds.append(row)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v:,.0f} rec/s" for k, v in row.items()), flush=True)
        summary = {k: statistics.median(row[k] for row in rounds) for k in rounds[0]}
        ratios = {k: statistics.median(row[k] / row["raw"] for row in rounds)
                  for k in rounds[0] if k != "raw"}
        lat = {"raw": latency(servers, broker, "raw", args.rate, args.latency_seconds)}
        for par in parallelisms:
            lat[f"p{par}"] = latency(servers, broker, str(par), args.rate, args.latency_seconds)
    finally:
        if broker is not None:
            broker.stop()
    print(f"\nKafka -> map(str.upper) -> Kafka, {args.n:,} records of ~100 B, 4 partitions "
          f"(median of {args.rounds} rounds)")
    print(f"{'run':>6} {'records/s':>12} {'vs raw':>7} {'lat p50':>9} {'p99':>9} {'max':>9}")
    for k, rate in summary.items():
        ratio = "1.00" if k == "raw" else f"{ratios[k]:.2f}"
        lt = lat[k]
        print(f"{k:>6} {rate:>12,.0f} {ratio:>7} {lt['p50_ms']:>7.1f}ms {lt['p99_ms']:>7.1f}ms "
              f"{lt['max_ms']:>7.1f}ms")
    result = {"n": args.n, "rounds": rounds, "records_per_s": summary, "ratio_to_raw": ratios,
              "latency": lat, "latency_rate_per_s": args.rate}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
