"""FileSource and env.read_text_file: bounded and continuous reading, CSV and JSON-lines formats,
exact resumption after failures and rescaling from a savepoint, and S3 through fsspec.

End-to-end tests run on every executor (the ``env``/``executor`` fixtures).
"""
from __future__ import annotations

import collections
import os
import pickle
import time
import uuid
from typing import Any

import cloudpickle
import pytest

from strom.common import Duration, Types, WatermarkStrategy
from strom.common.restart_strategy import RestartStrategies
from strom.common.serialization import Encoder
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    JsonLinesFormat,
    RollingPolicy,
    StreamFormat,
)
from strom.datastream.formats.csv import CsvReaderFormat, CsvSchema
from strom.errors import InputFormatError, JobDefinitionError, UnsupportedError, find_cause
from strom.runtime.job import JobStatus
from strom.testing import CollectSink
from strom.time.clock import ManualClock
from tests.fault_tolerance_job import Failures, finished_lines

NO_WATERMARKS = WatermarkStrategy.no_watermarks()


def write(path: Any, text: str) -> str:
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return str(path)


def publish(directory: Any, name: str, text: str) -> None:
    """Write a file under a hidden name, then rename it: a monitoring source sees it whole."""
    hidden = write(os.path.join(str(directory), f".{name}.tmp"), text)
    os.rename(hidden, os.path.join(str(directory), name))


def text_source(*paths: Any) -> Any:
    return FileSource.for_record_stream_format(StreamFormat.text_line_format(), *map(str, paths))


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the job"
        time.sleep(0.01)


# -- bounded ------------------------------------------------------------------------------------

def test_bounded_source_reads_a_directory_recursively_and_skips_hidden_files(env, tmp_path):
    write(tmp_path / "in" / "a.txt", "a1\na2\r\na3")
    write(tmp_path / "in" / "sub" / "b.log", "b1\nb2\n")
    write(tmp_path / "in" / "sub" / "deeper" / "c", "c1\n")
    write(tmp_path / "in" / ".hidden", "h1\n")
    write(tmp_path / "in" / "_SUCCESS", "h2\n")
    write(tmp_path / "in" / ".git" / "x", "h3\n")
    write(tmp_path / "in" / "sub" / "_tmp" / "y", "h4\n")
    env.set_parallelism(2)
    source = text_source(tmp_path / "in").process_static_file_set().build()
    got = env.from_source(source, NO_WATERMARKS, "files").execute_and_collect()
    assert sorted(got) == ["a1", "a2", "a3", "b1", "b2", "c1"]


def test_read_text_file_reads_a_file_and_a_file_uri(env, tmp_path):
    path = write(tmp_path / "log.txt", "x\ny\r\n\nz\n")
    assert list(env.read_text_file(path).execute_and_collect()) == ["x", "y", "", "z"]
    assert list(env.read_text_file(f"file://{path}", "latin-1").execute_and_collect()) == \
        ["x", "y", "", "z"]


def test_the_source_is_picklable_and_opens_nothing_when_built(tmp_path):
    source = text_source(write(tmp_path / "a", "1\n")).build()
    copy = cloudpickle.loads(cloudpickle.dumps(source))
    assert repr(copy) == repr(source) and pickle.loads(pickle.dumps(source)).bounded


def test_builder_errors_name_what_was_wrong(tmp_path):
    with pytest.raises(JobDefinitionError, match="at least one path"):
        FileSource.for_record_stream_format(StreamFormat.text_line_format())
    with pytest.raises(JobDefinitionError, match="expected a StreamFormat"):
        FileSource.for_record_stream_format("lines", str(tmp_path))
    with pytest.raises(JobDefinitionError, match="expected a Duration"):
        text_source(tmp_path).monitor_continuously(10)
    with pytest.raises(UnsupportedError, match="no bulk readers"):
        FileSource.for_bulk_file_format(None, str(tmp_path))


def test_a_missing_path_fails_the_job_naming_it(env, tmp_path):
    env.from_source(text_source(tmp_path / "nope").build(), NO_WATERMARKS, "f").add_sink(CollectSink())
    with pytest.raises(Exception, match="nope"):
        env.execute("missing")


# -- continuous -------------------------------------------------------------------------------------

