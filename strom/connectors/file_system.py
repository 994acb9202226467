"""``FileSink``: exactly-once row-format part files in bucket directories (Flink's ``FileSink``).

Build it as in PyFlink and hand it to ``sink_to``::

    sink = (FileSink.for_row_format("/tmp/out", Encoder.simple_string_encoder("UTF-8"))
            .with_bucket_assigner(BucketAssigner.date_time_bucket_assigner("yyyy-MM-dd--HH"))
            .with_rolling_policy(RollingPolicy.default_rolling_policy(part_size=1 << 20))
            .with_output_file_config(OutputFileConfig.builder().with_part_prefix("pre")
                                     .with_part_suffix(".txt").build())
            .build())
    env.from_collection([1, 2, 3]).sink_to(sink)

Each subtask writes, per bucket, one part file at a time: a hidden in-progress file
(``.pre-{unique id}-{counter}.txt.inprogress.{uuid}``) that is rolled (closed) by the rolling
policy and is then *pending*; a pending file is renamed to its visible, *finished* name
(``pre-{unique id}-{counter}.txt``) only once the checkpoint whose snapshot listed it completes.
An in-progress file that stays open across a checkpoint is recorded with its length; a restore
truncates it to that length and continues writing into it. Pending files of the restored
checkpoint are committed on restore (idempotently). What was written after the restored
checkpoint stays in hidden in-progress files that are never committed, as Flink leaves them.
So the finished files hold every record exactly once. A bounded job ends with every file
finished: ``finish`` rolls the open files and the final checkpoint commits them.

The unique id is a fresh UUID per bucket object (new on every start and restore) and the part
counter starts at 0 for it, as in current Flink's ``FileSink``; names never collide across
attempts. ``Encoder.simple_string_encoder`` writes ``str(element)`` and a newline in the
charset (PyFlink's Java encoder writes Java's ``toString``), since the sink does not know the
stream's declared type.

The :class:`FileSink` object is itself the sink function the runtime drives (``sink_to``
deep-copies it per subtask): Flink's ``CheckpointedFunction`` and ``CheckpointListener`` hooks,
see :mod:`strom.runtime.checkpointing` for their order. It writes local paths (``file://``
included) or, through fsspec, object stores such as ``s3://bucket/prefix`` (s3fs; the endpoint
from ``AWS_ENDPOINT_URL_S3`` when set): there in-progress part files are buffered and uploaded
as hidden segment objects at each checkpoint, and committed by writing the final object (see
:mod:`strom.connectors._file_buckets`).
"""
from __future__ import annotations

import os
from typing import Any

from strom.api.serialization import Encoder
from strom.connectors._file_buckets import Bucket, Recoverable, commit
from strom.connectors.file_policies import (
    BasePathBucketAssigner,
    BucketAssigner,
    DateTimeBucketAssigner,
    DefaultRollingPolicy,
    OnCheckpointRollingPolicy,
    OutputFileConfig,
    PartFileInfo,
    RollingPolicy,
)
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe
from strom.state.descriptors import ListStateDescriptor

__all__ = [
    "BasePathBucketAssigner",
    "BucketAssigner",
    "DateTimeBucketAssigner",
    "DefaultRollingPolicy",
    "FileSink",
    "OnCheckpointRollingPolicy",
    "OutputFileConfig",
    "PartFileInfo",
    "RollingPolicy",
]

STATE_NAME = "file-sink-state"
DEFAULT_BUCKET_CHECK_INTERVAL = 60 * 1000


def _base_path(base_path: Any) -> str:
    """``base_path`` as an absolute local directory (``file://`` URIs accepted) or an fsspec
    URL such as ``s3://bucket/prefix``."""
    if isinstance(base_path, os.PathLike):
        base_path = os.fspath(base_path)
    if not isinstance(base_path, str) or not base_path:
        msg = (f"FileSink.for_row_format: base_path must be a non-empty str or path, got "
               f"{describe(base_path)}; hint: '/tmp/output' or 's3://bucket/output'")
        raise JobDefinitionError(msg)
    if base_path.startswith("file://"):
        base_path = base_path[len("file://"):]
    elif "://" in base_path:
        return base_path.rstrip("/")
    return os.path.abspath(base_path)


