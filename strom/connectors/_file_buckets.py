"""Part files and buckets of the file sink: in-progress -> pending -> finished on local disk.

Private to :mod:`strom.connectors.file_system`. This is Flink's ``FileWriterBucket`` over the
local file system's ``RecoverableWriter``:

* a part file is written under a hidden name next to its final name,
  ``.{prefix}-{unique id}-{counter}{suffix}.inprogress.{uuid}`` (in progress);
* ``persist`` flushes and fsyncs it and returns a *recoverable* ``{"target", "temp",
  "offset"}`` (plain data, kept in checkpoints); :func:`resume` reopens the temp file from a
  recoverable and truncates it to ``offset``, dropping whatever was written after that checkpoint;
* ``close_for_commit`` closes it for good: it is *pending*, a recoverable whose file must not
  change any more; :func:`commit` renames it to its final, visible name (finished).
  :func:`commit` is idempotent (a missing temp file next to an existing target was committed
  already), so it serves both the normal and the after-restore path.

A bucket's unique id is a fresh UUID for every bucket object, as in Flink's ``FileSink``: new
on every start and every restore, with a part counter starting at 0, so a restored attempt
never reuses a name of an earlier attempt (whose orphaned in-progress files keep their names).
A resumed in-progress file keeps its old name.

**Object stores** (``s3://`` and other fsspec URLs, see :class:`RemoteInProgressFile`) cannot
append, truncate or rename, so there a part file is written as Flink's S3 recoverable writer
does it, in pieces: records are buffered in memory, and ``persist`` uploads what was buffered
since the last one as a hidden *segment* object (``.{name}.inprogress.{uuid}.{uuid}``) listed in
the recoverable (``{"target", "temp", "offset", "segments"}``). A restore continues after the
listed segments (segments a failed attempt wrote later are never listed, so they do not
count); :func:`commit` streams the listed segments into the final object, which S3 makes
visible at once when the upload completes, then deletes them. A committed target with
leftover segments is a commit that was interrupted after the upload: the segments are deleted.
"""
from __future__ import annotations

import contextlib
import logging
import os
import uuid
from typing import Any

from strom.api.file_source import filesystem
from strom.connectors.file_policies import OutputFileConfig, RollingPolicy
from strom.errors import CheckpointError

__all__ = ["Bucket", "InProgressFile", "RemoteInProgressFile", "commit", "is_remote"]

log = logging.getLogger(__name__)

Recoverable = dict[str, Any]  # {"target": str, "temp": str, "offset": int[, "segments": [str]]}
STATE_VERSION = 1


