"""Key groups: how keys are spread over the parallel subtasks of a keyed operator.

As in Flink, a key is first hashed into one of ``max_parallelism`` *key groups*, and each subtask
owns a contiguous range of key groups. State is snapshotted per key group, so a job can be
restored at any parallelism up to ``max_parallelism`` by handing each new subtask the key groups
it now owns (``KeyGroupRangeAssignment`` in Flink).

The hash is :func:`stable_hash`: the same in every process and every run. Python's ``hash()`` is
salted per process for ``str``/``bytes`` and must never be used for partitioning.

Key equality follows **Python** equality (not Java's): keys that compare equal share one entry of
keyed state in a subtask's dicts, so they must also land in the same key group. Therefore
``1``, ``1.0``, ``True``, ``Decimal(1)`` and ``Fraction(1)`` are one key; ``(1, "a")`` equals a
namedtuple with the same fields; an ``IntEnum``/``StrEnum`` member equals its value.

Supported key types (canonically encoded, then hashed with CRC-32 and a murmur3 finalizer):

* ``None``, ``bool``, ``int``, ``float``, ``complex``, ``decimal.Decimal``, ``fractions.Fraction``
  (numbers are encoded by their exact value, so equal numbers hash equally);
* ``str``, ``bytes``;
* ``tuple`` (and namedtuples), ``frozenset`` -- recursively;
* ``enum.Enum`` members (class path + value);
* ``datetime.datetime`` (aware ones by their UTC instant), ``date``, ``time``, ``timedelta``,
  ``uuid.UUID``;
* hashable dataclasses (``frozen=True`` or ``unsafe_hash=True``, with ``eq=True``): class path +
  the fields that take part in comparison;
* other objects that define their own ``__eq__`` and ``__hash__``: the bytes of
  ``pickle.dumps(key, protocol=4)``. Caveat: this is only correct if equal objects pickle to
  equal bytes (true for plain value classes whose state is built in the same order).

A key selector's ``list`` (top-level or inside a tuple) becomes a hashable ``ListKey``, encoded by
its items, as PyFlink accepts lists as keys.

Rejected with :class:`~strom.errors.InvalidKeyError`: other unhashable keys (``list``, ``dict``,
``set``, mutable dataclasses) and objects that compare by identity (no ``__eq__``), which
Flink also refuses as keys because every copy of such a key would be a different key.

Example:
    >>> g = assign_key_group("user-1", DEFAULT_MAX_PARALLELISM)
    >>> 0 <= g < 128
    True
    >>> operator_index(g, 4, 128) == KeyGroupRouter(4, 128).channel("user-1")
    True
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import numbers
import pickle
import uuid
import zlib
from decimal import Decimal
from fractions import Fraction
from typing import Any

from strom.errors import InvalidKeyError, JobDefinitionError, describe

__all__ = [
    "DEFAULT_MAX_PARALLELISM",
    "KeyGroupRouter",
    "assign_key_group",
    "key_group_range",
    "operator_index",
    "stable_hash",
]

DEFAULT_MAX_PARALLELISM = 128
"""The number of key groups when the job does not set a max parallelism."""

_ROUTER_CACHE_LIMIT = 100_000
_MASK32 = 0xFFFFFFFF


def _mix(h: int) -> int:
    """A murmur3-style finalizer: spreads CRC-32's (linear) bits over the low bits we use."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK32
    return h ^ (h >> 13)


def _encode_ratio(num: int, den: int) -> bytes:
    if den == 1:
        return b"i" + str(num).encode()
    return b"q" + f"{num}/{den}".encode()


def _encode_number(key: Any) -> bytes:
    """Exact value of a real number, so that every pair of equal numbers encodes identically."""
    if isinstance(key, int):  # includes bool and IntEnum members
        return b"i" + str(int(key)).encode()
    if isinstance(key, float):
        if key != key:
            return b"nan"
        if key in (float("inf"), float("-inf")):
            return b"+inf" if key > 0 else b"-inf"
        return _encode_ratio(*key.as_integer_ratio())
    if isinstance(key, Fraction):
        return _encode_ratio(key.numerator, key.denominator)
    # Decimal
    if key.is_nan():
        return b"nan"
    if key.is_infinite():
        return b"+inf" if key > 0 else b"-inf"
    return _encode_ratio(*key.as_integer_ratio())


