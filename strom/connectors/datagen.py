"""``DataGeneratorSource``: records made from their index, rate-limited (Flink's datagen).

Flink's ``org.apache.flink.connector.datagen.source.DataGeneratorSource`` in Python idiom
(PyFlink 2.x has no Python datagen)::

    source = DataGeneratorSource(lambda i: f"event-{i}", 1_000_000,
                                 RateLimiterStrategy.per_second(100), Types.STRING())
    env.from_source(source, WatermarkStrategy.no_watermarks(), "datagen")

The generator function maps an index ``0 .. count - 1`` to a record (a callable, or an object
with ``map(index)`` as Flink's ``GeneratorFunction``); ``count = LONG_MAX`` (Java's
``Long.MAX_VALUE``) makes the source unbounded in practice. Indexes are split into one range
per subtask of the first run; a split's position is the number of its indexes emitted, so a
restore (also at another parallelism, from a savepoint) resumes exactly: every index is
generated once. The rate is the whole source's: ``per_second(n)`` lets each of ``p`` subtasks
emit ``n / p`` records per second (a token bucket holding at most one second's worth, on the
task's clock: with a ``ManualClock`` the executor jumps from one permit to the next),
``per_checkpoint(n)`` emits ``n / p`` records per subtask and then waits for the next completed
checkpoint, ``no_op()`` does not limit.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from strom.api.sources import Source
from strom.api.typeinfo import TypeInformation
from strom.errors import InvalidTypeError, JobDefinitionError, describe
from strom.runtime.operators.sources import END, NOTHING, SourceOperator, SplitSourceOperator

__all__ = ["DataGeneratorSource", "GeneratorFunction", "LONG_MAX", "RateLimiter",
           "RateLimiterStrategy"]

LONG_MAX = 2**63 - 1
"""Java's ``Long.MAX_VALUE``: the count of an (in practice) unbounded generator."""


class GeneratorFunction:
    """Maps an index to a record (Flink's ``GeneratorFunction<Long, O>``); override :meth:`map`.
    A plain callable works as well."""

    def map(self, value: int) -> Any:
        """The record for index ``value``."""
        raise NotImplementedError(f"{type(self).__name__} must implement map(index)")


class RateLimiter:
    """How many records one subtask may emit now (made per subtask by a strategy)."""

    def permits(self, now: int) -> int:
        """Records that may be emitted at processing time ``now`` (ms)."""
        return 1 << 30

    def consume(self, n: int) -> None:
        """``n`` records were emitted."""

    def next_time(self, now: int) -> int | None:
        """When to ask again after :meth:`permits` said 0 (None: after a checkpoint completes)."""
        return now

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """A checkpoint completed."""


class _PerSecond(RateLimiter):
    """A token bucket: ``rate`` per second, at most one second's worth stored, one to start."""

    def __init__(self, rate: float) -> None:
        self.per_ms = rate / 1000.0
        self.capacity = max(1.0, rate)
        self.tokens = 1.0
        self.last: int | None = None

    def permits(self, now: int) -> int:
        if self.last is not None and now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.per_ms)
        if self.last is None or now > self.last:
            self.last = now
        return int(self.tokens + 1e-9)

    def consume(self, n: int) -> None:
        self.tokens -= n

    def next_time(self, now: int) -> int:
        return now + max(1, math.ceil((1.0 - self.tokens) / self.per_ms - 1e-9))


class _PerCheckpoint(RateLimiter):
    """``amount`` records, then wait for a completed checkpoint (Flink's gated limiter)."""

    def __init__(self, amount: int) -> None:
        self.amount = amount
        self.left = amount

    def permits(self, now: int) -> int:
        return self.left

    def consume(self, n: int) -> None:
        self.left -= n

    def next_time(self, now: int) -> None:
        return None

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        self.left = self.amount


