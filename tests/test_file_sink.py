"""FileSink: naming, rolling, bucket assigners, two-phase commit and exactly-once restores.

The sink is driven as the sink operator drives it (strom.runtime.checkpointing's order), with the
real OperatorStateStore and checkpoint contexts; only the runtime context (two getters) and the
invoke context (three getters over a manual clock) are stand-ins.
"""
from __future__ import annotations

import copy
import datetime as dt
import gc
import os
import pickle
import re
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strom.common.serialization import Encoder
from strom.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    OutputFileConfig,
    RollingPolicy,
)
from strom.errors import CheckpointError, JobDefinitionError, UnsupportedError
from strom.runtime.checkpointing import FunctionInitializationContext, FunctionSnapshotContext
from strom.state.operator_state import OperatorStateStore, redistribute

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class RuntimeContext:
    def __init__(self, index: int, parallelism: int) -> None:
        self.index, self.parallelism = index, parallelism

    def get_index_of_this_subtask(self) -> int:
        return self.index

    def get_number_of_parallel_subtasks(self) -> int:
        return self.parallelism


class InvokeContext:
    def __init__(self) -> None:
        self.now = 0

    def timestamp(self) -> int | None:
        return None

    def current_processing_time(self) -> int:
        return self.now

    def current_watermark(self) -> int:
        return -(2**63)


class Subtask:
    """One subtask's sink, driven through the runtime's hooks in the runtime's order."""

    def __init__(self, sink: FileSink, restored: dict | None = None,
                 restored_id: int | None = None, index: int = 0, parallelism: int = 1) -> None:
        self.fn = copy.deepcopy(sink)  # as sink_to does per subtask
        self.store = OperatorStateStore()
        self.store.restore(restored)
        self.fn.initialize_state(FunctionInitializationContext(self.store, None, restored_id))
        self.fn.open(RuntimeContext(index, parallelism))
        self.ctx = InvokeContext()

    def write(self, *values: object, now: int | None = None) -> None:
        if now is not None:
            self.ctx.now = now
        for v in values:
            self.fn.invoke(v, self.ctx)

    def tick(self, now: int) -> None:
        self.ctx.now = now
        self.fn.on_processing_time(now)

    def checkpoint(self, checkpoint_id: int) -> dict:
        self.fn.snapshot_state(FunctionSnapshotContext(checkpoint_id, self.ctx.now))
        return self.store.snapshot()

    def complete(self, checkpoint_id: int) -> None:
        self.fn.notify_checkpoint_complete(checkpoint_id)

    def end(self, final_id: int) -> None:
        """End of input: finish, final checkpoint, its notification, close."""
        self.fn.finish()
        self.checkpoint(final_id)
        self.complete(final_id)
        self.fn.close()

    def crash(self) -> None:
        """Drop the sink without close (buffered bytes reach the file when it is collected)."""
        del self.fn
        gc.collect()


def sink_for(path: object, policy: RollingPolicy | None = None, prefix: str = "part",
             suffix: str = "", assigner: BucketAssigner | None = None) -> FileSink:
    builder = (FileSink.for_row_format(str(path), Encoder.simple_string_encoder())
               .with_bucket_assigner(assigner or BucketAssigner.base_path_bucket_assigner())
               .with_output_file_config(OutputFileConfig.builder().with_part_prefix(prefix)
                                        .with_part_suffix(suffix).build()))
    if policy is not None:
        builder = builder.with_rolling_policy(policy)
    return builder.build()


def files(base: object, hidden: bool) -> list[str]:
    """Relative paths of finished (visible) or in-progress/pending (hidden) files."""
    out = []
    for root, _dirs, names in os.walk(base):
        for name in names:
            if name.startswith(".") == hidden:
                out.append(os.path.relpath(os.path.join(root, name), base))
    return sorted(out)


def finished_lines(base: object) -> list[str]:
    lines: list[str] = []
    for rel in files(base, hidden=False):
        with open(os.path.join(base, rel), encoding="utf-8") as f:
            lines.extend(f.read().splitlines())
    return sorted(lines, key=lambda s: (len(s), s))


def read(base: object, rel: str) -> str:
    with open(os.path.join(base, rel), encoding="utf-8") as f:
        return f.read()


ON_CHECKPOINT = RollingPolicy.on_checkpoint_rolling_policy()


# -- naming --------------------------------------------------------------------------------------

