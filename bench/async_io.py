"""Async I/O throughput: N calls to a fake service of fixed latency through ``AsyncDataStream``.

    source (N ints) -> AsyncDataStream.{ordered,unordered}_wait(service, capacity C)
      -> map (a sync step after it) -> collect

The service is ``await asyncio.sleep(latency)``: with C calls in flight the ideal time is
N * latency / C (10 000 x 20 ms / 100 = 2 s). Reported per mode and executor: wall time, ratio
to the ideal, records/s, and the most calls the service saw in flight (must be <= C).

With ``--batch-size B`` the ``*_wait_batch`` forms run instead: one call per B records
(``AsyncBatchFunction``), C batches in flight, so the ideal is N * latency / (B * C).

    .venv/bin/python bench/async_io.py                  # ~10 s
    .venv/bin/python bench/async_io.py --n 2000 --latency-ms 5 --capacity 50
    .venv/bin/python bench/async_io.py --n 20000 --batch-size 32 --capacity 10
"""
from __future__ import annotations

import argparse
import asyncio
import time
from typing import ClassVar

from strom.common import Time
from strom.datastream import (
    AsyncBatchFunction,
    AsyncDataStream,
    AsyncFunction,
    StreamExecutionEnvironment,
)


class FakeService(AsyncFunction):
    """A remote lookup of fixed latency; counts how many calls are in flight at once (in a
    class-level dict: each subtask runs its own copy of the function)."""

    stats: ClassVar[dict[str, int]] = {"now": 0, "max": 0}

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s

    async def async_invoke(self, value: int) -> list:
        stats = FakeService.stats  # touched on the operator's event loop thread only
        stats["now"] += 1
        stats["max"] = max(stats["max"], stats["now"])
        await asyncio.sleep(self.latency_s)
        stats["now"] -= 1
        return [value]


class FakeBatchService(AsyncBatchFunction):
    """The same lookup answering a whole batch in one call of the same latency."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s

    async def async_invoke_batch(self, inputs: list) -> list:
        stats = FakeService.stats
        stats["now"] += 1
        stats["max"] = max(stats["max"], stats["now"])
        await asyncio.sleep(self.latency_s)
        stats["now"] -= 1
        return inputs


def run(n: int, latency_ms: float, capacity: int, ordered: bool, executor: str, batch_size: int = 0) -> dict:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    FakeService.stats.update(now=0, max=0)
    source = env.from_collection(list(range(n)))
    if batch_size:
        wait_batch = AsyncDataStream.ordered_wait_batch if ordered else AsyncDataStream.unordered_wait_batch
        stream = wait_batch(source, FakeBatchService(latency_ms / 1000), Time.seconds(60), batch_size,
                            capacity=capacity)
    else:
        wait = AsyncDataStream.ordered_wait if ordered else AsyncDataStream.unordered_wait
        stream = wait(source, FakeService(latency_ms / 1000), Time.seconds(60), capacity)
    started = time.perf_counter()
    with stream.map(lambda v: v + 1).execute_and_collect() as results:
        out = list(results)
    took = time.perf_counter() - started
    assert sorted(out) == list(range(1, n + 1)), "lost or duplicated records"
    if ordered:
        assert out == list(range(1, n + 1)), "ordered mode changed the order"
    ideal = n * latency_ms / 1000 / capacity / max(1, batch_size)
    return {"mode": "ordered" if ordered else "unordered", "executor": executor, "seconds": took,
            "ideal": ideal, "ratio": took / ideal, "records_per_s": n / took,
            "max_in_flight": FakeService.stats["max"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=0, help="> 0: the *_wait_batch forms")
    args = parser.parse_args()
    ideal = args.n * args.latency_ms / 1000 / args.capacity / max(1, args.batch_size)
    print(f"n={args.n} latency={args.latency_ms} ms capacity={args.capacity} "
          f"batch size={args.batch_size or '-'} (ideal {ideal:.2f} s)")
    print(f"{'mode':<10} {'executor':<8} {'seconds':>8} {'x ideal':>8} {'records/s':>10} {'max in flight':>14}")
    for executor in ("inline", "threads"):
        for ordered in (True, False):
            r = run(args.n, args.latency_ms, args.capacity, ordered, executor, args.batch_size)
            print(f"{r['mode']:<10} {r['executor']:<8} {r['seconds']:8.2f} {r['ratio']:8.2f} "
                  f"{r['records_per_s']:10.0f} {r['max_in_flight']:14d}")


if __name__ == "__main__":
    main()
