"""The process runtime: channels between processes (framing, credit), TaskManager processes,
remote failures, lost TaskManagers and recovery, results over the network.

Semantics shared with the other executors are covered by every end-to-end test (the ``env``
fixture runs each on ``local`` too); this module covers what only processes have.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

import pytest

from strom.api.environment import set_default_configuration
from strom.api.sources import NumberSequenceSource
from strom.cluster.minicluster import local_cluster
from strom.cluster.protocol import RemoteTraceback
from strom.common.restart_strategy import RestartStrategies
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.functions import MapFunction, SinkFunction
from strom.errors import JobExecutionError, UnsupportedError
from strom.runtime.channels import DEFAULT_CREDITS, LocalChannel, RecordWriter
from strom.runtime.network import NetworkEnvironment
from strom.testing import CollectSink
from strom.time.clock import ManualClock

Point = namedtuple("Point", "x y")


_NETWORKS: list[NetworkEnvironment] = []  # the pair under test: polled while a test waits


def _wait(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for network in _NETWORKS:
            network.poll()  # a TaskManager's task thread does this between steps
        if predicate():
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def _settle(seconds: float = 0.05) -> None:
    """Let whatever is in flight arrive."""
    deadline = time.monotonic() + seconds
    _wait(lambda: time.monotonic() >= deadline)


Pair = tuple[NetworkEnvironment, NetworkEnvironment]


@pytest.fixture
def pair() -> Iterator[Pair]:
    """A producer's and a consumer's network environment of attempt "a1", closed after the test."""
    producer, consumer = NetworkEnvironment(), NetworkEnvironment()
    producer.reset("a1")
    consumer.reset("a1")
    _NETWORKS[:] = [producer, consumer]
    yield producer, consumer
    producer.close()
    consumer.close()
    _NETWORKS.clear()


def test_remote_channel_delivers_batches_and_events_in_order(pair: Pair) -> None:
    producer, consumer = pair
    inp = consumer.input_channel(7, "x")
    out = producer.output_channel(7, "x", consumer.address, credits=4)
    out.push(([1, 2, 3], [None, None, None]))
    out.push("event")
    out.push((["a"], [5]))
    _wait(lambda: len(inp) == 3)
    assert inp.poll() == ([1, 2, 3], [None, None, None])
    assert inp.poll() == "event"
    assert inp.poll() == (["a"], [5])
    assert inp.poll() is None


def test_credit_based_flow_control_bounds_what_is_in_flight(pair: Pair) -> None:
    """A producer gets as many batches as the consumer grants; each batch the consumer takes
    gives one back, and the producer blocked on credit is woken."""
    producer, consumer = pair
    inp = consumer.input_channel(1, "x", credits=2)
    out = producer.output_channel(1, "x", consumer.address, credits=2)
    woken = threading.Event()
    out.on_credit = woken.set
    out.push(([1], [None]))
    assert out.has_credit()
    out.push(([2], [None]))
    assert not out.has_credit()  # two batches in flight: no more until one is taken
    out.push("watermark")  # events need no credit
    _wait(lambda: len(inp) == 3)
    assert inp.poll() == ([1], [None])
    _wait(woken.is_set)
    assert out.has_credit()
    inp.unread(([9], [None]))  # the rest of a batch put back gives no second credit
    assert inp.poll() == ([9], [None])
    _settle()
    assert out.granted == 3


def test_credit_returns_in_lumps_of_half_the_window(pair: Pair) -> None:
    """With a window of 8 the consumer returns credit 4 batches at a time (one frame each), and
    a producer that used its whole window always gets credit back."""
    producer, consumer = pair
    inp = consumer.input_channel(1, "x", credits=8)
    out = producer.output_channel(1, "x", consumer.address, credits=8)
    for i in range(8):
        out.push(([i], [None]))
    assert not out.has_credit()
    _wait(lambda: len(inp) == 8)
    for i in range(3):
        assert inp.poll() == ([i], [None])
    _settle()
    assert out.granted == 8  # three taken: nothing returned yet
    assert inp.poll() == ([3], [None])
    _wait(lambda: out.granted == 12)
    for i in range(4, 8):
        assert inp.poll() == ([i], [None])
    _wait(lambda: out.granted == 16)
    assert out.has_credit()


def test_a_step_end_ships_partial_batches_in_process_and_keeps_those_to_other_processes(pair: Pair) -> None:
    """Between steps the consumer of an in-process channel runs on the same thread, so the
    end of a step ships its partial batch; a consumer in another process runs meanwhile, so
    that channel keeps filling its batch (its task flushes it when it runs out of work, after
    the buffer timeout, when the batch is full, or before an event)."""
    producer, consumer = pair
    inp = consumer.input_channel(3, "x")
    local = LocalChannel()
    writer = RecordWriter([local, producer.output_channel(3, "x", consumer.address)],
                          lambda v: v % 2, batch_size=4)
    for v in range(4):
        writer.collect(v, None)
    writer.flush_step()
    assert local.poll() == ([0, 2], [None, None])
    _settle()
    assert len(inp) == 0  # 1 and 3 wait for more
    for v in (5, 7):
        writer.collect(v, None)  # a full batch goes at once
    _wait(lambda: len(inp) == 1)
    assert inp.poll() == ([1, 3, 5, 7], [None] * 4)
    writer.collect(9, None)
    writer.flush()
    _wait(lambda: len(inp) == 1)
    assert inp.poll() == ([9], [None])


def _produced_and_arrived(buffer_timeout: int) -> list[tuple[int, float, float]]:
    """(value, when produced, when it reached a consumer in another TaskManager) for a
    producer busy for ~0.6 s, one clock (CLOCK_MONOTONIC is system-wide)."""
    env = _env(1)
    env.set_buffer_timeout(buffer_timeout)

    def produce(v: int) -> tuple[int, float]:
        time.sleep(0.003)
        return v, time.monotonic()

    def arrive(r: tuple[int, float]) -> tuple[int, float, float]:
        return r[0], r[1], time.monotonic()

    return list(env.from_collection(list(range(200))).map(produce).rebalance()
                .map(arrive).slot_sharing_group("consumer").execute_and_collect())


def test_a_busy_producer_hands_records_to_another_process_within_the_buffer_timeout() -> None:
    out = _produced_and_arrived(20)
    assert sorted(v for v, _, _ in out) == list(range(200))
    first_arrival = min(a for _, _, a in out)
    last_produced = max(p for _, p, _ in out)
    assert first_arrival < last_produced - 0.2  # long before the producer is done


def test_a_send_never_blocks_what_the_kernel_cannot_take_waits_in_order(pair: Pair) -> None:
    """The task thread does all network I/O, so a send must not wait for the peer (two
    processes sending to each other would wait forever): a batch larger than any socket
    buffer is queued and goes out as both sides poll."""
    producer, consumer = pair
    inp = consumer.input_channel(1, "x")
    out = producer.output_channel(1, "x", consumer.address)
    big = (["x" * 1000] * 20_000, [None] * 20_000)  # ~20 MB
    started = time.monotonic()
    out.push(big)
    out.push("after")
    assert time.monotonic() - started < 1.0
    _wait(lambda: len(inp) == 2, timeout=20)
    assert inp.poll() == big
    assert inp.poll() == "after"


def test_a_waiting_loop_wakes_when_a_frame_arrives_or_when_set(pair: Pair) -> None:
    producer, consumer = pair
    inp = consumer.input_channel(1, "x")
    out = producer.output_channel(1, "x", consumer.address)
    out.push(([0], [None]))  # the connection is open and known to the consumer
    _wait(lambda: len(inp) == 1)
    inp.poll()
    threading.Timer(0.1, lambda: out.push(([1], [None]))).start()
    started = time.monotonic()
    consumer.wakeup.clear()
    consumer.wakeup.wait(10)
    assert time.monotonic() - started < 5
    _wait(lambda: len(inp) == 1)
    threading.Timer(0.1, consumer.wakeup.set).start()
    started = time.monotonic()
    consumer.wakeup.clear()
    assert consumer.wakeup.wait(10)
    assert time.monotonic() - started < 5


def test_frames_of_an_earlier_attempt_are_never_delivered(pair: Pair) -> None:
    producer, consumer = pair
    consumer.reset("a2")  # the consumer restarted; the producer still sends for a1
    inp = consumer.input_channel(1, "x")
    out = producer.output_channel(1, "x", consumer.address)
    try:
        out.push(([1], [None]))
    except OSError:
        pass  # the connection may already be refused
    _settle(0.1)
    assert inp.poll() is None


def _env(parallelism: int = 2) -> StreamExecutionEnvironment:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "local"
    env.set_parallelism(parallelism)
    return env


def test_keyed_exchange_across_processes_gives_exact_results() -> None:
    env = _env()
    ds = env.from_collection([(i % 11, 1) for i in range(20_000)]).key_by(lambda x: x[0]) \
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
    final: dict[int, int] = {}
    for key, count in ds.execute_and_collect():
        final[key] = count
    assert final == {k: len(range(k, 20_000, 11)) for k in range(11)}


def test_subtasks_run_in_separate_processes() -> None:
    env = _env()

    class Pid:
        def map(self, value: Any) -> Any:
            return os.getpid()

    from strom.datastream.functions import MapFunction

    class PidMap(MapFunction):
        def map(self, value: Any) -> int:
            return os.getpid()

    pids = set(env.from_collection(list(range(100))).rebalance().map(PidMap())
               .execute_and_collect())
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_failure_reaches_the_client_with_the_remote_traceback_and_the_subtask() -> None:
    env = _env()

    def explode(value: int) -> int:
        if value == 77:
            raise ValueError("bad record 77")
        return value

    env.from_collection(list(range(100))).rebalance().map(explode).name("Exploder").print()
    with pytest.raises(JobExecutionError, match="bad record 77") as info:
        env.execute("failing")
    chain = []
    exc: BaseException | None = info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__
    remote = [e for e in chain if isinstance(e, RemoteTraceback)]
    assert remote, chain
    assert "Exploder" in remote[0].text and "TaskManager" in remote[0].text
    assert "explode" in remote[0].text  # the user's frame


def test_unpicklable_function_fails_at_submission_naming_the_operator() -> None:
    env = _env()
    lock = threading.Lock()
    env.from_collection([1, 2]).map(lambda v: (lock, v)[1]).name("Locked").print()
    with pytest.raises(JobExecutionError, match="operator 'Locked'.*cannot be pickled"):
        env.execute("unpicklable")


def test_manual_clock_is_refused_with_a_hint() -> None:
    env = _env()
    env.clock = ManualClock()
    env.from_collection([1]).print()
    with pytest.raises((UnsupportedError, JobExecutionError), match="ManualClock"):
        env.execute()
    with pytest.raises((UnsupportedError, JobExecutionError), match="ManualClock"):  # no hang
        env.from_collection([1]).execute_and_collect(limit=1)


class _Throttle:
    """Stands in for the fault-tolerance job's clock: reading slows down a little every 100
    records, so the job runs for seconds and a TaskManager can be killed in the middle."""

    def __init__(self) -> None:
        self.n = 0

    def advance(self, ms: int) -> None:
        self.n += 1
        if self.n % 100 == 0:
            time.sleep(0.004)


@pytest.mark.slow
def test_sigkill_of_a_taskmanager_recovers_from_the_last_checkpoint(tmp_path: Any) -> None:
    """A TaskManager killed mid-job: detected, replaced, the job restarts from its last
    checkpoint and the exactly-once file output is exact."""
    from tests import fault_tolerance_job as ft

    class Count(ft.Count):
        def initialize_state(self, context: Any) -> None:
            """Nothing to record (the test's registry is not in the TaskManager processes)."""

    env = _env()
    env.enable_checkpointing(200)
    env.get_checkpoint_config().set_checkpoint_storage_dir(str(tmp_path / "chk"))
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(3, 100))
    out = str(tmp_path / "out")
    n = 60_000
    ft.build(env, _Throttle(), n, Count(ft.Failures("sigkill"), on_record=lambda i: None),
             ft.file_sink(out))
    client = env.execute_async("sigkill")
    rm = local_cluster()
    _wait(lambda: client.checkpoints().get("counts", {}).get("completed", 0) >= 2, timeout=60)
    victims = [tm for tm in rm.taskmanagers.values() if tm.owner is not None]
    os.kill(victims[-1].pid, signal.SIGKILL)
    result = client.wait(120)
    assert result.restarts >= 1
    got, want = ft.finished_lines(out), ft.expected(n)
    assert got == want, ft.difference(got, want)


