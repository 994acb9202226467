"""The job the savepoint tests stop, restore and rescale (also run as a script by ``strom run``).

A split source of ``SPLITS`` splits (each key belongs to one split, so the order of a key's
records never depends on how splits are spread over subtasks), optionally slowed down per
record; a keyed process function with ValueState that emits a running count and sum per record
and registers an event-time timer; a keyed tumbling event-time window summing values; both
written to a FileSink. The watermark lags every timestamp the source produces, so event time
only moves at the end of input (or at a drain): the results are exact whatever the parallelism
and wherever the job was interrupted.

Run as a script: ``python -m strom run tests/savepoint_job.py OUT_DIR [CHECKPOINT_DIR]``
(checkpoints every 100 ms, retained on cancellation, slow source).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

from strom.datastream import (
    CheckpointingMode,
    KeyedProcessFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.connectors.file_system import FileSink
from strom.datastream.state import ListStateDescriptor, ValueStateDescriptor
from strom.datastream.window import TumblingEventTimeWindows

SPLITS = 4
PER_SPLIT = 60
KEYS_PER_SPLIT = 3
WINDOW_MS = 50


class Events:
    """``(key, timestamp, value)`` records in ``SPLITS`` splits; ``delay`` s per record."""

    def __init__(self, delay: float = 0.0, per_split: int = PER_SPLIT) -> None:
        self.delay = delay
        self.per_split = per_split

    @staticmethod
    def record(split: int, i: int) -> tuple[str, int, int]:
        return f"s{split}k{i % KEYS_PER_SPLIT}", i * 7 + split, i * 10 + split

    def all(self) -> list[tuple[str, int, int]]:
        return [self.record(s, i) for s in range(SPLITS) for i in range(self.per_split)]


def make_source(events: Events) -> Any:
    from strom.api.sources import Source

    class SlowSplits(Source):
        def splits(self, parallelism: int) -> list[int]:
            return list(range(SPLITS))

        def read_split(self, split: int, position: int) -> Any:
            for i in range(position, events.per_split):
                if events.delay:
                    time.sleep(events.delay)
                yield events.record(split, i)

    return SlowSplits()


class RunningSum(KeyedProcessFunction):
    """Per key: a running count and sum (ValueState), and an event-time timer per record."""

    def __init__(self, list_state: bool = False) -> None:
        self.list_state = list_state

    def open(self, ctx: Any) -> None:
        if self.list_state:  # the changed job of the incompatible-state test
            self.state = ctx.get_list_state(ListStateDescriptor("sum", None))
        else:
            self.state = ctx.get_state(ValueStateDescriptor("sum", None))

    def process_element(self, value: Any, ctx: Any) -> Any:
        count, total = self.state.value() or (0, 0)
        count, total = count + 1, total + value[2]
        self.state.update((count, total))
        ctx.timer_service().register_event_time_timer(value[1] + 1000)
        yield f"run {value[0]} {count} {total}"

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        count, total = self.state.value()
        yield f"timer {ctx.get_current_key()} {timestamp} {count} {total}"


def build(env: Any, out_dir: str, events: Events, *, with_window: bool = True,
          list_state: bool = False) -> None:
    """The job on ``env``: its operators carry uids so restores and rescales match them."""
    from strom.api.watermarks import WatermarkStrategy
    from strom.common.serialization import Encoder

    class Ts:
        def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
            return value[1]

    strategy = WatermarkStrategy.for_bounded_out_of_orderness(10_000_000) \
        .with_timestamp_assigner(Ts())
    stream = env.from_source(make_source(events), strategy, "events").uid("events")
    keyed = stream.key_by(lambda r: r[0])
    lines = keyed.process(RunningSum(list_state)).uid("running-sum")
    if with_window:
        windows = (keyed.window(TumblingEventTimeWindows.of(_ms(WINDOW_MS)))
                   .reduce(lambda a, b: (a[0], max(a[1], b[1]), a[2] + b[2])).uid("window-sum")
                   .map(lambda r: f"window {r[0]} {r[1] // WINDOW_MS} {r[2]}").uid("format"))
        lines = lines.union(windows)
    lines.sink_to(FileSink.for_row_format(out_dir, Encoder.simple_string_encoder()).build()) \
        .uid("files")


def _ms(ms: int) -> Any:
    from strom.common.time import Time
    return Time.milliseconds(ms)


def finished_lines(base: str) -> list[str]:
    """Every line of the finished (visible) part files under ``base``, sorted."""
    out: list[str] = []
    for root, _dirs, names in os.walk(base):
        for name in names:
            if not name.startswith("."):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    out.extend(f.read().splitlines())
    return sorted(out)


def main(argv: list[str]) -> None:
    out_dir = argv[1]
    checkpoints = argv[2] if len(argv) > 2 else None
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    if checkpoints:
        from strom.datastream import ExternalizedCheckpointRetention
        env.enable_checkpointing(100, CheckpointingMode.EXACTLY_ONCE)
        cc = env.get_checkpoint_config()
        cc.set_checkpoint_storage_dir(checkpoints)
        cc.set_externalized_checkpoint_retention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION)
        cc.set_max_concurrent_checkpoints(1)
    build(env, out_dir, Events(delay=float(os.environ.get("STROM_TEST_DELAY", "0.004"))))
    env.execute("savepoint job")


if __name__ == "__main__":
    main(sys.argv)