def _check(value: Any, kind: type, where: str, hint: str) -> Any:
    if not isinstance(value, kind):
        msg = (f"FileSink.{where}: expected a {kind.__name__}, got {describe(value)}; "
               f"hint: {hint}")
        raise InvalidTypeError(msg)
    return value


class FileSink:
    """A sink writing part files into buckets under a base path, exactly once.

    Build it with :meth:`for_row_format`. Runtime hooks (called by the sink operator on the
    task's thread, never concurrently): ``initialize_state`` -> ``open`` -> ``invoke`` /
    ``on_processing_time`` / ``snapshot_state`` / ``notify_checkpoint_complete`` -> ``finish``
    -> final ``snapshot_state`` and ``notify_checkpoint_complete`` -> ``close`` (always).
    """

    sink_name = "Sink: FileSink"

    def __init__(self, base_path: str, encoder: Any, bucket_assigner: BucketAssigner,
                 rolling_policy: RollingPolicy, output_file_config: OutputFileConfig,
                 bucket_check_interval: int) -> None:
        self.base_path = base_path
        self.encoder = encoder
        self.bucket_assigner = bucket_assigner
        self.rolling_policy = rolling_policy
        self.output_file_config = output_file_config
        # the runtime calls on_processing_time every this many ms (Flink's bucket check)
        self.processing_time_interval_ms = bucket_check_interval
        # runtime state: set by initialize_state/open, never copied (copies are made before)
        self._state: Any = None
        self._restored: list[dict[str, Any]] = []
        self._restored_id: int | None = None
        self._buckets: dict[str, Bucket] = {}
        self._uncommitted: dict[int, list[Recoverable]] = {}
        self._finished = False
        self._subtask = 0

    # -- building (PyFlink's surface) --
    @staticmethod
    def for_row_format(base_path: str, encoder: Encoder) -> FileSink.RowFormatBuilder:
        """A builder of a sink that writes each record with ``encoder`` into part files."""
        return FileSink.RowFormatBuilder(base_path, encoder)

    @staticmethod
    def for_bulk_format(base_path: str, writer_factory: Any) -> Any:
        """Bulk formats (Parquet, ORC, Avro writers) are not available in strom."""
        msg = (f"FileSink.for_bulk_format({base_path!r}, ...): strom has no bulk writers "
               "(Parquet/ORC/Avro); hint: use FileSink.for_row_format(base_path, "
               "Encoder.simple_string_encoder()) and write one encoded line per record")
        raise UnsupportedError(msg)

    def get_transformer(self) -> None:
        """PyFlink's preprocessing hook: a row-format sink has none."""
        return None

    class BaseBuilder:
        """The settings every :class:`FileSink` builder has (PyFlink's ``FileSink.BaseBuilder``);
        strom's sinks are row-format ones, so it takes the base path and the encoder."""

        def __init__(self, base_path: str, encoder: Any) -> None:
            self._base_path = _base_path(base_path)
            if not callable(getattr(encoder, "encode", None)):
                msg = (f"FileSink.for_row_format: encoder must have encode(element) -> bytes, "
                       f"got {describe(encoder)}; hint: Encoder.simple_string_encoder('UTF-8')")
                raise InvalidTypeError(msg)
            self._encoder = encoder
            self._assigner: BucketAssigner = DateTimeBucketAssigner()  # Flink's default
            self._policy: RollingPolicy = DefaultRollingPolicy()
            self._names = OutputFileConfig()
            self._interval = DEFAULT_BUCKET_CHECK_INTERVAL

        def with_bucket_check_interval(self, interval: int) -> FileSink.BaseBuilder:
            """How often (ms of processing time) the rolling policy checks age and inactivity."""
            if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
                msg = (f"FileSink.with_bucket_check_interval: expected a positive int of "
                       f"milliseconds, got {describe(interval)}; hint: 60 * 1000")
                raise JobDefinitionError(msg)
            self._interval = interval
            return self

        def with_bucket_assigner(self, bucket_assigner: BucketAssigner) -> FileSink.BaseBuilder:
            """Which bucket (sub-directory) each record goes to (default: hourly date-time)."""
            self._assigner = _check(bucket_assigner, BucketAssigner, "with_bucket_assigner",
                                    "BucketAssigner.base_path_bucket_assigner()")
            return self

        def with_rolling_policy(self, rolling_policy: RollingPolicy) -> FileSink.BaseBuilder:
            """When part files roll (default: ``RollingPolicy.default_rolling_policy()``)."""
            self._policy = _check(rolling_policy, RollingPolicy, "with_rolling_policy",
                                  "RollingPolicy.on_checkpoint_rolling_policy()")
            return self

        def with_output_file_config(self, output_file_config: OutputFileConfig
                                    ) -> FileSink.BaseBuilder:
            """The part file names' prefix and suffix."""
            self._names = _check(output_file_config, OutputFileConfig, "with_output_file_config",
                                 "OutputFileConfig.builder().with_part_suffix('.txt').build()")
            return self

        def enable_compact(self, strategy: Any, compactor: Any) -> FileSink.BaseBuilder:
            """File compaction is not available in strom."""
            msg = ("FileSink.enable_compact: strom does not compact part files; hint: roll "
                   "larger files instead, e.g. RollingPolicy.default_rolling_policy("
                   "part_size=..., rollover_interval=...) or a longer checkpoint interval")
            raise UnsupportedError(msg)

        def disable_compact(self) -> FileSink.BaseBuilder:
            """Compaction is off (the only mode strom has)."""
            return self

        def build(self) -> FileSink:
            """The sink, ready for ``DataStream.sink_to``."""
            return FileSink(self._base_path, self._encoder, self._assigner, self._policy,
                            self._names, self._interval)

    class RowFormatBuilder(BaseBuilder):
        """Builds a row-format :class:`FileSink` (PyFlink's ``FileSink.RowFormatBuilder``)."""

    class BulkFormatBuilder(BaseBuilder):
        """PyFlink's builder of bulk-format sinks: strom has no bulk writers (building one
        raises ``UnsupportedFeatureError``, as ``FileSink.for_bulk_format`` does)."""

        def __init__(self, base_path: str = "", writer_factory: Any = None) -> None:
            FileSink.for_bulk_format(base_path, writer_factory)

    # -- runtime hooks --
    def initialize_state(self, context: Any) -> None:
        """Before ``open``: register the sink's list state and keep what a restore brings."""
        store = context.get_operator_state_store()
        self._state = store.get_list_state(ListStateDescriptor(STATE_NAME, None))
        if context.is_restored():
            self._restored = list(self._state.get())
            self._restored_id = context.get_restored_checkpoint_id()

    def open(self, runtime_context: Any) -> None:
        """Resume the restored in-progress files and commit the restored pending files."""
        if self._state is None:
            msg = (f"{self.sink_name} at {self.base_path!r}: open() was called without "
                   "initialize_state(); the FileSink commits files only through the "
                   "checkpoint hooks (initialize_state, snapshot_state, "
                   "notify_checkpoint_complete); hint: run it under a runtime that calls "
                   "CheckpointedFunction hooks on sinks")
            raise UnsupportedError(msg)
        self._subtask = runtime_context.get_index_of_this_subtask()
        where = f"checkpoint {self._restored_id} (subtask {self._subtask})"
        for item in self._restored:
            if item.get("kind") == "pending":
                commit(item["file"])  # the restored checkpoint completed: these are final
        for item in self._restored:
            if item.get("kind") == "bucket":
                bucket = Bucket.restore(item, self.rolling_policy, self.output_file_config, where)
                existing = self._buckets.get(bucket.bucket_id)
                if existing is None:
                    self._buckets[bucket.bucket_id] = bucket
                else:
                    existing.merge(bucket)
        self._restored = []

    def invoke(self, value: Any, context: Any) -> None:
        """Write ``value`` into the in-progress file of its bucket."""
        bucket_id = self.bucket_assigner.get_bucket_id(value, context)
        bucket = self._buckets.get(bucket_id)
        if bucket is None:
            if not isinstance(bucket_id, str):
                msg = (f"{self.sink_name}: the bucket assigner {self.bucket_assigner!r} returned "
                       f"{describe(bucket_id)} for {describe(value)}; expected a str (a "
                       "directory relative to the base path); hint: return str(...)")
                raise InvalidTypeError(msg)
            path = (self.base_path if not bucket_id else f"{self.base_path}/{bucket_id}"
                    if "://" in self.base_path else os.path.join(self.base_path, bucket_id))
            bucket = self._buckets[bucket_id] = Bucket(bucket_id, path, self.rolling_policy,
                                                       self.output_file_config)
        bucket.write(value, self.encoder.encode(value), context.current_processing_time())

    def on_processing_time(self, time_ms: int) -> None:
        """The bucket check (every ``processing_time_interval_ms``): roll by age / inactivity."""
        for bucket in self._buckets.values():
            bucket.on_processing_time(time_ms)

    def snapshot_state(self, context: Any) -> None:
        """At a barrier: roll as the policy says, persist open files, record pending ones."""
        checkpoint_id = context.get_checkpoint_id()
        for bucket in self._buckets.values():
            pending = bucket.prepare_commit(flush=self._finished)
            if pending:
                self._uncommitted.setdefault(checkpoint_id, []).extend(pending)
        self._buckets = {b.bucket_id: b for b in self._buckets.values() if b.is_active}
        items: list[dict[str, Any]] = [b.snapshot() for b in self._buckets.values()]
        for cid in sorted(self._uncommitted):
            items.extend({"kind": "pending", "checkpoint_id": cid, "file": f}
                         for f in self._uncommitted[cid])
        self._state.update(items)

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Rename every pending file of checkpoints up to ``checkpoint_id`` to its final name."""
        for cid in sorted(self._uncommitted):
            if cid > checkpoint_id:
                break
            files = self._uncommitted[cid]
            while files:
                commit(files[0])
                files.pop(0)
            del self._uncommitted[cid]

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        """Nothing to undo: the aborted checkpoint's pending files commit with the next one."""

    def finish(self) -> None:
        """End of a bounded input: roll every open file (the final checkpoint commits them)."""
        self._finished = True
        for bucket in self._buckets.values():
            bucket.close_part_file()

    def close(self) -> None:
        """Close open file handles; commit nothing (also after a failure or cancel)."""
        for bucket in self._buckets.values():
            bucket.dispose()

    def __repr__(self) -> str:
        return (f"FileSink({self.base_path!r}, {self.encoder!r}, {self.bucket_assigner!r}, "
                f"{self.rolling_policy!r}, {self.output_file_config!r})")


