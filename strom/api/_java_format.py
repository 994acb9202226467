"""Java ``toString`` of scalar values: ``Double.toString``, ``java.time`` and ``java.sql`` layouts.

Private to :mod:`strom.api.typeinfo`: its types' ``_java`` methods and
:func:`~strom.api.java_strings.java_string` use these. Each function takes a valid value of its
type; ``None`` (Java's ``null``) is handled by the caller.
"""
from __future__ import annotations

import datetime as dt
import math
import struct
from decimal import Decimal
from typing import Any

from strom.time.durations import Instant


def _java_decimal_digits(text: str) -> tuple[str, int]:
    """Significant digits and decimal exponent (d.ddd x 10^e) of a decimal literal."""
    _sign, digits, exp = Decimal(text).normalize().as_tuple()
    ds = "".join(map(str, digits))
    return ds, len(ds) + int(exp) - 1


def _java_floating(x: float, shortest: str) -> str:
    """Java ``Double.toString``/``Float.toString`` layout of the shortest digits."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0.0"
    ds, e = _java_decimal_digits(shortest.lstrip("-"))
    if 1e-3 <= abs(x) < 1e7:
        if e >= 0:
            whole, frac = ds[: e + 1].ljust(e + 1, "0"), ds[e + 1:]
        else:
            whole, frac = "0", "0" * (-e - 1) + ds
        return f"{sign}{whole}.{frac or '0'}"
    return f"{sign}{ds[0]}.{ds[1:] or '0'}E{e}"


def java_double(v: Any) -> str:
    x = float(v)
    return _java_floating(x, repr(x))


def java_float(v: Any) -> str:
    f = struct.unpack("f", struct.pack("f", float(v)))[0]
    if math.isnan(f) or math.isinf(f) or f == 0:
        return _java_floating(f, "0")
    for precision in range(1, 10):  # the shortest digits that read back as the same float32
        text = f"{f:.{precision}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f:
            return _java_floating(f, text)
    return _java_floating(f, repr(f))


def _java_fraction(nanos: int) -> str:
    """``java.time`` fraction: groups of three digits, omitted when zero."""
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1000 == 0:
        return f".{nanos // 1000:06d}"
    return f".{nanos:09d}"


def java_local_time(t: dt.time) -> str:
    text = f"{t.hour:02d}:{t.minute:02d}"
    nanos = t.microsecond * 1000
    if t.second or nanos:
        text += f":{t.second:02d}{_java_fraction(nanos)}"
    return text


def java_sql_timestamp(d: dt.datetime) -> str:
    frac = f"{d.microsecond * 1000:09d}".rstrip("0") or "0"
    return f"{d.date().isoformat()} {d.hour:02d}:{d.minute:02d}:{d.second:02d}.{frac}"


def java_instant(i: Instant) -> str:
    day = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=i.seconds)
    return day.strftime("%Y-%m-%dT%H:%M:%S") + _java_fraction(i.nanos) + "Z"


def java_local_date_time(d: dt.datetime) -> str:
    """Java ``LocalDateTime.toString``: ``2024-01-01T10:00``."""
    return f"{d.date().isoformat()}T{java_local_time(d.time())}"