def _frame(part: bytes) -> bytes:
    """Length-prefix one encoded element so that tuple encodings are unambiguous."""
    return len(part).to_bytes(4, "big") + part


def _encode(key: Any) -> bytes:
    """The canonical byte encoding of a hashable key (see the module docstring)."""
    if isinstance(key, str):  # before Enum: a StrEnum member equals its str value
        return b"s" + key.encode("utf-8", "surrogatepass")
    if isinstance(key, (int, float, Decimal, Fraction)):
        return _encode_number(key)
    if key is None:
        return b"N"
    if isinstance(key, bytes):
        return b"b" + key
    if isinstance(key, tuple):
        return b"t" + b"".join(_frame(_encode(item)) for item in key)
    if isinstance(key, list):  # a hashable list key (strom.runtime.keys.ListKey)
        return b"l" + b"".join(_frame(_encode(item)) for item in key)
    if isinstance(key, frozenset):
        return b"f" + b"".join(sorted(_frame(_encode(item)) for item in key))
    if isinstance(key, complex):
        if key.imag == 0:
            return _encode_number(key.real)
        return b"c" + _frame(_encode_number(key.real)) + _frame(_encode_number(key.imag))
    if isinstance(key, enum.Enum):
        cls = type(key)
        return b"e" + _frame(f"{cls.__module__}.{cls.__qualname__}".encode()) + _encode(key.value)
    if isinstance(key, _dt.datetime):
        offset = key.utcoffset()
        if offset is None:
            return b"dn" + key.isoformat().encode()
        return b"da" + (key.replace(tzinfo=None) - offset).isoformat().encode()
    if isinstance(key, _dt.date):
        return b"D" + key.isoformat().encode()
    if isinstance(key, _dt.time):
        offset = key.utcoffset()
        text = key.replace(tzinfo=None).isoformat()
        return b"T" + text.encode() + (b"" if offset is None else f"@{offset}".encode())
    if isinstance(key, _dt.timedelta):
        return b"dt" + f"{key.days},{key.seconds},{key.microseconds}".encode()
    if isinstance(key, uuid.UUID):
        return b"u" + key.bytes
    if isinstance(key, numbers.Integral):  # e.g. numpy integers, equal to Python ints
        return _encode_number(int(key))
    if isinstance(key, numbers.Real):
        return _encode_number(float(key))
    cls = type(key)
    if dataclasses.is_dataclass(cls):
        params = getattr(cls, "__dataclass_params__", None)
        if params is not None and params.eq:
            fields = tuple(
                getattr(key, f.name) for f in dataclasses.fields(key) if f.compare
            )
            return b"C" + _frame(f"{cls.__module__}.{cls.__qualname__}".encode()) + _encode(fields)
    if cls.__eq__ is object.__eq__:
        msg = (f"key_by: the key {describe(key)} ({cls.__qualname__}) compares by identity "
               "(it defines no __eq__), so no two records would ever share its state; "
               "hint: key by a str/int/tuple of its fields, or make it a frozen dataclass")
        raise InvalidKeyError(msg)
    try:
        return b"p" + pickle.dumps(key, protocol=4)
    except Exception as exc:
        msg = (f"key_by: the key {describe(key)} ({cls.__qualname__}) has no stable encoding "
               f"and cannot be pickled ({exc}); hint: key by a str/int/tuple of its fields")
        raise InvalidKeyError(msg) from exc


