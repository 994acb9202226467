"""What a :class:`~strom.connectors.file_system.FileSink` decides per record: bucket, roll, name.

* :class:`OutputFileConfig`: the part file name's prefix and suffix (Flink's defaults ``"part"``
  and ``""``).
* :class:`RollingPolicy`: when the open (in-progress) part file of a bucket is closed and a new
  one started. :class:`DefaultRollingPolicy` rolls a file larger than ``part_size`` on the next
  record or checkpoint, and, on the bucket check timer, one older than ``rollover_interval``
  or idle for ``inactivity_interval``; :class:`OnCheckpointRollingPolicy` rolls at every
  checkpoint and only then. A policy sees a :class:`PartFileInfo`.
* :class:`BucketAssigner`: the bucket (a directory under the base path) of each record.
  ``base_path_bucket_assigner()`` writes into the base path itself;
  ``date_time_bucket_assigner(format_str, timezone_id)`` formats the *processing time* the sink
  context reports with a Java ``DateTimeFormatter`` pattern (see :mod:`._java_date_pattern`).

Everything here is configuration: picklable, stateless, shared by every subtask.

Example:
    >>> RollingPolicy.default_rolling_policy(part_size=10).should_roll_on_checkpoint(
    ...     PartFileInfo("", size=11, creation_time=0, last_update_time=0))
    True
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from strom.connectors._java_date_pattern import compile_pattern
from strom.errors import JobDefinitionError, describe

__all__ = [
    "BasePathBucketAssigner",
    "BucketAssigner",
    "DateTimeBucketAssigner",
    "DefaultRollingPolicy",
    "OnCheckpointRollingPolicy",
    "OutputFileConfig",
    "PartFileInfo",
    "RollingPolicy",
]


@dataclass(slots=True)
class PartFileInfo:
    """What a rolling policy knows of an in-progress part file (Flink's ``PartFileInfo``).

    Attributes:
        bucket_id: the bucket the file belongs to.
        size: bytes written so far.
        creation_time: processing time (ms) the file was opened (or resumed from a checkpoint).
        last_update_time: processing time (ms) of the last write.
    """

    bucket_id: str
    size: int
    creation_time: int
    last_update_time: int


def _positive_ms(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        msg = (f"{where}: {what} must be a positive int (milliseconds or bytes), got "
               f"{describe(value)}; hint: e.g. {what}=60 * 1000")
        raise JobDefinitionError(msg)
    return value


class OutputFileConfig:
    """Part file names ``{part_prefix}-{unique id}-{counter}{part_suffix}``.

    Build it with ``OutputFileConfig.builder().with_part_prefix("pre")
    .with_part_suffix(".txt").build()``.
    """

    __slots__ = ("part_prefix", "part_suffix")

    def __init__(self, part_prefix: str = "part", part_suffix: str = "") -> None:
        for what, value in (("part_prefix", part_prefix), ("part_suffix", part_suffix)):
            if not isinstance(value, str) or "/" in value or "\\" in value:
                msg = (f"OutputFileConfig: {what} must be a str without path separators, got "
                       f"{describe(value)}; hint: put directories in the base path or the "
                       "bucket assigner")
                raise JobDefinitionError(msg)
        self.part_prefix = part_prefix
        self.part_suffix = part_suffix

    @staticmethod
    def builder() -> OutputFileConfig.OutputFileConfigBuilder:
        """A builder with Flink's defaults (prefix ``"part"``, no suffix)."""
        return OutputFileConfig.OutputFileConfigBuilder()

    def get_part_prefix(self) -> str:
        """The prefix of part file names (PyFlink's getter)."""
        return self.part_prefix

    def get_part_suffix(self) -> str:
        """The suffix of part file names (PyFlink's getter)."""
        return self.part_suffix

    def __repr__(self) -> str:
        return f"OutputFileConfig({self.part_prefix!r}, {self.part_suffix!r})"

    class OutputFileConfigBuilder:
        """Builds an :class:`OutputFileConfig`."""

        def __init__(self) -> None:
            self.part_prefix = "part"
            self.part_suffix = ""

        def with_part_prefix(self, prefix: str) -> OutputFileConfig.OutputFileConfigBuilder:
            """Set the file name prefix."""
            self.part_prefix = prefix
            return self

        def with_part_suffix(self, suffix: str) -> OutputFileConfig.OutputFileConfigBuilder:
            """Set the file name suffix (for example an extension such as ``".txt"``)."""
            self.part_suffix = suffix
            return self

        def build(self) -> OutputFileConfig:
            """The configuration."""
            return OutputFileConfig(self.part_prefix, self.part_suffix)


class RollingPolicy:
    """When a bucket closes its in-progress part file (it becomes *pending*) and opens a new one.

    Subclasses answer three questions; the sink asks them on the task's thread only.
    """

    @staticmethod
    def default_rolling_policy(part_size: int = 1024 * 1024 * 128,
                               rollover_interval: int = 60 * 1000,
                               inactivity_interval: int = 60 * 1000) -> DefaultRollingPolicy:
        """Roll on size (on a record or checkpoint), age and inactivity (on the bucket check)."""
        return DefaultRollingPolicy(part_size, rollover_interval, inactivity_interval)

    @staticmethod
    def on_checkpoint_rolling_policy() -> OnCheckpointRollingPolicy:
        """Roll at every checkpoint, and only then."""
        return OnCheckpointRollingPolicy()

    def should_roll_on_checkpoint(self, part: PartFileInfo) -> bool:
        """Whether to close the part file when a checkpoint is taken."""
        raise NotImplementedError

    def should_roll_on_event(self, part: PartFileInfo, element: Any) -> bool:
        """Whether to close the part file before writing ``element`` into it."""
        raise NotImplementedError

    def should_roll_on_processing_time(self, part: PartFileInfo, current_time: int) -> bool:
        """Whether to close the part file at the bucket check at ``current_time`` (ms)."""
        raise NotImplementedError


class DefaultRollingPolicy(RollingPolicy):
    """Flink's ``DefaultRollingPolicy``.

    Rolls when the file is *larger* than ``part_size`` bytes (checked before each record and at
    each checkpoint, so a file exceeds the limit by at most one record), or, at the bucket
    check timer, when it is ``rollover_interval`` ms old or has not been written to for
    ``inactivity_interval`` ms. A checkpoint alone does not roll a file under the size limit:
    the file stays in progress, and its length is recorded in the checkpoint.
    """

    __slots__ = ("part_size", "rollover_interval", "inactivity_interval")

    def __init__(self, part_size: int = 1024 * 1024 * 128, rollover_interval: int = 60 * 1000,
                 inactivity_interval: int = 60 * 1000) -> None:
        where = "RollingPolicy.default_rolling_policy"
        self.part_size = _positive_ms(part_size, "part_size", where)
        self.rollover_interval = _positive_ms(rollover_interval, "rollover_interval", where)
        self.inactivity_interval = _positive_ms(inactivity_interval, "inactivity_interval", where)

    def should_roll_on_checkpoint(self, part: PartFileInfo) -> bool:
        return part.size > self.part_size

    def should_roll_on_event(self, part: PartFileInfo, element: Any) -> bool:
        return part.size > self.part_size

    def should_roll_on_processing_time(self, part: PartFileInfo, current_time: int) -> bool:
        return (current_time - part.creation_time >= self.rollover_interval
                or current_time - part.last_update_time >= self.inactivity_interval)

    def __repr__(self) -> str:
        return (f"DefaultRollingPolicy(part_size={self.part_size}, rollover_interval="
                f"{self.rollover_interval}, inactivity_interval={self.inactivity_interval})")


class OnCheckpointRollingPolicy(RollingPolicy):
    """Flink's ``OnCheckpointRollingPolicy``: one part file per bucket per checkpoint."""

    __slots__ = ()

    def should_roll_on_checkpoint(self, part: PartFileInfo) -> bool:
        return True

    def should_roll_on_event(self, part: PartFileInfo, element: Any) -> bool:
        return False

    def should_roll_on_processing_time(self, part: PartFileInfo, current_time: int) -> bool:
        return False

    def __repr__(self) -> str:
        return "OnCheckpointRollingPolicy()"


class BucketAssigner:
    """The bucket (directory under the base path, ``""`` = the base path) of each record."""

    @staticmethod
    def base_path_bucket_assigner() -> BasePathBucketAssigner:
        """Every part file directly in the base path."""
        return BasePathBucketAssigner()

    @staticmethod
    def date_time_bucket_assigner(format_str: str = "yyyy-MM-dd--HH",
                                  timezone_id: str | None = None) -> DateTimeBucketAssigner:
        """One bucket per processing-time period, named by a Java date-time pattern.

        Args:
            format_str: a ``java.time.format.DateTimeFormatter`` pattern (letters y u M d D H
                h k K m s S a E, quoted literals); the default makes hourly buckets.
            timezone_id: a zone such as ``"America/Los_Angeles"``, ``"UTC"`` or
                ``"GMT-08:00"``; None is the machine's local zone (Java's system default).
        """
        return DateTimeBucketAssigner(format_str, timezone_id)

    def get_bucket_id(self, element: Any, context: Any) -> str:
        """The bucket of ``element``; ``context`` has ``current_processing_time()``,
        ``current_watermark()`` and ``timestamp()`` (Flink's ``BucketAssigner.Context``)."""
        raise NotImplementedError


class BasePathBucketAssigner(BucketAssigner):
    """Flink's ``BasePathBucketAssigner``: no bucketing, bucket id ``""``."""

    __slots__ = ()

    def get_bucket_id(self, element: Any, context: Any) -> str:
        return ""

    def __repr__(self) -> str:
        return "BasePathBucketAssigner()"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_OFFSET_ZONE = re.compile(r"^(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def _zone(timezone_id: str | None) -> dt.tzinfo | None:
    if timezone_id is None:
        return None
    if not isinstance(timezone_id, str):
        msg = (f"BucketAssigner.date_time_bucket_assigner: timezone_id must be a str or None, "
               f"got {describe(timezone_id)}; hint: 'UTC' or 'Europe/Berlin'")
        raise JobDefinitionError(msg)
    if timezone_id in ("Z", "UTC", "GMT", "UT"):
        return dt.UTC
    m = _OFFSET_ZONE.match(timezone_id)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        offset = dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return dt.timezone(sign * offset)
    try:
        return ZoneInfo(timezone_id)
    except (ZoneInfoNotFoundError, ValueError):
        msg = (f"BucketAssigner.date_time_bucket_assigner: unknown timezone_id {timezone_id!r}; "
               "hint: a region id such as 'America/Los_Angeles', 'UTC', or an offset such as "
               "'GMT-08:00'")
        raise JobDefinitionError(msg) from None


class DateTimeBucketAssigner(BucketAssigner):
    """Flink's ``DateTimeBucketAssigner``: the record's processing time, formatted.

    The time is ``context.current_processing_time()`` (the runtime's injected clock), never the
    record's timestamp.
    """

    __slots__ = ("format_str", "timezone_id", "_zone", "_format")

    def __init__(self, format_str: str = "yyyy-MM-dd--HH", timezone_id: str | None = None) -> None:
        self.format_str = format_str
        self.timezone_id = timezone_id
        self._zone = _zone(timezone_id)
        self._format = compile_pattern(format_str, "BucketAssigner.date_time_bucket_assigner")

    def bucket_id_at(self, time_ms: int) -> str:
        """The bucket id of processing time ``time_ms``."""
        moment = _EPOCH + dt.timedelta(milliseconds=time_ms)  # exact, unlike a float division
        moment = moment.astimezone(self._zone)  # None: the local zone
        return self._format(moment)

    def get_bucket_id(self, element: Any, context: Any) -> str:
        return self.bucket_id_at(context.current_processing_time())

    def __reduce__(self) -> tuple:
        return DateTimeBucketAssigner, (self.format_str, self.timezone_id)

    def __repr__(self) -> str:
        return f"DateTimeBucketAssigner({self.format_str!r}, {self.timezone_id!r})"