class InProgressFile:
    """An open part file (Flink's ``InProgressFileWriter``); also the policy's ``PartFileInfo``."""

    __slots__ = ("bucket_id", "target", "temp", "size", "creation_time", "last_update_time",
                 "_handle")

    def __init__(self, bucket_id: str, target: str, temp: str, handle: Any, size: int,
                 creation_time: int) -> None:
        self.bucket_id = bucket_id
        self.target = target
        self.temp = temp
        self._handle = handle
        self.size = size
        self.creation_time = creation_time
        self.last_update_time = creation_time

    @classmethod
    def open_new(cls, bucket_id: str, target: str, now: int) -> InProgressFile:
        """Create the hidden temp file of ``target`` (it must not exist)."""
        directory, name = os.path.split(target)
        os.makedirs(directory, exist_ok=True)
        temp = os.path.join(directory, f".{name}.inprogress.{uuid.uuid4()}")
        if os.path.lexists(target):
            msg = (f"FileSink: part file {target!r} exists already; expected a fresh name "
                   "(unique id + counter); hint: is another job writing into this base path "
                   "with the same unique id?")
            raise CheckpointError(msg)
        handle = open(temp, "xb")
        return cls(bucket_id, target, temp, handle, 0, now)

    @classmethod
    def resume(cls, bucket_id: str, recoverable: Recoverable, creation_time: int,
               checkpoint: str) -> InProgressFile:
        """Reopen a persisted in-progress file and cut it back to its checkpointed length."""
        temp, offset = recoverable["temp"], recoverable["offset"]
        if not os.path.exists(temp):
            msg = (f"FileSink: restoring {checkpoint}: in-progress part file {temp!r} "
                   f"(for {recoverable['target']!r}, {offset} bytes) is missing; expected it "
                   "where the checkpoint left it; hint: restore from the latest checkpoint, and "
                   "do not delete hidden '.inprogress.' files of a running job")
            raise CheckpointError(msg, checkpoint=checkpoint)
        handle = open(temp, "r+b")
        length = handle.seek(0, os.SEEK_END)
        if length < offset:
            handle.close()
            msg = (f"FileSink: restoring {checkpoint}: in-progress part file {temp!r} has "
                   f"{length} bytes, expected at least the {offset} the checkpoint recorded; "
                   "hint: the file was altered outside the job")
            raise CheckpointError(msg, checkpoint=checkpoint)
        handle.truncate(offset)
        handle.seek(offset)
        return cls(bucket_id, recoverable["target"], temp, handle, offset, creation_time)

    def write(self, data: bytes, now: int) -> None:
        """Append one encoded record."""
        self._handle.write(data)
        self.size += len(data)
        self.last_update_time = now

    def persist(self) -> Recoverable:
        """Flush and fsync; where to resume from after a failure."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return {"target": self.target, "temp": self.temp, "offset": self.size}

    def close_for_commit(self) -> Recoverable:
        """Flush, fsync and close: the file is pending and must not change any more."""
        recoverable = self.persist()
        self._handle.close()
        return recoverable

    def dispose(self) -> None:
        """Close the handle, leaving the hidden file as it is (it may be resumed later)."""
        self._handle.close()


def is_remote(path: str) -> bool:
    """Whether ``path`` is an object-store URL (written through fsspec) rather than local."""
    return "://" in path


class RemoteInProgressFile:
    """An open part file on an object store (fsspec): buffered, persisted as segment objects."""

    __slots__ = ("bucket_id", "target", "temp", "size", "creation_time", "last_update_time",
                 "segments", "_buffer", "_fs")

    def __init__(self, bucket_id: str, target: str, temp: str, segments: list[str], size: int,
                 creation_time: int) -> None:
        self.bucket_id = bucket_id
        self.target = target
        self.temp = temp
        self.segments = segments
        self.size = size
        self.creation_time = creation_time
        self.last_update_time = creation_time
        self._buffer = bytearray()
        self._fs = filesystem(target)[0]

    @classmethod
    def open_new(cls, bucket_id: str, target: str, now: int) -> RemoteInProgressFile:
        """A new part file for ``target`` (which must not exist); nothing is uploaded yet."""
        fs, inner = filesystem(target)
        fs.invalidate_cache(inner)
        if fs.exists(inner):
            msg = (f"FileSink: part file {target!r} exists already; expected a fresh name "
                   "(unique id + counter); hint: is another job writing into this base path "
                   "with the same unique id?")
            raise CheckpointError(msg)
        directory, name = target.rsplit("/", 1)
        return cls(bucket_id, target, f"{directory}/.{name}.inprogress.{uuid.uuid4()}", [], 0, now)

    @classmethod
    def resume(cls, bucket_id: str, recoverable: Recoverable, creation_time: int,
               checkpoint: str) -> RemoteInProgressFile:
        """Continue a persisted part file after its checkpointed segments."""
        segments = list(recoverable["segments"])
        fs = filesystem(recoverable["target"])[0]
        for segment in segments:
            fs.invalidate_cache(filesystem(segment)[1])
            if not fs.exists(filesystem(segment)[1]):
                msg = (f"FileSink: restoring {checkpoint}: segment {segment!r} of in-progress "
                       f"part file {recoverable['target']!r} is missing; expected it where the "
                       "checkpoint left it; hint: restore from the latest checkpoint, and do not "
                       "delete hidden '.inprogress.' objects of a running job")
                raise CheckpointError(msg, checkpoint=checkpoint)
        return cls(bucket_id, recoverable["target"], recoverable["temp"], segments,
                   recoverable["offset"], creation_time)

    def write(self, data: bytes, now: int) -> None:
        """Append one encoded record (to the buffer)."""
        self._buffer += data
        self.size += len(data)
        self.last_update_time = now

    def persist(self) -> Recoverable:
        """Upload what was buffered since the last persist as a new segment."""
        if self._buffer:
            segment = f"{self.temp}.{uuid.uuid4()}"
            self._fs.pipe_file(filesystem(segment)[1], bytes(self._buffer))
            self.segments.append(segment)
            self._buffer = bytearray()
        return {"target": self.target, "temp": self.temp, "offset": self.size,
                "segments": list(self.segments)}

    def close_for_commit(self) -> Recoverable:
        """Upload the rest: the file is pending and must not change any more."""
        return self.persist()

    def dispose(self) -> None:
        """Drop the buffer; uploaded segments stay (they may be resumed later)."""
        self._buffer = bytearray()


def _commit_remote(pending: Recoverable) -> None:
    target, segments, offset = pending["target"], pending["segments"], pending["offset"]
    fs, inner = filesystem(target)
    paths = [filesystem(segment)[1] for segment in segments]
    fs.invalidate_cache(inner)
    for path in paths:
        fs.invalidate_cache(path)
    present = [fs.exists(path) for path in paths]
    if fs.exists(inner):  # committed already (perhaps interrupted before the clean-up)
        for path, there in zip(paths, present):
            if there:
                with contextlib.suppress(FileNotFoundError):
                    fs.rm_file(path)
        return
    if not all(present):
        log.warning("FileSink: segments of pending part file %s are gone and it does not exist; "
                    "its %d bytes cannot be committed", target, offset)
        return
    sizes = [int(fs.size(path)) for path in paths]
    if sum(sizes) != offset:
        msg = (f"FileSink: committing {target!r}: its segments hold {sum(sizes)} bytes, expected "
               f"{offset}; hint: the hidden '.inprogress.' objects were altered outside the job")
        raise CheckpointError(msg)
    with fs.open(inner, "wb") as out:  # visible as a whole when the upload completes
        for path in paths:
            out.write(fs.cat_file(path))
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)


def commit(pending: Recoverable) -> None:
    """Rename a pending file to its final name; a no-op when that happened already.

    As Flink's local ``commitAfterRecovery``: bytes beyond the recorded length (written after the
    checkpoint) are truncated first; a temp file shorter than recorded is an error.
    """
    if "segments" in pending:
        _commit_remote(pending)
        return
    temp, target, offset = pending["temp"], pending["target"], pending["offset"]
    if not os.path.exists(temp):
        if not os.path.exists(target):
            # Flink tolerates this too (e.g. an old savepoint whose output was deleted)
            log.warning("FileSink: pending part file %s is gone and %s does not exist; "
                        "its %d bytes cannot be committed", temp, target, offset)
        return
    length = os.path.getsize(temp)
    if length < offset:
        msg = (f"FileSink: committing {temp!r}: it has {length} bytes, expected {offset}; "
               "hint: the file was altered outside the job")
        raise CheckpointError(msg)
    if length > offset:
        os.truncate(temp, offset)
    if os.path.lexists(target):
        msg = (f"FileSink: committing {temp!r}: the target {target!r} exists already; expected "
               "a name no other file uses; hint: another writer uses this base path and names")
        raise CheckpointError(msg)
    os.rename(temp, target)


class Bucket:
    """The part files of one bucket of one subtask (Flink's ``FileWriterBucket``)."""

    def __init__(self, bucket_id: str, path: str, policy: RollingPolicy,
                 names: OutputFileConfig) -> None:
        self.bucket_id = bucket_id
        self.path = path
        self.policy = policy
        self.names = names
        self.unique_id = str(uuid.uuid4())
        self.part_counter = 0
        self.in_progress: InProgressFile | RemoteInProgressFile | None = None
        self.pending: list[Recoverable] = []

    @classmethod
    def restore(cls, state: dict[str, Any], policy: RollingPolicy, names: OutputFileConfig,
                checkpoint: str) -> Bucket:
        """A bucket from :meth:`snapshot`'s state, resuming its in-progress file (truncated)."""
        bucket = cls(state["bucket_id"], state["bucket_path"], policy, names)
        recoverable = state.get("in_progress")
        if recoverable is not None:
            kind = RemoteInProgressFile if "segments" in recoverable else InProgressFile
            bucket.in_progress = kind.resume(
                bucket.bucket_id, recoverable, state["creation_time"], checkpoint)
        return bucket

    @property
    def is_active(self) -> bool:
        """Whether it has an open or pending file (inactive buckets are dropped after a snapshot)."""
        return self.in_progress is not None or bool(self.pending)

    def merge(self, other: Bucket) -> None:
        """Take over ``other`` (same bucket restored twice, after rescaling): its file is rolled."""
        other.close_part_file()
        self.pending.extend(other.pending)
        other.pending.clear()

    def write(self, element: Any, data: bytes, now: int) -> None:
        """Write one record, rolling first if there is no open file or the policy says so."""
        part = self.in_progress
        if part is None or self.policy.should_roll_on_event(part, element):
            part = self._roll(now)
        part.write(data, now)

    def on_processing_time(self, now: int) -> None:
        """The bucket check: roll when the policy says so for time ``now``."""
        part = self.in_progress
        if part is not None and self.policy.should_roll_on_processing_time(part, now):
            self.close_part_file()

    def prepare_commit(self, flush: bool) -> list[Recoverable]:
        """At a checkpoint: roll if the policy (or ``flush``) says so; hand over the pending files."""
        part = self.in_progress
        if part is not None and (flush or self.policy.should_roll_on_checkpoint(part)):
            self.close_part_file()
        pending, self.pending = self.pending, []
        return pending

    def snapshot(self) -> dict[str, Any]:
        """Persist the open file; the bucket's checkpoint entry (plain data)."""
        part = self.in_progress
        return {"kind": "bucket", "version": STATE_VERSION, "bucket_id": self.bucket_id,
                "bucket_path": self.path,
                "in_progress": None if part is None else part.persist(),
                "creation_time": None if part is None else part.creation_time}

    def close_part_file(self) -> None:
        """Close the open file for commit: it becomes pending."""
        if self.in_progress is not None:
            self.pending.append(self.in_progress.close_for_commit())
            self.in_progress = None

    def dispose(self) -> None:
        """Close the open file's handle; nothing is committed or deleted."""
        if self.in_progress is not None:
            self.in_progress.dispose()
            self.in_progress = None

    def _roll(self, now: int) -> InProgressFile:
        self.close_part_file()
        counter = self.part_counter
        self.part_counter += 1
        name = f"{self.names.part_prefix}-{self.unique_id}-{counter}{self.names.part_suffix}"
        kind = RemoteInProgressFile if is_remote(self.path) else InProgressFile
        self.in_progress = kind.open_new(self.bucket_id, f"{self.path.rstrip('/')}/{name}"
                                         if is_remote(self.path) else os.path.join(self.path, name), now)
        return self.in_progress