def test_in_progress_is_hidden_and_finished_name_has_prefix_unique_id_counter_suffix(tmp_path):
    task = Subtask(sink_for(tmp_path, ON_CHECKPOINT, prefix="pre", suffix=".txt"))
    task.write("a", "b")
    [hidden] = files(tmp_path, hidden=True)
    assert re.fullmatch(rf"\.pre-({UUID})-0\.txt\.inprogress\.{UUID}", hidden)
    assert files(tmp_path, hidden=False) == []
    task.checkpoint(1)
    task.complete(1)
    unique_id = re.fullmatch(rf"\.pre-({UUID})-0.*", hidden).group(1)
    assert files(tmp_path, hidden=False) == [f"pre-{unique_id}-0.txt"]
    assert read(tmp_path, f"pre-{unique_id}-0.txt") == "a\nb\n"


def test_counter_counts_the_files_of_one_bucket_and_an_idle_bucket_starts_afresh(tmp_path):
    # as Flink's FileWriter: a bucket with nothing open or pending is dropped at a checkpoint;
    # the next record makes a new bucket object, with a fresh unique id and counter 0
    task = Subtask(sink_for(tmp_path, RollingPolicy.default_rolling_policy(part_size=1)))
    task.write("a", "b", "c")
    task.end(1)
    names = files(tmp_path, hidden=False)
    unique_id = re.fullmatch(rf"part-({UUID})-0", names[0]).group(1)
    assert names == [f"part-{unique_id}-{i}" for i in range(3)]
    task = Subtask(sink_for(tmp_path, ON_CHECKPOINT))
    for cid in (1, 2):
        task.write(cid)
        task.checkpoint(cid)
    task.complete(2)
    later = sorted(set(files(tmp_path, hidden=False)) - set(names))
    assert [n[-2:] for n in later] == ["-0", "-0"] and later[0] != later[1]


def test_simple_string_encoder_writes_python_str_and_charset(tmp_path):
    sink = (FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder("UTF-16-LE"))
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner()).build())
    task = Subtask(sink)
    task.write((1, "é"), None, 2.5)
    task.end(1)
    [name] = files(tmp_path, hidden=False)
    assert (tmp_path / name).read_bytes().decode("utf-16-le") == "(1, 'é')\nNone\n2.5\n"


# -- rolling -------------------------------------------------------------------------------------

def test_default_policy_rolls_on_size_before_the_next_record(tmp_path):
    policy = RollingPolicy.default_rolling_policy(part_size=10)
    task = Subtask(sink_for(tmp_path, policy))
    task.write("1111", "2222", "3333", "4444")  # 5 bytes each: rolls once the file is > 10
    task.checkpoint(1)
    task.complete(1)
    [first] = files(tmp_path, hidden=False)
    assert read(tmp_path, first) == "1111\n2222\n3333\n"
    assert len(files(tmp_path, hidden=True)) == 1  # "4444" stays in progress


def test_default_policy_keeps_a_small_file_open_across_checkpoints_but_rolls_a_large_one(tmp_path):
    task = Subtask(sink_for(tmp_path, RollingPolicy.default_rolling_policy(part_size=8)))
    task.write("abc")
    state = task.checkpoint(1)
    task.complete(1)
    assert files(tmp_path, hidden=False) == []
    [entry] = state["states"]["file-sink-state"]["items"]
    assert entry["in_progress"]["offset"] == 4
    task.write("defgh")  # 10 bytes > 8: the checkpoint rolls it
    task.checkpoint(2)
    task.complete(2)
    [name] = files(tmp_path, hidden=False)
    assert read(tmp_path, name) == "abc\ndefgh\n"


def test_default_policy_rolls_on_inactivity_and_rollover_only_at_the_bucket_check(tmp_path):
    policy = RollingPolicy.default_rolling_policy(rollover_interval=100, inactivity_interval=30)
    task = Subtask(sink_for(tmp_path, policy))
    task.write("a", now=0)
    task.write("b", now=20)
    task.tick(49)                 # idle 29 < 30, age 49 < 100
    task.write("c", now=1000)     # a record never rolls on time (Flink: only size on events)
    task.tick(1029)               # 1029 old: rolls ("a b c")
    task.write("d", now=1029)
    task.tick(1058)               # idle 29
    task.tick(1059)               # idle 30: rolls ("d")
    for t in range(1100, 1200, 20):
        task.write(str(t), now=t)
        task.tick(t + 10)         # never idle 30, but the file opened at 1100 is 100 old at 1200
    task.tick(1200)
    task.write("e", now=1201)
    task.checkpoint(1)
    task.complete(1)
    contents = sorted(read(tmp_path, n) for n in files(tmp_path, hidden=False))
    assert contents == sorted(["a\nb\nc\n", "d\n", "1100\n1120\n1140\n1160\n1180\n"])
    assert len(files(tmp_path, hidden=True)) == 1  # "e"


