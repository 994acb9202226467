"""Key groups: stable hashing, key-group assignment, operator ranges and the router."""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strom.errors import InvalidKeyError, JobDefinitionError
from strom.state import (
    DEFAULT_MAX_PARALLELISM,
    KeyGroupRouter,
    assign_key_group,
    key_group_range,
    operator_index,
    stable_hash,
)
from strom.state import key_groups as kg_module

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text() | st.binary())
keys = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.lists(inner).map(tuple)
                    | st.frozensets(scalars, max_size=4), max_leaves=12)

# Keys whose hashes are compared across processes (PYTHONHASHSEED differs).
CROSS_PROCESS_KEYS = ["", "user-1", "ünïcødé", 0, 1, -7, 2**70, 3.25, None, True, b"\x00\xff",
                      ("a", 1, (2.5, None)), frozenset({"x", "y", "z"})]
PROBE = """
import json, sys
from strom.state import stable_hash
keys = ["", "user-1", "ünïcødé", 0, 1, -7, 2**70, 3.25, None, True, b"\\x00\\xff",
        ("a", 1, (2.5, None)), frozenset({"x", "y", "z"})]
print(json.dumps([stable_hash(k) for k in keys]))
"""


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    HIGH = 1


class Tag(enum.StrEnum):
    A = "a"


@dataclasses.dataclass(frozen=True)
class UserId:
    tenant: str
    number: int
    note: str = dataclasses.field(default="", compare=False)


@dataclasses.dataclass
class MutableKey:
    x: int


class IdentityKey:
    def __hash__(self) -> int:
        return 1


Point = collections.namedtuple("Point", "x y")


def test_stable_hash_is_the_same_in_other_processes() -> None:
    local = [stable_hash(k) for k in CROSS_PROCESS_KEYS]
    for seed in ("1", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                             env=env, check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
        assert json.loads(out.stdout) == local


def test_stable_hash_pinned_values() -> None:
    """Changing the encoding breaks every savepoint: these values must never change."""
    pinned = {k: stable_hash(k) for k in ("user-1", 42, ("a", 1))}
    assert pinned == {"user-1": 1784179936, 42: 1954736858, ("a", 1): 2653823080}
    assert all(0 <= h < 2**32 for h in pinned.values())


@pytest.mark.parametrize("group", [
    [1, 1.0, True, Decimal(1), Fraction(1), Level.HIGH, complex(1, 0)],
    [0, 0.0, -0.0, False, Decimal("0.00")],
    [0.5, Fraction(1, 2), Decimal("0.5")],
    ["a", Tag.A],
    [(1, 2), Point(1, 2), (1.0, True + 1)],
    [frozenset({1, 2, 3}), frozenset({3, 2, 1})],
    [dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC),
     dt.datetime(2024, 1, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))],
    [UserId("t", 1, "x"), UserId("t", 1, "y")],
    [float("inf"), Decimal("Infinity")],
])
def test_equal_keys_hash_equally(group: list[object]) -> None:
    for a in group:
        assert a == group[0]
        assert stable_hash(a) == stable_hash(group[0]), a


def test_unequal_keys_of_special_types_usually_differ() -> None:
    distinct = ["1", 1, b"1", (1,), frozenset({1}), None, Color.RED, Color.BLUE, "red",
                dt.date(2024, 1, 1), dt.datetime(2024, 1, 1), dt.time(1), dt.timedelta(1),
                uuid.UUID(int=1), UserId("t", 1), 0.25, complex(1, 2), ("a", "b"), ("ab",)]
    hashes = [stable_hash(k) for k in distinct]
    assert len(set(hashes)) == len(hashes)


@given(st.integers())
def test_numbers_equal_to_an_int_hash_like_it(n: int) -> None:
    assert stable_hash(Decimal(n)) == stable_hash(n) == stable_hash(Fraction(n))
    if float(n) == n:
        assert stable_hash(float(n)) == stable_hash(n)


