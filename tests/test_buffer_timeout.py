"""Buffer timeout: records do not wait behind a long task step before crossing a channel.

Checked by order of events, not by timing: with a bounded buffer timeout the consumer sees
the first record long before the producer's step would have used its whole record budget.
"""
from __future__ import annotations

import time

from strom.datastream import SinkFunction, StreamExecutionEnvironment

EVENTS: list[tuple[str, int]] = []


class Record(SinkFunction):
    def invoke(self, value, context=None):
        EVENTS.append(("consumed", value))


def slow(value):
    time.sleep(0.003)
    EVENTS.append(("produced", value))
    return value


def _first_consumed_after(buffer_timeout: int) -> int:
    """How many records were produced before the first one was consumed."""
    EVENTS.clear()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_buffer_timeout(buffer_timeout)
    env.from_collection(list(range(200))).map(slow).rebalance().add_sink(Record()).set_parallelism(2)
    env.execute()
    first = EVENTS.index(next(e for e in EVENTS if e[0] == "consumed"))
    return sum(1 for kind, _ in EVENTS[:first] if kind == "produced")


def test_bounded_buffer_timeout_hands_records_over_during_a_long_step():
    assert _first_consumed_after(20) < 150


def test_timeout_zero_hands_over_almost_every_record():
    assert _first_consumed_after(0) < 20


def test_negative_timeout_flushes_only_when_the_step_ends():
    assert _first_consumed_after(-1) == 200