def lines_in(out: str) -> list[str]:
    return sorted(finished_lines(out).elements())


def test_continuous_monitoring_picks_up_files_written_while_the_job_runs(env, tmp_path):
    directory, out = tmp_path / "in", str(tmp_path / "out")
    publish(directory, "first.txt", "1\n2\n")
    env.set_parallelism(2)
    env.enable_checkpointing(20)  # the sink's files become visible at checkpoints
    source = text_source(directory).monitor_continuously(Duration.of_millis(20)).build()
    assert not source.bounded
    env.from_source(source, NO_WATERMARKS, "monitored").sink_to(sink(out))
    client = env.execute_async("monitor")
    wait_for(lambda: len(lines_in(out)) >= 2)
    publish(directory, "second.txt", "3\n4\n5\n")
    os.makedirs(directory / "later")
    publish(directory / "later", "third.txt", "6\n")
    wait_for(lambda: len(lines_in(out)) >= 6)
    time.sleep(0.1)  # several more discoveries and checkpoints: nothing is read twice
    assert client.get_job_status().result() is JobStatus.RUNNING
    client.cancel().result(timeout=10)
    assert lines_in(out) == ["1", "2", "3", "4", "5", "6"]


def test_continuous_source_restored_from_a_savepoint_reads_only_new_files_at_any_parallelism(
        executor, tmp_path):
    directory, out = tmp_path / "in", str(tmp_path / "out")
    old = [f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)]
    publish(directory, "a.txt", "\n".join(old[:20]) + "\n")
    publish(directory, "b.txt", "\n".join(old[20:]) + "\n")

    def job(parallelism: int) -> Any:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.executor = executor
        env.set_parallelism(parallelism)
        env.enable_checkpointing(20)
        source = text_source(directory).monitor_continuously(Duration.of_millis(20)).build()
        env.from_source(source, NO_WATERMARKS, "monitored").uid("files").sink_to(sink(out)).uid("sink")
        return env

    client = job(2).execute_async("first")
    wait_for(lambda: len(lines_in(out)) >= 40)
    savepoint = client.stop_with_savepoint(False, str(tmp_path / "sp")).result(20)
    assert lines_in(out) == sorted(old)

    publish(directory, "c.txt", "c0\nc1\n")
    env = job(3)
    env.get_checkpoint_config().restore_path = savepoint
    client = env.execute_async("restored")
    wait_for(lambda: len(lines_in(out)) >= 42)
    time.sleep(0.15)
    client.cancel().result(timeout=10)
    assert lines_in(out) == sorted([*old, "c0", "c1"])


# -- formats ---------------------------------------------------------------------------------------

CSV_SCHEMA = (CsvSchema.builder().add_number_column("id", Types.INT()).add_string_column("name")
              .add_number_column("score", Types.DOUBLE()).add_boolean_column("ok")
              .add_array_column("tags", ";").set_use_header().build())


def test_csv_format_reads_typed_named_rows(env, tmp_path):
    write(tmp_path / "in" / "a.csv",
          'id,name,score,ok,tags\n1,ann,2.5,true,x;y\n2,"b, quoted",1,false,\n')
    source = FileSource.for_record_stream_format(CsvReaderFormat.for_schema(CSV_SCHEMA),
                                                 str(tmp_path / "in")).build()
    rows = env.from_source(source, NO_WATERMARKS, "csv").execute_and_collect()
    got = [r.as_dict() for r in rows]
    assert got == [{"id": 1, "name": "ann", "score": 2.5, "ok": True, "tags": ["x", "y"]},
                   {"id": 2, "name": "b, quoted", "score": 1.0, "ok": False, "tags": []}]
    assert source.produced_type.get_field_names() == ["id", "name", "score", "ok", "tags"]
    assert env.from_source(source, NO_WATERMARKS, "csv").get_type() == source.produced_type


@pytest.mark.parametrize("bad, reason", [("3,carl,not-a-number,true,\n", "column 'score'"),
                                         ("3,carl\n", "expected 5 columns")])