def test_a_parallel_job_runs_on_taskmanager_processes_unless_a_target_is_chosen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STROM_EXECUTION_TARGET", raising=False)
    from strom.datastream.functions import MapFunction

    class PidMap(MapFunction):
        def map(self, value: Any) -> int:
            return os.getpid()

    env = StreamExecutionEnvironment.get_execution_environment()
    assert env._target() == "inline"  # parallelism 1: in this process
    env.from_collection([1, 2, 3]).map(PidMap()).print()
    assert env._target() == "inline"
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    ds = env.from_collection(list(range(20))).rebalance().map(PidMap())
    assert env._target() == "local"
    assert os.getpid() not in set(ds.execute_and_collect())
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    env.clock = ManualClock()
    assert env._target() == "inline"  # manual time lives in this process
    monkeypatch.setenv("STROM_EXECUTION_TARGET", "threads")
    assert StreamExecutionEnvironment.get_execution_environment()._target() == "threads"


def test_an_explicit_local_target_defaults_to_one_subtask_per_core() -> None:
    set_default_configuration(None)  # the tests' parallelism.default=1 (conftest)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "local"
    env.from_collection([1]).rebalance().map(lambda v: v).print()
    graph = env._job_graph("j", clear=False)
    assert max(v.parallelism for v in graph.vertices) == (os.cpu_count() or 1)