@given(st.floats(allow_nan=False))
def test_floats_hash_like_equal_decimals_and_fractions(x: float) -> None:
    assert stable_hash(Decimal(x)) == stable_hash(x)
    if x not in (float("inf"), float("-inf")):
        assert stable_hash(Fraction(x)) == stable_hash(x)


@given(keys)
def test_stable_hash_is_deterministic_and_32_bit(key: object) -> None:
    h = stable_hash(key)
    assert 0 <= h < 2**32
    assert stable_hash(key) == h


@pytest.mark.parametrize("key", [[1, 2], {"a": 1}, {1}, (1, [2]), MutableKey(1)])
def test_unhashable_keys_are_rejected(key: object) -> None:
    with pytest.raises(InvalidKeyError, match="unhashable.*hint: return a tuple"):
        stable_hash(key)
    with pytest.raises(InvalidKeyError):
        KeyGroupRouter(2).channel(key)


def test_identity_keys_are_rejected() -> None:
    with pytest.raises(InvalidKeyError, match="compares by identity"):
        stable_hash(IdentityKey())


@given(keys, st.integers(1, 4096))
def test_assign_key_group_is_in_range(key: object, max_parallelism: int) -> None:
    assert 0 <= assign_key_group(key, max_parallelism) < max_parallelism


@given(st.integers(1, 2048).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m))))
def test_key_group_ranges_partition_and_agree_with_operator_index(pm: tuple[int, int]) -> None:
    parallelism, max_parallelism = pm
    covered = []
    for index in range(parallelism):
        groups = key_group_range(index, parallelism, max_parallelism)
        assert groups.step == 1
        assert len(groups) >= 1
        for group in groups:
            assert operator_index(group, parallelism, max_parallelism) == index
        covered.extend(groups)
    assert covered == list(range(max_parallelism))


@given(st.integers(0, 4095), st.integers(1, 4096))
def test_operator_index_is_in_range(group: int, parallelism: int) -> None:
    max_parallelism = max(group + 1, parallelism)
    assert 0 <= operator_index(group, parallelism, max_parallelism) < parallelism


def test_flink_ranges_for_known_values() -> None:
    # Flink: parallelism 3 over 128 key groups -> [0,42], [43,85], [86,127].
    assert [key_group_range(i, 3, 128) for i in range(3)] == [
        range(0, 43), range(43, 86), range(86, 128)]


def test_invalid_parallelism_is_a_job_definition_error() -> None:
    with pytest.raises(JobDefinitionError, match="max_parallelism"):
        key_group_range(0, 200, 128)
    with pytest.raises(JobDefinitionError):
        key_group_range(3, 3, 128)
    with pytest.raises(JobDefinitionError):
        KeyGroupRouter(0, 128)


@given(st.lists(keys, max_size=30), st.integers(1, 16))
def test_router_agrees_with_key_group_functions(ks: list[object], parallelism: int) -> None:
    router = KeyGroupRouter(parallelism, DEFAULT_MAX_PARALLELISM)
    for key in ks + ks:  # the second pass hits the cache
        if key is None:
            continue
        group = assign_key_group(key, DEFAULT_MAX_PARALLELISM)
        assert router.channel(key) == operator_index(group, parallelism, DEFAULT_MAX_PARALLELISM)


def test_router_rejects_none() -> None:
    with pytest.raises(InvalidKeyError, match="None"):
        KeyGroupRouter(2).channel(None)


def test_router_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kg_module, "_ROUTER_CACHE_LIMIT", 50)
    router = KeyGroupRouter(4)
    for i in range(500):
        router.channel(i)
        assert len(router.routes) <= 50
    assert router.channel(7) == operator_index(assign_key_group(7, 128), 4, 128)


def test_keys_spread_over_key_groups() -> None:
    counts = collections.Counter(assign_key_group(f"user-{i}", 128) for i in range(12_800))
    assert len(counts) == 128
    assert max(counts.values()) < 3 * 100
    int_counts = collections.Counter(assign_key_group(i, 128) for i in range(12_800))
    assert len(int_counts) == 128
    assert max(int_counts.values()) < 3 * 100