def test_a_malformed_csv_row_fails_the_job_naming_file_and_line(env, tmp_path, bad, reason):
    path = write(tmp_path / "in" / "bad.csv", "id,name,score,ok,tags\n1,a,1,true,\n" + bad)
    source = FileSource.for_record_stream_format(CsvReaderFormat.for_schema(CSV_SCHEMA), path).build()
    env.from_source(source, NO_WATERMARKS, "csv").add_sink(CollectSink())
    with pytest.raises(Exception) as info:
        env.execute("bad csv")
    error = find_cause(info.value, InputFormatError)
    assert error is not None, info.value
    assert f"{path}, line 3" in str(error) and reason in str(error)


def test_ignore_parse_errors_skips_malformed_records_with_a_warning(env, executor, tmp_path, caplog):
    path = write(tmp_path / "a.jsonl", '{"id": 1, "name": "a"}\nnot json\n[1]\n\n{"id": "x"}\n{"id": 3}\n')
    fmt = JsonLinesFormat.for_type_info(Types.ROW_NAMED(["id", "name"], [Types.LONG(), Types.STRING()]))
    source = FileSource.for_record_stream_format(fmt.with_ignore_parse_errors(), path).build()
    with caplog.at_level("WARNING"):
        rows = env.from_source(source, NO_WATERMARKS, "json").execute_and_collect()
    assert [r.as_dict() for r in rows] == [{"id": 1, "name": "a"}, {"id": 3, "name": None}]
    if executor not in ("inline", "threads"):
        return  # the warnings were logged in the task processes
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert [m.split(": ")[1] for m in skipped] == [f"{path}, line {n}" for n in (2, 3, 5)]


def test_json_lines_without_a_type_are_dicts_and_a_bad_line_fails_naming_it(env, tmp_path):
    path = write(tmp_path / "a.jsonl", '{"a": 1}\n{"b": [2]}\n')
    source = FileSource.for_record_stream_format(JsonLinesFormat.for_type_info(), path).build()
    assert list(env.from_source(source, NO_WATERMARKS, "j").execute_and_collect()) == [{"a": 1}, {"b": [2]}]
    bad = write(tmp_path / "b.jsonl", '{"a": 1}\n{"a": \n')
    env.from_source(FileSource.for_record_stream_format(JsonLinesFormat.for_type_info(), bad).build(),
                    NO_WATERMARKS, "j").add_sink(CollectSink())
    with pytest.raises(Exception) as info:
        env.execute("bad json")
    assert f"{bad}, line 2: not valid JSON" in str(find_cause(info.value, InputFormatError))


# -- exactly once: failures and rescaling --------------------------------------------------------------

LINES_PER_FILE = 3000
PROCESSED: collections.Counter[str] = collections.Counter()
CLOCKS: dict[str, ManualClock] = {}  # per test token (user functions are copied, this is not)


def make_input(directory: Any, files: int = 4) -> list[str]:
    lines = []
    for f in range(files):
        text = [f"f{f}-{i}" for i in range(LINES_PER_FILE)]
        write(os.path.join(str(directory), f"part-{f}.txt"), "\n".join(text) + "\n")
        lines.extend(text)
    return lines


class Tick:
    """Moves the job's ManualClock 1 ms per record (checkpoints fall between records), fails
    at chosen records, and counts how many records reached it (replays included)."""

    def __init__(self, clock: ManualClock, failures: Failures, token: str) -> None:
        CLOCKS[token] = clock
        self.failures, self.token = failures, token

    def __call__(self, line: str) -> str:
        PROCESSED[self.token] += 1
        CLOCKS[self.token].advance(1)
        self.failures.fire(line)
        return line


def sink(out: str) -> FileSink:
    return (FileSink.for_row_format(out, Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy()).build())


@pytest.mark.in_process("a ManualClock moved by the job, failure registries")
@pytest.mark.parametrize("parallelism", [1, 2])
def test_failures_mid_file_resume_from_the_checkpointed_position_exactly_once(
        executor, parallelism, tmp_path):
    lines = make_input(tmp_path / "in")
    clock = ManualClock(0)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor, env.clock = executor, clock
    env.set_parallelism(parallelism)
    env.enable_checkpointing(200)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(5, 0))
    token = uuid.uuid4().hex
    points = ["f0-1500", "f2-2100"]
    failures = Failures(token, points)
    out = str(tmp_path / "out")
    (env.read_text_file(str(tmp_path / "in")).map(Tick(clock, failures, token)).name("tick")
     .sink_to(sink(out)))
    result = env.execute("resume")
    assert failures.fired == set(points) and result.restarts >= 1
    # the sink restores its files to the checkpoint: a source that did not resume at exactly the
    # checkpointed positions would lose or duplicate lines here
    assert finished_lines(out) == collections.Counter(lines)
    if parallelism == 1 and executor == "inline":  # it did not start over (1500 + 8100 lines)
        assert PROCESSED[token] - len(lines) < 1500 + 8100