class _SlowSink(SinkFunction):
    """Takes 1 ms per 50 records: far slower than the source."""

    def __init__(self) -> None:
        self.n = 0

    def invoke(self, value: Any, context: Any) -> None:
        self.n += 1
        if self.n % 50 == 0:
            time.sleep(0.001)


def test_a_slow_consumer_backpressures_its_producer_with_bounded_queues() -> None:
    """The sink runs in another TaskManager (another slot-sharing group), so every record
    crosses processes; the producer spends time back-pressured (out of credit), the sink's
    input queue never holds more than the credits it granted (plus the events that need
    none), and every record arrives."""
    env = _env(1)
    n = 60_000
    (env.from_collection(list(range(n))).key_by(lambda v: v % 7).map(lambda v: v)
        .slot_sharing_group("slow").add_sink(_SlowSink()).slot_sharing_group("slow"))
    client = env.execute_async("backpressure")
    peak, seen, pressured = 0, False, 0.0
    while not client._control.done.is_set():
        registry = client.metrics
        if registry is not None:
            for name in list(registry.metrics):
                if name.endswith("buffers.inputQueueLength") and "Map" in name:
                    seen = True
                    peak = max(peak, registry.value(name) or 0)
                if name.endswith("backPressuredTimeMsPerSecond") and "Source" in name:
                    pressured = max(pressured, registry.value(name) or 0)
        time.sleep(0.05)
    client.wait(5)
    assert seen and peak <= DEFAULT_CREDITS + 2, peak
    assert pressured > 0  # the source waited for credit


