"""Java ``DateTimeFormatter`` patterns (``"yyyy-MM-dd--HH"``) as Python formatting functions.

Private to :mod:`strom.connectors.file_policies`. Supported letters, with Java's meaning and
widths (text in English, as Java's ``Locale.ROOT``/``US``): ``y``/``u`` year (``yy``: two
digits), ``M``/``L`` month (``M``, ``MM``, ``MMM`` Jan, ``MMMM`` January), ``d`` day of month,
``D`` day of year, ``H`` hour 0-23, ``k`` 1-24, ``K`` 0-11, ``h`` 1-12, ``m`` minute, ``s``
second, ``S`` fraction of second, ``a`` AM/PM, ``E`` day of week (``E`` Mon, ``EEEE`` Monday).
``'text'`` is a literal, ``''`` a quote, ``[`` ``]`` (optional sections) print their content;
any other letter raises :class:`~strom.errors.UnsupportedError`.

Example:
    >>> import datetime as dt
    >>> compile_pattern("yyyy-MM-dd--HH'h'", "demo")(dt.datetime(2024, 3, 7, 9))
    '2024-03-07--09h'
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from strom.errors import JobDefinitionError, UnsupportedError

__all__ = ["compile_pattern"]

_Part = Callable[[dt.datetime], str]
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SUPPORTED = "y u M L d D H k K h m s S a E"


def _number(get: Callable[[dt.datetime], int], width: int) -> _Part:
    return lambda t: str(get(t)).zfill(width)


def _text(names: tuple[str, ...], get: Callable[[dt.datetime], int], count: int) -> _Part:
    if count >= 5:
        return lambda t: names[get(t)][0]
    if count == 4:
        return lambda t: names[get(t)]
    return lambda t: names[get(t)][:3]


def _fraction(count: int) -> _Part:
    return lambda t: f"{t.microsecond:06d}000"[:count].ljust(count, "0")


def _field(letter: str, count: int, where: str, pattern: str) -> _Part:
    """The formatter of ``count`` repetitions of ``letter``."""
    def too_many(limit: int) -> None:
        if count > limit:
            msg = (f"{where}: date-time pattern {pattern!r} has {letter * count!r}, more than "
                   f"{limit} {letter!r} letters (Java rejects it too); hint: e.g. "
                   f"{letter * min(limit, 2)!r}")
            raise JobDefinitionError(msg)

    if letter in "yu":
        if count == 2:
            return lambda t: f"{t.year % 100:02d}"
        return _number(lambda t: t.year, count if count > 2 else 1)
    if letter in "ML":
        too_many(5)
        if count >= 3:
            return _text(_MONTHS, lambda t: t.month - 1, count)
        return _number(lambda t: t.month, count)
    if letter == "E":
        too_many(5)
        return _text(_DAYS, lambda t: t.weekday(), count)
    if letter == "a":
        too_many(1)
        return lambda t: "AM" if t.hour < 12 else "PM"
    if letter == "S":
        return _fraction(count)
    if letter == "D":
        too_many(3)
        return _number(lambda t: t.timetuple().tm_yday, count)
    getters: dict[str, Callable[[dt.datetime], int]] = {
        "d": lambda t: t.day,
        "H": lambda t: t.hour,
        "k": lambda t: t.hour or 24,
        "K": lambda t: t.hour % 12,
        "h": lambda t: t.hour % 12 or 12,
        "m": lambda t: t.minute,
        "s": lambda t: t.second,
    }
    if letter in getters:
        too_many(2)
        return _number(getters[letter], count)
    msg = (f"{where}: date-time pattern {pattern!r} uses the letter {letter!r}, which strom "
           f"does not format; supported letters: {_SUPPORTED}; hint: quote literal text, as in "
           "\"yyyy-MM-dd'T'HH\"")
    raise UnsupportedError(msg)


def _tokens(pattern: str, where: str) -> list[str | tuple[str, int]]:
    """Literals (str) and letter runs ((letter, count)) of ``pattern``."""
    out: list[str | tuple[str, int]] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            if pattern.startswith("''", i):
                out.append("'")
                i += 2
                continue
            end = i + 1
            text = []
            while True:
                if end >= n:
                    msg = (f"{where}: date-time pattern {pattern!r} has an unclosed quote at "
                           f"position {i}; hint: close it, or write '' for a quote character")
                    raise JobDefinitionError(msg)
                if pattern[end] == "'":
                    if pattern.startswith("''", end):
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            out.append("".join(text))
            i = end + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            out.append((c, j - i))
            i = j
        elif c in "[]":
            i += 1  # optional sections: every field is available, so their content prints
        elif c in "#{}":
            msg = (f"{where}: date-time pattern {pattern!r} uses the reserved character {c!r}; "
                   f"hint: quote it, as in \"'{c}'\"")
            raise JobDefinitionError(msg)
        else:
            out.append(c)
            i += 1
    return out


def compile_pattern(pattern: str, where: str) -> Callable[[dt.datetime], str]:
    """A function formatting a datetime as Java's ``DateTimeFormatter.ofPattern(pattern)``.

    Raises:
        JobDefinitionError: the pattern is malformed (``where`` names the caller).
        UnsupportedError: the pattern uses a letter strom does not format.
    """
    if not isinstance(pattern, str) or not pattern:
        msg = (f"{where}: the date-time pattern must be a non-empty str, got {pattern!r}; hint: "
               "'yyyy-MM-dd--HH'")
        raise JobDefinitionError(msg)
    parts: list[_Part | str] = [t if isinstance(t, str) else _field(t[0], t[1], where, pattern)
                                for t in _tokens(pattern, where)]

    def format_datetime(moment: dt.datetime) -> str:
        return "".join(p if isinstance(p, str) else p(moment) for p in parts)

    return format_datetime