def stable_hash(key: Any) -> int:
    """A 32-bit hash of ``key`` that is the same in every process and every run.

    Equal keys (by Python ``==``) get equal hashes; see the module docstring for the supported
    types. Not on the per-record path: :class:`KeyGroupRouter` caches its results.

    Raises:
        InvalidKeyError: the key is unhashable or compares by identity.
    """
    if type(key) is str:  # fast path for the most common key type
        return _mix(zlib.crc32(key.encode("utf-8", "surrogatepass"), 0x73))
    try:
        hash(key)
    except TypeError as exc:
        msg = (f"key_by: the key {describe(key)} ({type(key).__qualname__}) is unhashable; "
               "keys must be hashable and immutable; hint: return a tuple instead of a list, "
               "or a frozenset instead of a set")
        raise InvalidKeyError(msg) from exc
    data = _encode(key)
    if data[:1] == b"s":
        return _mix(zlib.crc32(data[1:], 0x73))
    return _mix(zlib.crc32(data))


def assign_key_group(key: Any, max_parallelism: int) -> int:
    """The key group of ``key``: ``stable_hash(key) % max_parallelism``, in ``[0, max_parallelism)``."""
    return stable_hash(key) % max_parallelism


def _check_parallelism(parallelism: int, max_parallelism: int) -> None:
    if not 0 < parallelism <= max_parallelism:
        msg = (f"key groups: expected 0 < parallelism <= max_parallelism, got parallelism="
               f"{parallelism}, max_parallelism={max_parallelism}; hint: raise the job's "
               "max parallelism (it fixes the number of key groups and cannot change on restore)")
        raise JobDefinitionError(msg)


def operator_index(key_group: int, parallelism: int, max_parallelism: int) -> int:
    """The subtask (in ``[0, parallelism)``) that owns ``key_group``; Flink's formula."""
    return key_group * parallelism // max_parallelism


def key_group_range(index: int, parallelism: int, max_parallelism: int) -> range:
    """The contiguous key groups owned by subtask ``index`` of ``parallelism``.

    Mirrors Flink's ``computeKeyGroupRangeForOperatorIndex``; the ranges of all subtasks
    partition ``range(max_parallelism)`` and agree with :func:`operator_index`.
    """
    _check_parallelism(parallelism, max_parallelism)
    if not 0 <= index < parallelism:
        msg = f"key groups: subtask index {index} is outside [0, {parallelism})"
        raise JobDefinitionError(msg)
    start = (index * max_parallelism + parallelism - 1) // parallelism
    end = ((index + 1) * max_parallelism - 1) // parallelism
    return range(start, end + 1)


class KeyGroupRouter:
    """Routes keys to output channels (downstream subtasks) of a key-group-hash partitioner.

    ``channel`` is on the per-record path: on a cache hit it is a single dict lookup. The cache
    (:attr:`routes`, key -> channel; a caller may read it directly and call ``channel`` on a
    miss) is cleared when it grows past 100 000 keys, never replaced. Not thread-safe; one
    router per output.

    Args:
        parallelism: the number of downstream subtasks.
        max_parallelism: the number of key groups.
    """

    __slots__ = ("parallelism", "max_parallelism", "routes")

    def __init__(self, parallelism: int, max_parallelism: int = DEFAULT_MAX_PARALLELISM) -> None:
        _check_parallelism(parallelism, max_parallelism)
        self.parallelism = parallelism
        self.max_parallelism = max_parallelism
        self.routes: dict[Any, int] = {}

    def channel(self, key: Any) -> int:
        """The downstream subtask for ``key``.

        Raises:
            InvalidKeyError: ``key`` is ``None`` (Flink has no null keys) or cannot be hashed.
        """
        try:
            return self.routes[key]
        except (KeyError, TypeError):
            return self._miss(key)

    def _miss(self, key: Any) -> int:
        if key is None:
            msg = ("key_by: the key selector returned None; keys may not be None (Flink rejects "
                   "null keys); hint: map a missing key to a placeholder such as ''")
            raise InvalidKeyError(msg)
        group = stable_hash(key) % self.max_parallelism
        index = group * self.parallelism // self.max_parallelism
        cache = self.routes
        if len(cache) >= _ROUTER_CACHE_LIMIT:
            cache.clear()
        cache[key] = index
        return index