def test_every_record_arrives_through_a_slow_consumer_in_another_process() -> None:
    env = _env(2)
    sink = CollectSink()
    n = 20_000

    class Slow(MapFunction):
        def map(self, value: int) -> int:
            if value % 100 == 0:
                time.sleep(0.002)
            return value

    (env.from_collection(list(range(n))).key_by(lambda v: v % 5).map(Slow())
        .slot_sharing_group("slow").add_sink(sink).slot_sharing_group("slow"))
    env.execute("slow consumer")
    assert sorted(sink.values) == list(range(n))


def test_the_last_frames_of_finished_tasks_still_reach_their_consumer() -> None:
    """A producer's tasks can end while the kernel still holds back their last frames (here
    a 40 MB batch and the end of partition, more than socket buffers take): the TaskManager
    sends them before the job can finish."""
    env = _env(1)
    sink = CollectSink()
    (env.from_source(NumberSequenceSource(0, 39), None, "seq")
        .map(lambda i: str(i) * 1_000_000).rebalance()
        .map(len).slot_sharing_group("other").add_sink(sink).slot_sharing_group("other"))
    client = env.execute_async("last frames")
    try:
        client.get_job_execution_result().result(timeout=120)
    finally:
        client.cancel()
    assert sorted(sink.values) == sorted(len(str(i) * 1_000_000) for i in range(40))


