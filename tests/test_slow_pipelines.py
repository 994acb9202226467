"""A slow pipeline still emits periodic watermarks and fires processing-time timers between
records (issue: "checked between records so a slow pipeline still emits").

Checked by what the records saw, not by timing: with 3 ms per record and a 20 ms watermark
interval, records in the middle of the stream must already see an advanced watermark.
"""
from __future__ import annotations

import time

from strom.common import Duration, WatermarkStrategy
from strom.datastream import KeyedProcessFunction, StreamExecutionEnvironment
from strom.time.watermarks import MIN_WATERMARK

N = 120


def slow(value):
    time.sleep(0.003)
    return value


class SeenWatermark(KeyedProcessFunction):
    def process_element(self, value, ctx):
        yield value, ctx.timer_service().current_watermark()


def _watermarks_seen(parallelism: int) -> list[int]:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.get_config().set_auto_watermark_interval(20)
    strategy = (WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_millis(0))
                .with_timestamp_assigner(lambda v, ts: v * 10))
    stream = env.from_collection(list(range(N)))
    if parallelism > 1:  # the slow work sits behind an exchange: input batches must be cut too
        stream = stream.rebalance()
    out = (stream.map(slow).set_parallelism(parallelism)
           .assign_timestamps_and_watermarks(strategy).set_parallelism(parallelism)
           .key_by(lambda v: 0).process(SeenWatermark()).set_parallelism(1)
           .execute_and_collect())
    return [wm for _, wm in sorted(out)]


def test_periodic_watermarks_reach_records_of_a_slow_chained_pipeline():
    seen = _watermarks_seen(1)
    assert seen[N // 2] > MIN_WATERMARK


def test_periodic_watermarks_reach_records_behind_an_exchange():
    seen = _watermarks_seen(2)
    assert seen[-1] > MIN_WATERMARK
    assert sum(1 for wm in seen if wm > MIN_WATERMARK) > N // 4