def test_bucket_check_interval_is_the_processing_time_interval():
    assert sink_for("/tmp/x").processing_time_interval_ms == 60_000
    sink = (FileSink.for_row_format("/tmp/x", Encoder.simple_string_encoder())
            .with_bucket_check_interval(250).build())
    assert sink.processing_time_interval_ms == 250
    with pytest.raises(JobDefinitionError, match="positive int"):
        FileSink.for_row_format("/tmp/x", Encoder.simple_string_encoder()).with_bucket_check_interval(0)


def test_on_checkpoint_policy_rolls_at_every_checkpoint_and_only_then(tmp_path):
    task = Subtask(sink_for(tmp_path, ON_CHECKPOINT))
    task.write(*["x" * 100] * 50, now=0)
    task.tick(10 ** 9)
    assert len(files(tmp_path, hidden=True)) == 1
    for cid in (1, 2, 3):
        task.write(cid)
        task.checkpoint(cid)
    task.complete(3)
    assert len(files(tmp_path, hidden=False)) == 3
    assert files(tmp_path, hidden=True) == []


# -- commit --------------------------------------------------------------------------------------

def test_pending_files_finish_only_when_their_checkpoint_completes(tmp_path):
    task = Subtask(sink_for(tmp_path, ON_CHECKPOINT))
    task.write(1)
    task.checkpoint(1)
    task.write(2)
    task.checkpoint(2)
    task.write(3)
    task.checkpoint(3)
    assert files(tmp_path, hidden=False) == []
    task.fn.notify_checkpoint_aborted(1)
    assert files(tmp_path, hidden=False) == []
    task.complete(2)  # covers 1 too
    assert finished_lines(tmp_path) == ["1", "2"]
    task.complete(2)  # repeated: nothing more
    task.complete(3)
    assert finished_lines(tmp_path) == ["1", "2", "3"]
    assert files(tmp_path, hidden=True) == []


def test_finish_rolls_everything_and_the_final_checkpoint_commits_it(tmp_path):
    task = Subtask(sink_for(tmp_path))
    task.write(*range(5))
    task.checkpoint(1)
    task.write(*range(5, 8))
    task.end(2)
    assert finished_lines(tmp_path) == [str(i) for i in range(8)]
    assert files(tmp_path, hidden=True) == []


def test_close_commits_nothing(tmp_path):
    task = Subtask(sink_for(tmp_path, ON_CHECKPOINT))
    task.write(1)
    task.checkpoint(1)
    task.fn.close()
    assert files(tmp_path, hidden=False) == [] and len(files(tmp_path, hidden=True)) == 1


# -- bucket assigners ----------------------------------------------------------------------------

AT = int(dt.datetime(2024, 3, 7, 21, 5, tzinfo=dt.UTC).timestamp() * 1000)


def test_date_time_bucket_assigner_uses_processing_time_and_java_patterns(tmp_path):
    assigner = BucketAssigner.date_time_bucket_assigner(timezone_id="UTC")
    task = Subtask(sink_for(tmp_path, ON_CHECKPOINT, assigner=assigner))
    task.write("a", now=AT)
    task.write("b", now=AT + 3_600_000)
    task.end(1)
    assert [os.path.dirname(f) for f in files(tmp_path, hidden=False)] == ["2024-03-07--21",
                                                                           "2024-03-07--22"]
    offset = BucketAssigner.date_time_bucket_assigner("yyyy/MM/dd 'at' HH:mm", "GMT+02:00")
    assert offset.bucket_id_at(AT) == "2024/03/07 at 23:05"
    berlin = BucketAssigner.date_time_bucket_assigner("yy-M-d H:mm:ss.SSS EEE", "Europe/Berlin")
    assert berlin.bucket_id_at(AT + 7) == "24-3-7 22:05:00.007 Thu"
    local = BucketAssigner.date_time_bucket_assigner("yyyy-MM-dd--HH")
    assert local.bucket_id_at(AT) == dt.datetime.fromtimestamp(AT / 1000).strftime("%Y-%m-%d--%H")
    assert pickle.loads(pickle.dumps(berlin)).bucket_id_at(AT) == berlin.bucket_id_at(AT)


