"""env.socket_text_stream against a Python TCP server on loopback, and DataGeneratorSource:
bounded and parallel, rate-limited on a ManualClock, resumed exactly after failures.

End-to-end tests run on every executor (the ``env``/``executor`` fixtures).
"""
from __future__ import annotations

import collections
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pytest

from strom.common import Types, WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.datastream import ProcessFunction, StreamExecutionEnvironment
from strom.datastream.connectors.datagen import (
    LONG_MAX,
    DataGeneratorSource,
    GeneratorFunction,
    RateLimiterStrategy,
)
from strom.errors import JobDefinitionError
from strom.runtime.job import JobStatus
from strom.testing import CollectSink
from strom.time.clock import ManualClock
from tests.fault_tolerance_job import Failures, finished_lines
from tests.test_file_source import sink, wait_for

NO_WATERMARKS = WatermarkStrategy.no_watermarks()


# -- sockets --------------------------------------------------------------------------------------

class Server:
    """A TCP server on 127.0.0.1 that sends ``payloads[i]`` to its i-th connection, then closes it."""

    def __init__(self, *payloads: bytes, hold: bool = False) -> None:
        self.payloads = list(payloads)
        self.hold = hold  # keep the last connection open until stop()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for i, payload in enumerate(self.payloads):
            conn, _ = self.listener.accept()
            self.connections += 1
            with conn:
                conn.sendall(payload)
                if self.hold and i == len(self.payloads) - 1:
                    self.stopped.wait(20)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


def test_socket_text_stream_reads_lines_from_a_server_on_loopback(env):
    server = Server("héllo\nworld\r\nlast without newline".encode())
    try:
        stream = env.socket_text_stream("127.0.0.1", server.port)
        assert list(stream.execute_and_collect()) == ["héllo", "world", "last without newline"]
    finally:
        server.stop()


def test_socket_retries_after_the_server_closes_and_splits_at_a_custom_delimiter(env):
    server = Server(b"a|b|", b"c|d", b"never read")
    try:
        stream = env.socket_text_stream("127.0.0.1", server.port, delimiter="|", max_retry=2)
        assert list(stream.execute_and_collect()) == ["a", "b", "c", "d"]
        assert server.connections == 2
    finally:
        server.stop()


def test_cancelling_a_job_reading_an_open_socket_ends_it(env):
    server = Server(b"1\n2\n", hold=True)
    env.socket_text_stream("127.0.0.1", server.port).print()
    client = env.execute_async("socket")
    try:
        wait_for(lambda: server.connections == 1)
        assert client.get_job_status().result() is JobStatus.RUNNING
        client.cancel().result(timeout=10)
        assert client.get_job_status().result() is JobStatus.CANCELED
    finally:
        server.stop()


def test_an_unreachable_server_fails_the_job_naming_host_and_port(env):
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    env.socket_text_stream("127.0.0.1", port).add_sink(CollectSink())
    with pytest.raises(Exception, match=f"cannot connect to 127.0.0.1:{port}"):
        env.execute("unreachable")


def test_socket_arguments_are_checked_where_the_job_is_defined():
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match="port"):
        env.socket_text_stream("localhost", 70000)
    with pytest.raises(JobDefinitionError, match="max_retry"):
        env.socket_text_stream("localhost", 9999, max_retry=-2)


# -- datagen -------------------------------------------------------------------------------------

class Square(GeneratorFunction):
    def map(self, value: int) -> int:
        return value * value


def test_datagen_bounded_count_over_parallel_subtasks(env):
    env.set_parallelism(3)
    source = DataGeneratorSource(Square(), 100, Types.LONG())  # Java's (fn, count, type) form
    assert source.bounded and source.produced_type == Types.LONG()
    cloudpickle.loads(cloudpickle.dumps(source))
    got = env.from_source(source, NO_WATERMARKS, "gen").execute_and_collect()
    assert sorted(got) == [i * i for i in range(100)]
    assert env.from_source(source, NO_WATERMARKS, "gen").get_type() == Types.LONG()


