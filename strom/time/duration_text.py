"""Flink's duration option text ("10 s", "1 min", "500 ms", "1h", "250") as milliseconds.

Configuration keys such as ``execution.checkpointing.interval`` or
``restart-strategy.fixed-delay.delay`` hold durations as text. Flink's ``TimeUtils.parseDuration``
reads a whole number followed by an optional unit; a bare number is milliseconds. This module
is the one parser strom uses for that text (the environment and the restart strategies share it).

Example::

    >>> parse_duration_ms("10 s", "execution.checkpointing.interval")
    10000
    >>> parse_duration_ms("1h", "restart-strategy.exponential-delay.reset-backoff-threshold")
    3600000
"""
from __future__ import annotations

import re

from strom.errors import JobDefinitionError

_NANOS_PER_UNIT: dict[str, int] = {}
for _names, _nanos in (
        (("ns", "nano", "nanos", "nanosecond", "nanoseconds"), 1),
        (("us", "µs", "micro", "micros", "microsecond", "microseconds"), 1_000),
        (("ms", "milli", "millis", "millisecond", "milliseconds"), 1_000_000),
        (("s", "sec", "secs", "second", "seconds"), 1_000_000_000),
        (("m", "min", "mins", "minute", "minutes"), 60_000_000_000),
        (("h", "hour", "hours"), 3_600_000_000_000),
        (("d", "day", "days"), 86_400_000_000_000)):
    for _name in _names:
        _NANOS_PER_UNIT[_name] = _nanos

_PATTERN = re.compile(r"^\s*(\d+)\s*([^\d\s]*)\s*$")


def parse_duration_ms(text: str, key: str) -> int:
    """Parse a Flink duration option value to whole milliseconds (rounded down).

    Args:
        text: ``"<whole number> [unit]"``; units are ns, us, ms, s, m/min, h, d and their long
            forms (``seconds``, ``minutes``...), in any case. No unit means milliseconds.
        key: the configuration key the text came from, named in the error message.

    Raises:
        JobDefinitionError: the text is not a whole number with a known unit.
    """
    match = _PATTERN.match(str(text))
    unit = match.group(2).lower() if match else ""
    if match is None or (unit and unit not in _NANOS_PER_UNIT):
        msg = (f"configuration key {key!r}: expected a duration such as '500 ms', '10 s', "
               f"'1 min' or '1 h' (a bare number is milliseconds) but got {text!r}; hint: use a "
               f"whole number and one of the units ms, s, min, h, d")
        raise JobDefinitionError(msg)
    nanos = int(match.group(1)) * _NANOS_PER_UNIT.get(unit, 1_000_000)
    return nanos // 1_000_000