def test_batches_of_built_in_types_travel_marshalled_and_others_pickled_with_their_types(pair: Pair) -> None:
    from strom.common import Row

    producer, consumer = pair
    inp = consumer.input_channel(3, "x", credits=2)  # credit back for every batch
    out = producer.output_channel(3, "x", consumer.address, credits=2)
    out.push(([("a", 1), ("b", 2)], [1, 2]))
    assert out.marshal
    out.push(([Point(1, 2), Row(x=1)], [None, None]))
    assert not out.marshal  # a namedtuple: pickled, from now on
    out.push(([("c", 3)], [3]))
    _wait(lambda: len(inp) == 3)
    assert inp.poll() == ([("a", 1), ("b", 2)], [1, 2])
    values, _ = inp.poll()
    assert type(values[0]) is Point and isinstance(values[1], Row)
    assert inp.poll() == ([("c", 3)], [3])
    _wait(lambda: out.granted == 5)  # every batch, however serialized, returned its credit


ORPHAN_JOB = """
import os, sys, time
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.functions import MapFunction

class Slow(MapFunction):
    def map(self, value):
        time.sleep(0.01)
        return os.getpid()

env = StreamExecutionEnvironment.get_execution_environment()
env.executor = "local"
env.set_parallelism(2)
pids = env.from_collection(list(range(100000))).rebalance().map(Slow()).execute_and_collect()
print("TM", next(pids), flush=True)
print("TM", next(p for p in pids if True), flush=True)
time.sleep(600)
"""


def test_a_client_that_disappears_leaves_no_taskmanager_behind(tmp_path: Any) -> None:
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text(ORPHAN_JOB)
    client = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert client.stdout is not None
    first = client.stdout.readline()
    assert first.startswith("TM"), first
    tm_pid = int(first.split()[1])
    os.kill(client.pid, signal.SIGKILL)
    client.wait()

    def gone() -> bool:
        try:
            os.kill(tm_pid, 0)
        except OSError:
            return True
        with open(f"/proc/{tm_pid}/stat") as f:  # a zombie waiting to be reaped is gone too
            return f.read().split()[2] == "Z"

    _wait(gone, timeout=10)