class RateLimiterStrategy:
    """How fast a :class:`DataGeneratorSource` emits (Flink's ``RateLimiterStrategy``)."""

    def __init__(self, kind: str, amount: float = 0) -> None:
        self.kind, self.amount = kind, amount

    @staticmethod
    def per_second(records_per_second: float) -> RateLimiterStrategy:
        """At most ``records_per_second`` records per second over all subtasks."""
        if isinstance(records_per_second, bool) or not isinstance(records_per_second, (int, float)) \
                or not records_per_second > 0:
            raise JobDefinitionError(f"RateLimiterStrategy.per_second: expected a positive number, "
                                     f"got {describe(records_per_second)}; hint: per_second(100)")
        return RateLimiterStrategy("per_second", float(records_per_second))

    @staticmethod
    def per_checkpoint(records_per_checkpoint: int) -> RateLimiterStrategy:
        """``records_per_checkpoint`` records over all subtasks between two completed checkpoints."""
        if isinstance(records_per_checkpoint, bool) or not isinstance(records_per_checkpoint, int) \
                or records_per_checkpoint <= 0:
            raise JobDefinitionError(f"RateLimiterStrategy.per_checkpoint: expected a positive int, "
                                     f"got {describe(records_per_checkpoint)}; hint: per_checkpoint(1000)")
        return RateLimiterStrategy("per_checkpoint", records_per_checkpoint)

    @staticmethod
    def no_op() -> RateLimiterStrategy:
        """No limit."""
        return RateLimiterStrategy("no_op")

    def create_rate_limiter(self, parallelism: int) -> RateLimiter:
        """The limiter of one of ``parallelism`` subtasks (its share of the rate)."""
        if self.kind == "per_second":
            return _PerSecond(self.amount / parallelism)
        if self.kind == "per_checkpoint":
            return _PerCheckpoint(max(1, int(self.amount) // parallelism))
        return RateLimiter()

    def __repr__(self) -> str:
        return f"RateLimiterStrategy.{self.kind}({self.amount or ''})"


class RateLimitedSplitSourceOperator(SplitSourceOperator):
    """A split source operator that emits only what its rate limiter permits, waiting on the
    task's processing-time service (never sleeping) for the next permit."""

    def __init__(self, name: str, create_splits: Callable[[int], Sequence[Any]],
                 read_split: Callable[[Any, int], Any], strategy: RateLimiterStrategy) -> None:
        super().__init__(name, create_splits, read_split)
        self.strategy = strategy
        self.limiter = RateLimiter()
        self._wake_at: int | None = None

    def open(self) -> None:
        self.limiter = self.strategy.create_rate_limiter(self.info.parallelism)
        super().open()

    def emit_next(self, budget: int) -> int:
        if self._cancelled:
            return END
        if not self.assigned:
            return END
        now = self.info.processing_time.now()
        allowed = self.limiter.permits(now)
        if allowed <= 0:
            wake = self.limiter.next_time(now)
            if wake is not None and (self._wake_at is None or wake < self._wake_at):
                self._wake_at = wake
                self.info.processing_time.register(wake, self._woken)
            return NOTHING
        before = self.records_emitted
        status = super().emit_next(min(budget, allowed))
        self.limiter.consume(self.records_emitted - before)
        return status

    def _woken(self, timestamp: int) -> None:
        """A permit is due: the task polls the source again after its timers."""
        self._wake_at = None

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        self.limiter.notify_checkpoint_complete(checkpoint_id)
        super().notify_checkpoint_complete(checkpoint_id)


class DataGeneratorSource(Source):
    """Records ``generator_function(i)`` for ``i`` in ``0 .. count - 1``, rate-limited, parallel,
    resumable.

    Args:
        generator_function: ``index -> record`` (callable, or a :class:`GeneratorFunction`).
        count: how many records (``LONG_MAX`` for an unbounded source).
        rate_limiter_strategy: how fast (default: no limit). As in Java, a
            ``TypeInformation`` here is taken as ``type_info``.
        type_info: the type of the records.
    """

    def __init__(self, generator_function: Any, count: int,
                 rate_limiter_strategy: RateLimiterStrategy | TypeInformation | None = None,
                 type_info: TypeInformation | None = None) -> None:
        if isinstance(rate_limiter_strategy, TypeInformation) and type_info is None:
            rate_limiter_strategy, type_info = None, rate_limiter_strategy
        fn = getattr(generator_function, "map", None)
        if not callable(fn):
            fn = generator_function
        if not callable(fn):
            raise InvalidTypeError(f"DataGeneratorSource: generator_function must be a callable "
                                   f"index -> record or have map(index), got {describe(generator_function)}; "
                                   "hint: DataGeneratorSource(lambda i: f'event-{i}', 100)")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= LONG_MAX:
            raise JobDefinitionError(f"DataGeneratorSource: count must be an int in 0..LONG_MAX, got "
                                     f"{describe(count)}; hint: 1000, or LONG_MAX for an unbounded source")
        strategy = rate_limiter_strategy or RateLimiterStrategy.no_op()
        if not isinstance(strategy, RateLimiterStrategy):
            raise InvalidTypeError(f"DataGeneratorSource: expected a RateLimiterStrategy, got "
                                   f"{describe(strategy)}; hint: RateLimiterStrategy.per_second(100)")
        if type_info is not None and not isinstance(type_info, TypeInformation):
            raise InvalidTypeError(f"DataGeneratorSource: type_info must be a TypeInformation, got "
                                   f"{describe(type_info)}; hint: Types.STRING()")
        self.generate = fn
        self.count = count
        self.rate_limiter_strategy = strategy
        self.produced_type = type_info
        self.bounded = count < LONG_MAX

    def splits(self, parallelism: int) -> list[tuple[int, int]]:
        """One ``(first, last + 1)`` index range per subtask of the first run."""
        n = self.count
        return [(n * i // parallelism, n * (i + 1) // parallelism) for i in range(parallelism)]

    def read_split(self, split: tuple[int, int], position: int) -> Iterator[Any]:
        """The records of the split's indexes after its first ``position``."""
        return map(self.generate, range(split[0] + position, split[1]))

    def create_operator(self, name: str) -> SourceOperator:
        if self.rate_limiter_strategy.kind == "no_op":
            return SplitSourceOperator(name, self.splits, self.read_split)
        return RateLimitedSplitSourceOperator(name, self.splits, self.read_split,
                                              self.rate_limiter_strategy)

    def __repr__(self) -> str:
        return (f"DataGeneratorSource({self.generate!r}, {self.count}, "
                f"{self.rate_limiter_strategy!r}, {self.produced_type!r})")