class StreamingFileSink:
    """Flink's legacy file sink (PyFlink's ``StreamingFileSink``): its builders build the
    :class:`FileSink`, which writes the same bucketed part files exactly once."""

    def __init__(self, j_obj: Any = None) -> None:
        raise UnsupportedError("StreamingFileSink(...) wraps a Java sink; hint: "
                               "StreamingFileSink.for_row_format(base_path, encoder).build()")

    @staticmethod
    def for_row_format(base_path: str, encoder: Encoder) -> StreamingFileSink.DefaultRowFormatBuilder:
        """A builder of a sink that writes each record with ``encoder`` into part files."""
        return StreamingFileSink.DefaultRowFormatBuilder(base_path, encoder)

    @staticmethod
    def for_bulk_format(base_path: str, writer_factory: Any) -> Any:
        """Bulk formats are not available in strom (raises ``UnsupportedFeatureError``)."""
        return FileSink.for_bulk_format(base_path, writer_factory)

    class BaseBuilder(FileSink.BaseBuilder):
        """The legacy builder's settings (its rolling-policy parameter is named ``policy``)."""

        def with_rolling_policy(self, policy: RollingPolicy) -> FileSink.BaseBuilder:
            """When part files roll (default: ``RollingPolicy.default_rolling_policy()``)."""
            return super().with_rolling_policy(policy)

    class DefaultRowFormatBuilder(BaseBuilder):
        """Builds a row-format sink."""

    class DefaultBulkFormatBuilder(BaseBuilder):
        """Bulk formats are not available in strom (building one raises)."""

        def __init__(self, base_path: str = "", writer_factory: Any = None) -> None:
            FileSink.for_bulk_format(base_path, writer_factory)