def test_a_job_that_cannot_get_its_slots_fails_after_the_slot_request_timeout() -> None:
    from strom.common import Configuration

    conf = Configuration()
    conf.set_string("local.number-taskmanager", "1")
    conf.set_string("taskmanager.numberOfTaskSlots", "2")
    conf.set_string("slot.request.timeout", "1 s")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.executor = "local"
    env.set_parallelism(3)
    env.from_collection([1, 2, 3]).rebalance().map(lambda v: v).print()
    started = time.monotonic()
    with pytest.raises(JobExecutionError, match=r"could not get 3 task slot\(s\) within 1000 ms"):
        env.execute("too wide")
    assert time.monotonic() - started < 30
    env.set_parallelism(2)  # fits the fixed cluster: 1 TaskManager with 2 slots
    env.from_collection([1, 2, 3]).rebalance().map(lambda v: v * 2).print()
    env.execute("fits")


def test_an_unknown_taskmanager_start_method_is_refused() -> None:
    from strom.common import Configuration

    conf = Configuration()
    conf.set_string("taskmanager.start-method", "forkserver")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.executor = "local"
    env.from_collection([1]).print()
    with pytest.raises((UnsupportedError, JobExecutionError), match="expected 'fork' or 'spawn'"):
        env.execute()
    with pytest.raises((UnsupportedError, JobExecutionError), match="expected 'fork' or 'spawn'"):
        env.from_collection([1]).execute_and_collect(limit=1)  # fails, never hangs


def test_a_silent_taskmanager_is_lost_after_the_heartbeat_timeout() -> None:
    from strom.common import Configuration
    from strom.datastream.functions import MapFunction

    class Slow(MapFunction):
        def map(self, value: Any) -> Any:
            time.sleep(0.001)
            return value

    conf = Configuration()
    conf.set_string("heartbeat.timeout", "2 s")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.executor = "local"
    env.set_parallelism(2)
    env.from_source(NumberSequenceSource(0, 10**9), None, "numbers").rebalance() \
        .map(Slow()).filter(lambda v: False).print()
    client = env.execute_async("silent taskmanager")
    rm = local_cluster(1, None, None, 2000)
    assert rm.heartbeat_timeout_ms == 2000
    _wait(lambda: any(tm.owner is not None for tm in rm.taskmanagers.values()), timeout=30)
    _wait(lambda: client.get_job_status().result().name == "RUNNING", timeout=30)
    victim = next(tm for tm in rm.taskmanagers.values() if tm.owner is not None)
    os.kill(victim.pid, signal.SIGSTOP)  # alive, connected, silent
    try:
        started = time.monotonic()
        with pytest.raises(JobExecutionError, match="no heartbeat for 2000 ms"):
            client.wait(60)
        assert time.monotonic() - started < 30
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim.pid, signal.SIGCONT)


def test_a_heartbeat_timeout_shorter_than_the_heartbeat_interval_is_refused() -> None:
    from strom.common import Configuration

    conf = Configuration()
    conf.set_string("heartbeat.timeout", "500 ms")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.executor = "local"
    env.from_collection([1]).print()
    with pytest.raises(JobExecutionError, match=r"heartbeat.timeout: '500 ms' \(500 ms\) is not "
                                                "longer than the TaskManagers' heartbeat"):
        env.execute()


def test_the_frame_reader_yields_every_frame_whatever_the_chunking() -> None:
    import random
    import socket

    from strom.runtime.network.frames import FrameReader, encode

    rnd = random.Random(7)
    frames = [(rnd.randrange(100), rnd.randrange(5),
               rnd.randbytes(rnd.choice([0, 1, 9, 100, 5000, 70_000, 300_000])))
              for _ in range(200)]
    data = b"".join(encode(*f) for f in frames)
    a, b = socket.socketpair()

    def write() -> None:
        i = 0
        while i < len(data):
            k = rnd.randrange(1, 100_000)
            a.sendall(data[i:i + k])
            i += k
        a.sendall(encode(1, 0, b"x" * 50)[:20])  # the stream ends inside a frame
        a.close()

    writer = threading.Thread(target=write)
    writer.start()
    reader = FrameReader(b, size=1 << 16)  # smaller than some frames: it grows
    got = []
    while (batch := reader.frames()) is not None:
        got.extend(batch)
    writer.join()
    b.close()
    assert got == frames