def test_datagen_with_long_max_is_unbounded_and_can_be_cancelled(env, tmp_path):
    source = DataGeneratorSource(lambda i: f"r{i}", LONG_MAX, RateLimiterStrategy.per_second(1000))
    assert not source.bounded
    env.enable_checkpointing(20)
    out = str(tmp_path / "out")
    env.from_source(source, NO_WATERMARKS, "gen").sink_to(sink(out))
    client = env.execute_async("forever")
    wait_for(lambda: sum(finished_lines(out).values()) >= 5)
    client.cancel().result(timeout=10)
    got = finished_lines(out)
    assert got == collections.Counter(f"r{i}" for i in range(len(got)))


class Stamp(ProcessFunction):
    """Emits each record with the processing time it was seen at."""

    def process_element(self, value: Any, ctx: Any) -> Iterator[tuple[int, int]]:
        yield value, ctx.timer_service().current_processing_time()


@pytest.mark.in_process("the job runs on a ManualClock")
@pytest.mark.parametrize("parallelism", [1, 2])
def test_datagen_rate_limit_spaces_records_on_the_manual_clock(env, parallelism):
    env.clock = ManualClock(0)
    env.set_parallelism(parallelism)
    source = DataGeneratorSource(lambda i: i, 20, RateLimiterStrategy.per_second(10 * parallelism))
    got = list(env.from_source(source, NO_WATERMARKS, "gen").process(Stamp()).execute_and_collect())
    # each subtask emits 10 records per second: one at once, then one every 100 ms
    by_time = collections.Counter(t for _, t in got)
    assert sorted(v for v, _ in got) == list(range(20))
    assert by_time == {k * 100: parallelism for k in range(20 // parallelism)}


def test_datagen_rate_limit_per_checkpoint():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.clock = ManualClock(0)
    env.enable_checkpointing(1000)
    source = DataGeneratorSource(lambda i: i, 7, RateLimiterStrategy.per_checkpoint(3))
    got = env.from_source(source, NO_WATERMARKS, "gen").process(Stamp()).execute_and_collect()
    assert [t // 1000 for _, t in got] == [0, 0, 0, 1, 1, 1, 2]


CLOCKS: dict[str, ManualClock] = {}
GENERATED: collections.Counter[str] = collections.Counter()


class Generate:
    """index -> line; moves the job's ManualClock 1 ms per record and counts calls (replays)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, index: int) -> str:
        GENERATED[self.token] += 1
        CLOCKS[self.token].advance(1)
        return f"r{index}"


class FailAt:
    def __init__(self, failures: Failures) -> None:
        self.failures = failures

    def __call__(self, line: str) -> str:
        self.failures.fire(line)
        return line


@pytest.mark.in_process("a ManualClock moved by the job, failure registries")
@pytest.mark.parametrize("parallelism", [1, 2])
def test_datagen_resumes_exactly_after_failures(executor, parallelism, tmp_path):
    n = 10_000
    token = uuid.uuid4().hex
    clock = CLOCKS[token] = ManualClock(0)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor, env.clock = executor, clock
    env.set_parallelism(parallelism)
    env.enable_checkpointing(200)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(5, 0))
    failures = Failures(token, ["r1700", "r6100"])
    out = str(tmp_path / "out")
    (env.from_source(DataGeneratorSource(Generate(token), n), NO_WATERMARKS, "gen")
     .map(FailAt(failures)).sink_to(sink(out)))
    result = env.execute("datagen")
    assert failures.fired == {"r1700", "r6100"} and result.restarts >= 1
    assert finished_lines(out) == collections.Counter(f"r{i}" for i in range(n))
    if parallelism == 1 and executor == "inline":  # resumed from the checkpointed index, not 0
        assert GENERATED[token] - n < 1700 + 6100