def test_date_time_bucket_assigner_rejects_what_it_cannot_format():
    with pytest.raises(UnsupportedError, match="letter 'Q'"):
        BucketAssigner.date_time_bucket_assigner("yyyy-QQ")
    with pytest.raises(JobDefinitionError, match="unclosed quote"):
        BucketAssigner.date_time_bucket_assigner("yyyy-'MM")
    with pytest.raises(JobDefinitionError, match="unknown timezone_id"):
        BucketAssigner.date_time_bucket_assigner(timezone_id="Mars/Olympus")


def test_base_path_bucket_assigner_writes_into_the_base_path(tmp_path):
    task = Subtask(sink_for(tmp_path))
    task.write(1)
    task.end(1)
    [name] = files(tmp_path, hidden=False)
    assert os.path.dirname(name) == ""


# -- failures and restores -----------------------------------------------------------------------

def test_restore_truncates_the_in_progress_file_and_keeps_writing_into_it(tmp_path):
    sink = sink_for(tmp_path)  # default policy: the file stays open across checkpoints
    task = Subtask(sink)
    task.write(*range(5))
    snap = task.checkpoint(1)
    task.complete(1)
    task.write(*range(5, 8))   # after the checkpoint: must not survive
    [hidden] = files(tmp_path, hidden=True)
    task.crash()
    assert read(tmp_path, hidden).splitlines() == [str(i) for i in range(8)]

    again = Subtask(sink, snap, restored_id=1)
    assert read(tmp_path, hidden).splitlines() == [str(i) for i in range(5)]  # truncated
    again.write(*range(5, 10))  # the source replays from the checkpoint
    again.end(2)
    [finished] = files(tmp_path, hidden=False)
    assert hidden.startswith(f".{finished}.inprogress.")  # resumed under its old name
    assert finished_lines(tmp_path) == [str(i) for i in range(10)]
    assert files(tmp_path, hidden=True) == []


def test_pending_files_of_the_restored_checkpoint_are_committed_on_restore(tmp_path):
    sink = sink_for(tmp_path, ON_CHECKPOINT)
    task = Subtask(sink)
    task.write(1, 2, 3)
    snap1 = task.checkpoint(1)      # completes, but the notification is lost in the crash
    task.write(4, 5)
    task.checkpoint(2)              # never completes
    task.write(6)
    task.crash()
    assert files(tmp_path, hidden=False) == []

    again = Subtask(sink, snap1, restored_id=1)
    assert finished_lines(tmp_path) == ["1", "2", "3"]
    again.complete(1)  # a late notification of the restored checkpoint: nothing left to do
    again.write(4, 5, 6, 7)
    again.end(2)
    assert finished_lines(tmp_path) == [str(i) for i in range(1, 8)]
    # the failed attempt's files after checkpoint 1 stay hidden, never committed
    assert len(files(tmp_path, hidden=True)) == 2


def test_commit_on_restore_is_idempotent(tmp_path):
    sink = sink_for(tmp_path, ON_CHECKPOINT)
    task = Subtask(sink)
    task.write(1)
    snap = task.checkpoint(1)
    task.complete(1)  # renamed already
    task.crash()
    for _ in range(2):  # restored twice from the same checkpoint
        Subtask(sink, snap, restored_id=1).fn.close()
    assert finished_lines(tmp_path) == ["1"]


def test_restore_fails_loudly_when_the_in_progress_file_is_gone(tmp_path):
    sink = sink_for(tmp_path)
    task = Subtask(sink)
    task.write(1)
    snap = task.checkpoint(1)
    task.crash()
    [hidden] = files(tmp_path, hidden=True)
    os.remove(tmp_path / hidden)
    with pytest.raises(CheckpointError, match="is missing"):
        Subtask(sink, snap, restored_id=1)


def test_names_after_a_restore_never_collide_with_earlier_files(tmp_path):
    sink = sink_for(tmp_path, RollingPolicy.default_rolling_policy(part_size=3))
    task = Subtask(sink)
    task.write("aa", "bb", "cc")
    snap = task.checkpoint(1)
    task.complete(1)
    task.write("dd", "ee", "ff")
    task.checkpoint(2)
    task.crash()
    before = set(files(tmp_path, hidden=False)) | {
        re.sub(r"^\.(.*)\.inprogress\..*$", r"\1", h) for h in files(tmp_path, hidden=True)}

    again = Subtask(sink, snap, restored_id=1)
    again.write("dd", "ee", "ff", "gg")
    again.end(2)
    new = set(files(tmp_path, hidden=False)) - before
    assert new and not any(name in before for name in new)
    ids = {re.fullmatch(rf"part-({UUID})-\d+", n).group(1) for n in files(tmp_path, hidden=False)}
    assert len(ids) == 2  # the first attempt's unique id, and the restored bucket's fresh one
    assert finished_lines(tmp_path) == ["aa", "bb", "cc", "dd", "ee", "ff", "gg"]


