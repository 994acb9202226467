"""Durations and instants: PyFlink's ``pyflink.common.time`` value types.

``Duration`` mirrors ``java.time.Duration`` (nanosecond precision), ``Time`` is Flink's older
millisecond interval, and ``Instant`` is a point on the UTC time line. All three are immutable,
hashable and ordered. The runtime accepts any of them wherever a length of time is expected and
normalises it with :func:`to_millis`.

Example::

    >>> to_millis(Duration.of_seconds(5), "bounded out-of-orderness")
    5000
    >>> Time.minutes(1).to_milliseconds()
    60000
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from strom.errors import InvalidTypeError, describe

_NANOS_PER_MILLI = 1_000_000
_NANOS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A length of time with nanosecond precision, like ``java.time.Duration``.

    Build it with the ``of_*`` constructors; the PyFlink names are kept.
    """

    _nanos: int

    @staticmethod
    def of_nanos(nanos: int) -> Duration:
        """A duration of ``nanos`` nanoseconds."""
        return Duration(int(nanos))

    @staticmethod
    def of_millis(millis: int) -> Duration:
        """A duration of ``millis`` milliseconds."""
        return Duration(int(millis) * _NANOS_PER_MILLI)

    @staticmethod
    def of_seconds(seconds: int) -> Duration:
        """A duration of ``seconds`` seconds."""
        return Duration(int(seconds) * _NANOS_PER_SECOND)

    @staticmethod
    def of_minutes(minutes: int) -> Duration:
        """A duration of ``minutes`` minutes."""
        return Duration.of_seconds(int(minutes) * 60)

    @staticmethod
    def of_hours(hours: int) -> Duration:
        """A duration of ``hours`` hours."""
        return Duration.of_seconds(int(hours) * 3600)

    @staticmethod
    def of_days(days: int) -> Duration:
        """A duration of ``days`` days of 24 hours."""
        return Duration.of_seconds(int(days) * 86_400)

    def to_milliseconds(self) -> int:
        """The length in whole milliseconds, rounded down like Java's ``Duration.toMillis``."""
        return self._nanos // _NANOS_PER_MILLI

    def to_nanos(self) -> int:
        """The length in nanoseconds."""
        return self._nanos

    def __repr__(self) -> str:
        if self._nanos % _NANOS_PER_MILLI == 0:
            return f"Duration.of_millis({self._nanos // _NANOS_PER_MILLI})"
        return f"Duration.of_nanos({self._nanos})"


@dataclass(frozen=True, slots=True, order=True)
class Time:
    """Flink's older millisecond time interval (``pyflink.common.time.Time``).

    Prefer :class:`Duration` in new code; strom accepts both everywhere.
    """

    _milliseconds: int

    @staticmethod
    def milliseconds(milliseconds: int) -> Time:
        """An interval of ``milliseconds`` milliseconds."""
        return Time(int(milliseconds))

    @staticmethod
    def seconds(seconds: int) -> Time:
        """An interval of ``seconds`` seconds."""
        return Time(int(seconds) * 1000)

    @staticmethod
    def minutes(minutes: int) -> Time:
        """An interval of ``minutes`` minutes."""
        return Time.seconds(int(minutes) * 60)

    @staticmethod
    def hours(hours: int) -> Time:
        """An interval of ``hours`` hours."""
        return Time.minutes(int(hours) * 60)

    @staticmethod
    def days(days: int) -> Time:
        """An interval of ``days`` days of 24 hours."""
        return Time.hours(int(days) * 24)

    def to_milliseconds(self) -> int:
        """The interval in milliseconds."""
        return self._milliseconds

    def __repr__(self) -> str:
        return f"Time.milliseconds({self._milliseconds})"

    def __str__(self) -> str:
        return f"{self._milliseconds} ms"  # PyFlink's Time.__str__


@dataclass(frozen=True, slots=True, order=True)
class Instant:
    """A point on the UTC time line: whole ``seconds`` since the epoch plus ``nanos`` (0..1e9-1).

    Mirrors ``pyflink.common.time.Instant`` (the value type of ``Types.INSTANT()``).
    """

    seconds: int
    nanos: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.nanos < _NANOS_PER_SECOND:
            # normalise so that equal instants compare and hash equal
            extra, nanos = divmod(self.nanos, _NANOS_PER_SECOND)
            object.__setattr__(self, "seconds", self.seconds + extra)
            object.__setattr__(self, "nanos", nanos)

    @staticmethod
    def of_epoch_milli(epoch_milli: int) -> Instant:
        """The instant ``epoch_milli`` milliseconds after 1970-01-01T00:00:00Z."""
        seconds, millis = divmod(int(epoch_milli), 1000)
        return Instant(seconds, millis * _NANOS_PER_MILLI)

    def to_epoch_milli(self) -> int:
        """Milliseconds since the epoch, rounded down like Java's ``Instant.toEpochMilli``."""
        return self.seconds * 1000 + self.nanos // _NANOS_PER_MILLI

    def __repr__(self) -> str:
        return f"Instant<{self.seconds}, {self.nanos}>"  # PyFlink's Instant.__repr__


def to_millis(value: Duration | Time | timedelta | int, where: str) -> int:
    """Normalise a length of time to whole milliseconds.

    Accepts :class:`Duration`, :class:`Time`, ``datetime.timedelta`` (PyFlink's restart
    strategies take it) or an ``int`` of milliseconds. The runtime calls this wherever the API
    takes a length of time.

    Args:
        value: the length of time.
        where: what the value is for (parameter or operator name), used in the error message.

    Raises:
        InvalidTypeError: ``value`` is none of the accepted types (``bool`` is rejected too).
    """
    if isinstance(value, Duration | Time):
        return value.to_milliseconds()
    if isinstance(value, timedelta):
        return value // timedelta(milliseconds=1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    msg = (f"{where}: expected a length of time (Duration, Time, timedelta or int milliseconds) "
           f"but got {describe(value)} of type {type(value).__name__}; "
           f"hint: use Duration.of_millis(n) or Time.seconds(n)")
    raise InvalidTypeError(msg)
