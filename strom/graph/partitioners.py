"""Partitioners: which downstream subtask(s) a record goes to.

Each partitioner is a frozen spec (part of the plan) whose ``selector(num_channels, subtask)``
builds the per-record function ``value -> channel`` for one producing subtask; ``None`` means
"every channel" (broadcast). ``pointwise`` partitioners connect a producer to a subset of the
consumers (Flink's POINTWISE distribution), the others connect all to all.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strom.errors import InvalidKeyError, UserFunctionError, describe
from strom.state import KeyGroupRouter

Selector = Callable[[Any], int] | None


@dataclass(frozen=True, slots=True)
class Partitioner:
    """Base spec."""

    pointwise = False
    name = "?"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Forward(Partitioner):
    """Subtask i sends to subtask i (requires equal parallelism); chained when possible."""

    pointwise = True
    name = "FORWARD"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        return lambda value: 0


@dataclass(frozen=True, slots=True)
class Rescale(Partitioner):
    """Round robin over the subset of consumers this producer is connected to."""

    pointwise = True
    name = "RESCALE"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        return _round_robin(num_channels, 0)


@dataclass(frozen=True, slots=True)
class Rebalance(Partitioner):
    """Round robin over all consumers, starting at a per-subtask offset."""

    name = "REBALANCE"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        return _round_robin(num_channels, subtask % num_channels)


@dataclass(frozen=True, slots=True)
class Shuffle(Partitioner):
    """Uniformly random consumer, from a seeded generator (randomness is injected)."""

    seed: int = 0
    name = "SHUFFLE"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        rng = random.Random(self.seed * 1_000_003 + subtask)
        return lambda value: rng.randrange(num_channels)


@dataclass(frozen=True, slots=True)
class Broadcast(Partitioner):
    """Every record to every consumer."""

    name = "BROADCAST"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        return None


@dataclass(frozen=True, slots=True)
class Global(Partitioner):
    """Every record to the first consumer."""

    name = "GLOBAL"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        return lambda value: 0


@dataclass(frozen=True, slots=True)
class KeyGroups(Partitioner):
    """By key: key -> key group (stable hash) -> the subtask owning that key group."""

    key_selector: Callable[[Any], Any] = None  # type: ignore[assignment]
    name = "HASH"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        router = KeyGroupRouter(num_channels, max_parallelism)
        route = router.channel
        ks = self.key_selector

        def by_key(value: Any) -> int:
            try:
                key = ks(value)
            except Exception as exc:
                msg = (f"key_by: the key selector raised on element {describe(value)}: "
                       f"{type(exc).__name__}: {exc}")
                raise UserFunctionError(msg, operator="key_by", element=value) from exc
            try:
                return route(key)
            except InvalidKeyError as exc:
                raise InvalidKeyError(f"{exc} (element {describe(value)})") from None

        # for writers that inline the cache hit: routes[key_selector(value)], else by_key(value)
        by_key.key_selector = ks  # type: ignore[attr-defined]
        by_key.routes = router.routes  # type: ignore[attr-defined]
        return by_key


@dataclass(frozen=True, slots=True)
class Custom(Partitioner):
    """``partition_custom``: a user Partitioner's ``partition(key, num_partitions)`` picks the consumer."""

    partition: Callable[[Any, int], int] = None  # type: ignore[assignment]
    key_selector: Callable[[Any], Any] = None  # type: ignore[assignment]
    name = "CUSTOM"

    def selector(self, num_channels: int, subtask: int, max_parallelism: int) -> Selector:
        partition, ks = self.partition, self.key_selector

        def custom(value: Any) -> int:
            try:
                channel = partition(ks(value), num_channels)
            except Exception as exc:
                msg = f"partition_custom failed on element {describe(value)}: {type(exc).__name__}: {exc}"
                raise UserFunctionError(msg, operator="partition_custom", element=value) from exc
            if not isinstance(channel, int) or not 0 <= channel < num_channels:
                msg = (f"partition_custom: the partitioner returned {channel!r} for element "
                       f"{describe(value)}; expected an int in [0, {num_channels})")
                raise UserFunctionError(msg, operator="partition_custom", element=value)
            return channel

        return custom


def _round_robin(n: int, start: int) -> Callable[[Any], int]:
    state = [start - 1]

    def next_channel(value: Any) -> int:
        c = state[0] + 1
        if c >= n:
            c = 0
        state[0] = c
        return c

    return next_channel


def pointwise_targets(producer: int, n_up: int, n_down: int) -> list[int]:
    """Consumers connected to ``producer`` under POINTWISE distribution (Flink's rule)."""
    if n_up == n_down:
        return [producer]
    if n_up > n_down:
        return [producer * n_down // n_up]
    start = (producer * n_down + n_up - 1) // n_up
    end = ((producer + 1) * n_down + n_up - 1) // n_up
    return list(range(start, end))