def test_rescaling_a_file_source_from_a_savepoint_reads_every_line_once(executor, tmp_path):
    lines = make_input(tmp_path / "in", files=5)
    out = str(tmp_path / "out")

    def job(parallelism: int, slow: bool) -> StreamExecutionEnvironment:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.executor = executor
        env.set_parallelism(parallelism)
        env.enable_checkpointing(20)
        stream = env.from_source(text_source(tmp_path / "in").build(), NO_WATERMARKS, "files").uid("files")
        if slow:
            stream = stream.map(_slow).uid("slow")
        else:
            stream = stream.map(lambda x: x).uid("slow")
        stream.sink_to(sink(out)).uid("sink")
        return env

    client = job(2, slow=True).execute_async("first")
    wait_for(lambda: len(lines_in(out)) > 0)  # running: a checkpoint committed some lines
    savepoint = client.stop_with_savepoint(False, str(tmp_path / "sp")).result(20)
    assert 0 < len(lines_in(out)) < len(lines)  # stopped with files half read
    env = job(3, slow=False)
    env.get_checkpoint_config().restore_path = savepoint
    env.execute("rescaled")
    assert finished_lines(out) == collections.Counter(lines)


def test_rescaling_a_monitoring_source_mid_file_from_a_savepoint_reads_every_line_once(
        executor, tmp_path):
    lines = make_input(tmp_path / "in", files=5)
    out = str(tmp_path / "out")

    def job(parallelism: int, slow: bool) -> StreamExecutionEnvironment:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.executor = executor
        env.set_parallelism(parallelism)
        env.enable_checkpointing(20)
        source = text_source(tmp_path / "in").monitor_continuously(Duration.of_millis(20)).build()
        stream = env.from_source(source, NO_WATERMARKS, "files").uid("files")
        stream.map(_slow if slow else _same).uid("slow").sink_to(sink(out)).uid("sink")
        return env

    client = job(2, slow=True).execute_async("first")
    wait_for(lambda: len(lines_in(out)) > 0)  # running: a checkpoint committed some lines
    savepoint = client.stop_with_savepoint(False, str(tmp_path / "sp")).result(20)
    assert 0 < len(lines_in(out)) < len(lines)  # stopped with files half read
    publish(tmp_path / "in", "new.txt", "n0\nn1\n")
    env = job(3, slow=False)
    env.get_checkpoint_config().restore_path = savepoint
    client = env.execute_async("rescaled")
    wait_for(lambda: len(lines_in(out)) >= len(lines) + 2)
    time.sleep(0.1)
    client.cancel().result(timeout=10)
    assert finished_lines(out) == collections.Counter([*lines, "n0", "n1"])


def _same(line: str) -> str:
    return line


def _slow(line: str) -> str:
    time.sleep(0.0002)
    return line


# -- S3 ------------------------------------------------------------------------------------------

def test_file_source_and_read_text_file_read_s3(env, executor, request):
    if executor not in ("inline", "threads"):
        pytest.skip("the S3 fixture sets the endpoint and credentials in this process's "
                    "environment, after the local cluster's task processes started")
    bucket = request.getfixturevalue("s3_server")
    import fsspec

    prefix = f"{bucket}/{uuid.uuid4().hex}"
    fs = fsspec.filesystem("s3", client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL_S3"]})
    fs.pipe({f"{prefix}/a.txt": b"a1\na2\n", f"{prefix}/sub/b.txt": b"b1\n",
             f"{prefix}/.hidden": b"h\n", f"{prefix}/_tmp/c.txt": b"h\n"})
    env.set_parallelism(2)
    got = env.from_source(text_source(prefix).build(), NO_WATERMARKS, "s3").execute_and_collect()
    assert sorted(got) == ["a1", "a2", "b1"]
    assert list(env.read_text_file(f"{prefix}/sub/b.txt").execute_and_collect()) == ["b1"]
