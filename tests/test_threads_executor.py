"""The threads executor: a thread per task, so a blocked task does not stop the others.

Every end-to-end test in test_end_to_end.py and test_errors.py also runs on it (the ``env``
fixtures there are parametrized over ``EXECUTORS``); this file covers what only threads can
show. No test asserts on timings: each waits for an order of events, with generous timeouts
that only bound how long a broken build hangs.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from strom.api.configuration import Configuration
from strom.api.environment import StreamExecutionEnvironment
from strom.api.functions import KeyedProcessFunction, MapFunction, SourceFunction
from strom.errors import JobCancelledError, JobExecutionError, UserFunctionError
from strom.runtime.channels import DEFAULT_CREDITS, LocalChannel
from strom.runtime.executors import EXECUTORS, ThreadsExecutor
from strom.runtime.job import JobStatus
from strom.state import assign_key_group, operator_index
from strom.testing import CollectSink, ListSource
from strom.time.clock import ManualClock

ALL = 10**9
GIVE_UP_S = 20  # only bounds how long a broken executor hangs; never reached when green


def threads_env() -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "threads"
    return env


def task_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("strom task ")]


_EVENTS: dict[int, threading.Event] = {}
"""Events shared by the copies of a user function made per subtask (copies keep the id)."""


class SignallingSink(CollectSink):
    """Collects like CollectSink and sets ``_EVENTS[sink_id]`` once it has received ``last``."""

    def __init__(self, last: Any) -> None:
        super().__init__()
        self.last = last
        _EVENTS[self.sink_id] = threading.Event()

    @property
    def reached(self) -> threading.Event:
        return _EVENTS[self.sink_id]

    def invoke(self, value: Any, context: Any) -> None:
        super().invoke(value, context)
        if value == self.last:
            _EVENTS[self.sink_id].set()


class Forever(SourceFunction):
    """Counts up until cancelled."""

    def __init__(self) -> None:
        self.running = True

    def run(self, ctx: Any) -> None:
        i = 0
        while self.running:
            ctx.collect(i)
            i += 1

    def cancel(self) -> None:
        self.running = False


def test_registered_and_selected_by_configuration() -> None:
    assert EXECUTORS["threads"] is ThreadsExecutor
    conf = Configuration()
    conf.set_string("strom.executor", "threads")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    assert env.executor == "threads"
    assert env.from_collection([1, 2, 3]).map(lambda v: v * 2).execute_and_collect(limit=ALL) == [2, 4, 6]
    assert task_threads() == []


def test_a_blocking_map_in_one_keyed_subtask_does_not_stop_the_other() -> None:
    slow = "slow"
    owner = operator_index(assign_key_group(slow, 128), 2, 128)
    fast = next(k for k in "abcdefghij" if operator_index(assign_key_group(k, 128), 2, 128) != owner)
    n = 200
    sink = SignallingSink(last=(fast, n - 1))
    released = sink.reached

    def io(value: tuple) -> tuple:
        if value[0] == slow:  # stands for a call that waits on I/O; ends once `fast` is done
            return slow, released.wait(GIVE_UP_S)
        return value

    env = threads_env()
    env.set_parallelism(2)
    data = [(slow, 0)] + [(fast, i) for i in range(n)]
    env.from_collection(data).key_by(lambda v: v[0]).map(io).add_sink(sink)
    env.execute("blocking io")
    # the other subtask delivered everything while the slow one waited, which then went on
    assert sink.values == [(fast, i) for i in range(n)] + [(slow, True)]


def test_a_slow_sink_holds_a_fast_source_to_its_credits(monkeypatch: pytest.MonkeyPatch) -> None:
    longest: dict[str, int] = {}
    full = threading.Event()
    push = LocalChannel.push

    def measured_push(self: LocalChannel, item: Any) -> None:
        push(self, item)
        if type(item) is tuple:  # a record batch; events are not counted against credit
            n = len(self.queue)
            longest[self.name] = max(longest.get(self.name, 0), n)
            if n >= self.credits:
                full.set()

    monkeypatch.setattr(LocalChannel, "push", measured_push)
    batches = 6 * DEFAULT_CREDITS

    def slow(value: int) -> int:
        if value == 0:  # hold the first record until the source has filled the channel
            assert full.wait(GIVE_UP_S), "the source never filled its output channel"
        if value % 1024 == 0:
            time.sleep(0.001)
        return value

    sink = CollectSink()
    env = threads_env()
    env.from_collection(list(range(batches * 1024))).rebalance().map(slow).add_sink(sink)
    env.execute("backpressure")
    assert sink.values == list(range(batches * 1024))
    (channel,) = longest  # source -> map, a task boundary on threads even at parallelism 1
    assert longest[channel] == DEFAULT_CREDITS  # reached, never exceeded


def test_cancel_an_unbounded_source_function_job() -> None:
    sink = CollectSink()
    env = threads_env()
    env.add_source(Forever()).filter(lambda v: v % 1000 == 0).rebalance() \
        .map(lambda v: v // 1000).add_sink(sink)
    client = env.execute_async("forever")
    give_up = time.monotonic() + GIVE_UP_S
    while len(sink.values) < 3 and time.monotonic() < give_up:
        time.sleep(0.005)
    assert client.get_job_status().result() is JobStatus.RUNNING
    client.cancel().result(timeout=GIVE_UP_S)
    assert client.get_job_status().result() is JobStatus.CANCELED
    with pytest.raises(JobCancelledError):
        client.wait(timeout=GIVE_UP_S)
    assert sink.values == list(range(len(sink.values)))
    assert task_threads() == []  # every task thread was joined before the job ended


def test_a_failing_task_fails_the_job_and_stops_the_others() -> None:
    env = threads_env()
    env.add_source(Forever()).filter(lambda v: False).add_sink(CollectSink())  # never ends by itself
    env.from_collection(["1", "2", "x"]).map(int).name("parse").add_sink(CollectSink())
    with pytest.raises(JobExecutionError) as info:
        env.execute("failing")
    assert "operator 'parse'" in str(info.value) and "'x'" in str(info.value)
    assert isinstance(info.value.__cause__, UserFunctionError)
    assert task_threads() == []


def test_a_failing_open_closes_every_task() -> None:
    closed: list[str] = []

    class Tracked(MapFunction):
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def open(self, ctx: Any) -> None:
            if self.fail:
                raise RuntimeError("cannot connect")

        def map(self, value: Any) -> Any:
            return value

        def close(self) -> None:
            closed.append("fail" if self.fail else "ok")

    env = threads_env()
    env.from_collection([1]).map(Tracked(False)).print()
    env.from_collection([1]).map(Tracked(True)).print()
    with pytest.raises(JobExecutionError, match="cannot connect"):
        env.execute("open fails")
    assert "ok" in closed
    assert task_threads() == []


@pytest.mark.parametrize("executor", [e for e in sorted(EXECUTORS) if e != "local"])  # ManualClock
def test_manual_clock_advances_only_when_every_task_is_idle(executor: str) -> None:
    class Tick(KeyedProcessFunction):
        """Emits at +10, +20, ... +50 ms of processing time, each timer setting the next."""

        def process_element(self, value: Any, ctx: Any) -> Any:
            ts = ctx.timer_service()
            ts.register_processing_time_timer(ts.current_processing_time() + 10)

        def on_timer(self, timestamp: int, ctx: Any) -> Any:
            yield ctx.get_current_key(), timestamp
            if timestamp < 50:
                ctx.timer_service().register_processing_time_timer(timestamp + 10)

    sink = CollectSink()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.clock = ManualClock(0)
    env.set_parallelism(2)
    source = ListSource(["a", "b", "c"], unbounded=True, stop_when=lambda: len(sink.values) >= 15)
    env.add_source(source).key_by(lambda v: v).process(Tick()).add_sink(sink)
    env.execute("ticks")
    assert sorted(sink.values) == [(k, t) for k in "abc" for t in (10, 20, 30, 40, 50)]
    for k in "abc":  # each key's timers fire in order
        assert [t for key, t in sink.values if key == k] == [10, 20, 30, 40, 50]


def test_local_channel_wakes_a_blocked_producer_once_it_has_credit_again() -> None:
    woken: list[int] = []
    ch = LocalChannel(credits=2)
    ch.on_credit = lambda: woken.append(len(ch))
    for i in range(4):
        ch.push(([i], [None]))
    assert not ch.has_credit()
    ch.poll()
    ch.poll()
    assert woken == [] and not ch.has_credit()
    ch.poll()  # leaves credits - 1: the producer may push again
    assert woken == [1] and ch.has_credit()
    ch.poll()
    assert ch.poll() is None and woken == [1]
