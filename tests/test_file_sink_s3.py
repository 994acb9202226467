"""FileSink on S3 (moto's server through s3fs): segments persisted at checkpoints, exactly-once
commits, restores that continue a part file after its checkpointed segments, and a real job."""
from __future__ import annotations

import os
import uuid

import pytest

from strom.common.serialization import Encoder
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.connectors.file_system import BucketAssigner, FileSink, RollingPolicy
from tests.test_file_sink import Subtask

NEVER_ROLL = RollingPolicy.default_rolling_policy(1 << 40, 1 << 40, 1 << 40)


@pytest.fixture
def base(request) -> str:
    return f"{request.getfixturevalue('s3_server')}/{uuid.uuid4().hex}"


def s3():
    import fsspec

    return fsspec.filesystem("s3", client_kwargs={"endpoint_url": os.environ["AWS_ENDPOINT_URL_S3"]})


def objects(base: str, hidden: bool) -> list[str]:
    fs = s3()
    fs.invalidate_cache()
    inner = base[len("s3://"):]
    try:
        found = fs.find(inner)
    except FileNotFoundError:
        return []
    names = [f[len(inner) + 1:] for f in found]
    return sorted(n for n in names if n.rsplit("/", 1)[-1].startswith(".") == hidden)


def finished(base: str) -> list[str]:
    fs = s3()
    lines: list[str] = []
    for name in objects(base, hidden=False):
        lines.extend(fs.cat_file(f"{base[len('s3://'):]}/{name}").decode().splitlines())
    return sorted(lines, key=lambda s: (len(s), s))


def sink_for(base: str, policy: RollingPolicy = NEVER_ROLL) -> FileSink:
    return (FileSink.for_row_format(base, Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_rolling_policy(policy).build())


def test_pending_objects_appear_only_when_their_checkpoint_completes(base):
    task = Subtask(sink_for(base, RollingPolicy.on_checkpoint_rolling_policy()))
    task.write(1, 2, 3)
    task.checkpoint(1)
    assert objects(base, hidden=False) == [] and len(objects(base, hidden=True)) == 1
    task.complete(1)
    assert finished(base) == ["1", "2", "3"] and objects(base, hidden=True) == []
    task.write(4)
    task.end(2)
    assert finished(base) == ["1", "2", "3", "4"] and objects(base, hidden=True) == []


def test_restore_continues_a_part_file_after_its_checkpointed_segments(base):
    task = Subtask(sink_for(base))
    task.write(1, 2)
    state = task.checkpoint(1)  # the open file is persisted as one segment
    task.complete(1)
    task.write(3, 4)
    task.checkpoint(2)  # a second segment, in a checkpoint that never completes
    task.crash()
    restored = Subtask(sink_for(base), state, restored_id=1)
    restored.write(5)
    restored.end(3)
    assert finished(base) == ["1", "2", "5"]
    assert len(objects(base, hidden=False)) == 1


def test_commit_after_restore_is_idempotent(base):
    task = Subtask(sink_for(base, RollingPolicy.on_checkpoint_rolling_policy()))
    task.write("a")
    state = task.checkpoint(1)
    task.complete(1)
    task.crash()
    Subtask(sink_for(base), state, restored_id=1).end(2)  # commits again: a no-op
    assert finished(base) == ["a"]


@pytest.mark.parametrize("executor", ["inline", "threads"])
def test_a_job_writes_finished_objects_to_s3(base, executor):
    # in-process executors only: the S3 fixture's endpoint and credentials are set in this
    # process's environment, after a local cluster's task processes started
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.set_parallelism(2)
    env.enable_checkpointing(50)
    env.from_collection([str(i) for i in range(200)]).sink_to(sink_for(base))
    env.execute("s3 sink")
    assert finished(base) == [str(i) for i in range(200)]
    assert objects(base, hidden=True) == []