def test_restore_at_lower_parallelism_merges_buckets(tmp_path):
    sink = sink_for(tmp_path)
    tasks = [Subtask(sink, index=i, parallelism=2) for i in range(2)]
    for i, task in enumerate(tasks):
        task.write(*range(i * 10, i * 10 + 3))
    snaps = [task.checkpoint(1) for task in tasks]
    for task in tasks:
        task.write("lost")
        task.crash()
    [merged] = redistribute(snaps, 1)
    again = Subtask(sink, merged, restored_id=1)
    again.write("z")
    again.end(2)
    assert finished_lines(tmp_path) == ["0", "1", "2", "z", "10", "11", "12"]


@settings(max_examples=60, deadline=None)
@given(policy=st.sampled_from([ON_CHECKPOINT, RollingPolicy.default_rolling_policy(part_size=7),
                               RollingPolicy.default_rolling_policy(inactivity_interval=5)]),
       steps=st.lists(st.sampled_from(["write", "write", "write", "tick", "checkpoint",
                                       "complete", "crash"]), max_size=40))
def test_crash_anywhere_then_restore_gives_every_record_exactly_once(policy, steps):
    records = list(range(30))
    with tempfile.TemporaryDirectory() as base:
        sink = sink_for(base, policy)
        task, position, cid = Subtask(sink), 0, 0
        taken: dict[int, tuple[int, dict]] = {}  # checkpoint -> (source position, state)
        completed: int | None = None
        for step in steps:
            if step == "write" and position < len(records):
                task.write(records[position], now=task.ctx.now + 2)
                position += 1
            elif step == "tick":
                task.tick(task.ctx.now + 3)
            elif step == "checkpoint":
                cid += 1
                taken[cid] = (position, task.checkpoint(cid))
            elif step == "complete" and cid and cid in taken:
                completed = cid
                task.complete(cid)
            elif step == "crash":
                task.crash()
                # checkpoints of the failed attempt that did not complete never will
                taken = {c: v for c, v in taken.items() if completed is not None and c <= completed}
                if completed is None:
                    task, position = Subtask(sink), 0
                else:
                    position, snap = taken[completed]
                    task = Subtask(sink, snap, restored_id=completed)
        task.write(*records[position:])
        task.end(cid + 1)
        assert finished_lines(base) == [str(r) for r in records]


# -- building ------------------------------------------------------------------------------------

def test_builder_rejects_what_strom_cannot_honour(tmp_path):
    with pytest.raises(UnsupportedError, match="for_row_format"):
        FileSink.for_bulk_format(str(tmp_path), object())
    builder = FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder())
    with pytest.raises(UnsupportedError, match="compact"):
        builder.enable_compact(object(), object())
    assert FileSink.for_row_format("s3://bucket/out/", Encoder.simple_string_encoder()
                                   ).build().base_path == "s3://bucket/out"  # tests/test_file_sink_s3.py
    assert FileSink.for_row_format(f"file://{tmp_path}", Encoder.simple_string_encoder()
                                   ).build().base_path == str(tmp_path)
    with pytest.raises(JobDefinitionError, match="part_size"):
        RollingPolicy.default_rolling_policy(part_size=0)


def test_open_without_checkpoint_hooks_is_refused(tmp_path):
    sink = copy.deepcopy(sink_for(tmp_path))
    with pytest.raises(UnsupportedError, match="initialize_state"):
        sink.open(RuntimeContext(0, 1))


def test_the_built_sink_is_deep_copyable_and_picklable(tmp_path):
    sink = sink_for(tmp_path, assigner=BucketAssigner.date_time_bucket_assigner(timezone_id="UTC"))
    assert repr(pickle.loads(pickle.dumps(sink))) == repr(copy.deepcopy(sink)) == repr(sink)
    assert FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder()).build(
    ).get_transformer() is None


# -- a real job ----------------------------------------------------------------------------------

def test_a_bounded_job_ends_with_every_record_in_finished_files(tmp_path, executor):
    from strom.datastream import StreamExecutionEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = executor
    env.set_parallelism(2)
    env.from_collection(list(range(20))).sink_to(
        FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder()).build())
    env.execute("file sink")
    assert finished_lines(tmp_path) == [str(i) for i in range(20)]
    assert not any(".inprogress." in f for f in files(tmp_path, hidden=True))
