"""Restart strategies: whether a failed job may restart, and after how long.

Flink's ``RestartBackoffTimeStrategy`` family, with its configuration keys and defaults (Flink
2.x names; ``restart-strategy`` is accepted for the 1.x name of ``restart-strategy.type``):

=====================  ======================================================================
``none``               never restart (``off``, ``disable``)
``fixed-delay``        ``restart-strategy.fixed-delay.attempts`` (1) restarts,
                       ``restart-strategy.fixed-delay.delay`` (1 s) apart
``failure-rate``       restart unless more than ``.max-failures-per-interval`` (1) failures
                       happen within ``.failure-rate-interval`` (1 min); ``.delay`` (1 s)
``exponential-delay``  ``.initial-backoff`` (1 s) times ``.backoff-multiplier`` (1.5) per
                       attempt, capped at ``.max-backoff`` (1 min), +/- ``.jitter-factor`` (0.1);
                       reset after ``.reset-backoff-threshold`` (1 h) without failure; at most
                       ``.attempts-before-reset-backoff`` (unlimited) attempts between resets
=====================  ======================================================================

:func:`restart_strategy` picks one as Flink's ``RestartBackoffTimeStrategyFactoryLoader`` does:
the job's ``env.set_restart_strategy(...)`` object unless it is ``fall_back_restart()``, then the
``restart-strategy.*`` keys, then the default: ``none`` without checkpointing and
``exponential-delay`` with its defaults when checkpointing is on.

Time and randomness are injected: each failure is reported with ``now_ms`` and jitter draws
from the ``random.Random`` given, so a strategy is deterministic in tests.

Example::

    >>> import random
    >>> s = restart_strategy({"restart-strategy.type": "fixed-delay",
    ...                       "restart-strategy.fixed-delay.attempts": "2",
    ...                       "restart-strategy.fixed-delay.delay": "5 s"}, None, False,
    ...                      random.Random(0))
    >>> s.notify_failure(now_ms=0)
    True
    >>> s.can_restart(), s.backoff_ms()
    (True, 5000)
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from strom.errors import JobDefinitionError, describe
from strom.time.duration_text import parse_duration_ms

if TYPE_CHECKING:  # the legacy objects live in the API layer, which this package does not import
    from strom.api.configuration import RestartStrategyConfiguration

_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1
_TYPE_KEY = "restart-strategy.type"
_LEGACY_TYPE_KEY = "restart-strategy"


class RestartStrategy(Protocol):
    """Decides, after each failure, whether the job restarts and how long it waits first.

    The runtime calls ``notify_failure(now_ms)`` once per failure, then ``can_restart()``; if
    that is true it waits ``backoff_ms()`` before restarting. Not called concurrently.
    """

    description: str

    def notify_failure(self, now_ms: int) -> bool:
        """Record a failure at ``now_ms``; returns whether it starts a new restart attempt."""
        ...

    def can_restart(self) -> bool:
        """Whether the job may restart after the failures notified so far."""
        ...

    def backoff_ms(self) -> int:
        """The wait before the next restart, as of the last ``notify_failure``."""
        ...


class NoRestart:
    """Never restart: the first failure fails the job (``restart-strategy.type: none``)."""

    description = "Restart deactivated."

    def notify_failure(self, now_ms: int) -> bool:
        return True

    def can_restart(self) -> bool:
        return False

    def backoff_ms(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "NoRestart()"


class FixedDelayRestart:
    """Restart at most ``attempts`` times, waiting ``delay_ms`` before each restart.

    Args:
        attempts: restarts allowed (>= 0); the ``attempts + 1``-th failure fails the job.
        delay_ms: the wait before each restart (>= 0).
    """

    def __init__(self, attempts: int, delay_ms: int) -> None:
        _check(attempts >= 0, "restart-strategy.fixed-delay.attempts", ">= 0", attempts)
        _check(delay_ms >= 0, "restart-strategy.fixed-delay.delay", ">= 0 ms", delay_ms)
        self.attempts = attempts
        self.delay_ms = delay_ms
        self.failures = 0
        self.description = (f"Restart with fixed delay ({delay_ms} ms). "
                            f"#{attempts} restart attempts.")

    def notify_failure(self, now_ms: int) -> bool:
        self.failures += 1
        return True

    def can_restart(self) -> bool:
        return self.failures <= self.attempts

    def backoff_ms(self) -> int:
        return self.delay_ms

    def __repr__(self) -> str:
        return f"FixedDelayRestart(attempts={self.attempts}, delay_ms={self.delay_ms})"


class FailureRateRestart:
    """Restart unless more than ``max_failures`` failures fall within ``interval_ms``.

    As in Flink, the job fails when the ``max_failures + 1`` most recent failures all lie within
    one interval (the newest minus the oldest is at most ``interval_ms``).

    Args:
        max_failures: failures tolerated per interval (>= 1).
        interval_ms: the sliding window failures are counted in (>= 1).
        delay_ms: the wait before each restart (>= 0).
    """

    def __init__(self, max_failures: int, interval_ms: int, delay_ms: int) -> None:
        _check(max_failures >= 1, "restart-strategy.failure-rate.max-failures-per-interval", ">= 1", max_failures)
        _check(interval_ms >= 1, "restart-strategy.failure-rate.failure-rate-interval", ">= 1 ms", interval_ms)
        _check(delay_ms >= 0, "restart-strategy.failure-rate.delay", ">= 0 ms", delay_ms)
        self.max_failures = max_failures
        self.interval_ms = interval_ms
        self.delay_ms = delay_ms
        self._failures: deque[int] = deque(maxlen=max_failures + 1)
        self.description = (f"Failure rate restart with maximum of {max_failures} failures "
                            f"within interval {interval_ms} ms and fixed delay {delay_ms} ms.")

    def notify_failure(self, now_ms: int) -> bool:
        self._failures.append(now_ms)
        return True

    def can_restart(self) -> bool:
        if len(self._failures) <= self.max_failures:
            return True
        return self._failures[-1] - self._failures[0] > self.interval_ms

    def backoff_ms(self) -> int:
        return self.delay_ms

    def __repr__(self) -> str:
        return (f"FailureRateRestart(max_failures={self.max_failures}, "
                f"interval_ms={self.interval_ms}, delay_ms={self.delay_ms})")


class ExponentialDelayRestart:
    """Restart with a backoff that grows by ``multiplier`` per attempt, up to ``max_backoff_ms``.

    Follows Flink 1.19+/2.x: attempt ``n`` (from 0) waits ``initial * multiplier**n`` ms plus a
    jitter drawn uniformly from ``[-j, j]`` with ``j = backoff * jitter``, clamped to
    ``[initial, max]``. Failures reported before the scheduled restart (``now_ms <=`` restart
    time) merge into the pending attempt. When ``reset_threshold_ms`` or more passes between the
    scheduled restart and the next failure, the attempt count (and so the backoff) resets. The
    job fails once more than ``attempts_before_reset`` attempts happen without a reset.

    Args:
        initial_backoff_ms: first wait (>= 1).
        max_backoff_ms: the cap (>= initial).
        multiplier: growth per attempt (> 1).
        reset_threshold_ms: quiet time that resets the backoff (>= 1).
        jitter: fraction of the backoff added or subtracted at random (0..1).
        attempts_before_reset: attempts allowed between resets (>= 1).
        rng: the source of jitter.
    """

    def __init__(self, initial_backoff_ms: int, max_backoff_ms: int, multiplier: float,
                 reset_threshold_ms: int, jitter: float, attempts_before_reset: int,
                 rng: random.Random) -> None:
        _check(initial_backoff_ms >= 1, "restart-strategy.exponential-delay.initial-backoff", ">= 1 ms",
               initial_backoff_ms)
        _check(max_backoff_ms >= initial_backoff_ms, "restart-strategy.exponential-delay.max-backoff",
               f">= the initial backoff ({initial_backoff_ms} ms)", max_backoff_ms)
        _check(multiplier > 1, "restart-strategy.exponential-delay.backoff-multiplier", "> 1", multiplier)
        _check(reset_threshold_ms >= 1, "restart-strategy.exponential-delay.reset-backoff-threshold", ">= 1 ms",
               reset_threshold_ms)
        _check(0 <= jitter <= 1, "restart-strategy.exponential-delay.jitter-factor", "between 0 and 1", jitter)
        _check(attempts_before_reset >= 1, "restart-strategy.exponential-delay.attempts-before-reset-backoff", ">= 1",
               attempts_before_reset)
        self.initial_backoff_ms = initial_backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self.multiplier = multiplier
        self.reset_threshold_ms = reset_threshold_ms
        self.jitter = jitter
        self.attempts_before_reset = attempts_before_reset
        self.attempt = 0
        self._rng = rng
        self._next_restart_ms: int | None = None
        self._backoff_ms = 0
        self.description = (f"Restart with exponential delay: initial {initial_backoff_ms} ms, "
                            f"x{multiplier} per attempt up to {max_backoff_ms} ms, jitter "
                            f"{jitter}, reset after {reset_threshold_ms} ms without failure, "
                            f"{attempts_before_reset} attempts before reset.")

    def notify_failure(self, now_ms: int) -> bool:
        nxt = self._next_restart_ms
        if nxt is not None and now_ms <= nxt:
            self._backoff_ms = nxt - now_ms  # merged into the restart already scheduled
            return False
        if nxt is not None and now_ms - nxt >= self.reset_threshold_ms:
            self.attempt = 0
        self._backoff_ms = self._next_backoff()
        self._next_restart_ms = now_ms + self._backoff_ms
        self.attempt += 1
        return True

    def _next_backoff(self) -> int:
        try:  # Java's (long) cast saturates; so does this
            base = min(int(self.initial_backoff_ms * self.multiplier ** self.attempt), _LONG_MAX)
        except OverflowError:
            base = _LONG_MAX
        spread = int(base * self.jitter)
        offset = self._rng.randint(-spread, spread) if spread else 0
        return max(self.initial_backoff_ms, min(base + offset, self.max_backoff_ms))

    def can_restart(self) -> bool:
        return self.attempt <= self.attempts_before_reset

    def backoff_ms(self) -> int:
        return self._backoff_ms

    def __repr__(self) -> str:
        return (f"ExponentialDelayRestart(initial_backoff_ms={self.initial_backoff_ms}, "
                f"max_backoff_ms={self.max_backoff_ms}, multiplier={self.multiplier}, "
                f"reset_threshold_ms={self.reset_threshold_ms}, jitter={self.jitter}, "
                f"attempts_before_reset={self.attempts_before_reset}, attempt={self.attempt})")


def _check(ok: bool, key: str, expected: str, got: object) -> None:
    if not ok:
        msg = (f"restart strategy setting {key!r}: expected {expected} but got {describe(got)}; "
               f"hint: see the restart-strategy.* options in Flink's documentation")
        raise JobDefinitionError(msg)


# -- choosing a strategy ---------------------------------------------------------------------

_TYPES = {"none": "none", "off": "none", "disable": "none",
          "fixed-delay": "fixed-delay", "fixeddelay": "fixed-delay",
          "failure-rate": "failure-rate", "failurerate": "failure-rate",
          "exponential-delay": "exponential-delay", "exponentialdelay": "exponential-delay"}


def restart_strategy(settings: Mapping[str, str], legacy: RestartStrategyConfiguration | None,
                     checkpointing_enabled: bool, rng: random.Random) -> RestartStrategy:
    """The restart strategy for a job, chosen with Flink's precedence.

    1. ``legacy``, the object given to ``env.set_restart_strategy(...)``, unless it is ``None``
       or ``RestartStrategies.fall_back_restart()``;
    2. the ``restart-strategy.type`` key (or its 1.x name ``restart-strategy``) and the
       strategy's own ``restart-strategy.<type>.*`` keys in ``settings``;
    3. the default: exponential-delay with default settings if ``checkpointing_enabled``,
       else no restart.

    Args:
        settings: the job's configuration as strings (``Configuration.to_dict()``).
        legacy: the ``RestartStrategies`` configuration set on the environment, if any.
        checkpointing_enabled: whether the job checkpoints (picks the default).
        rng: the random source for exponential-delay jitter.

    Raises:
        JobDefinitionError: an unknown strategy type or an invalid value; names the key.
    """
    if legacy is not None:
        chosen = _from_legacy(legacy)
        if chosen is not None:
            return chosen
    if _TYPE_KEY in settings or _LEGACY_TYPE_KEY in settings:
        key = _TYPE_KEY if _TYPE_KEY in settings else _LEGACY_TYPE_KEY
        text = str(settings[key])
        kind = _TYPES.get(text.strip().lower())
        if kind is None:
            msg = (f"configuration key {key!r}: expected one of none/off/disable, fixed-delay, "
                   f"failure-rate or exponential-delay but got {text!r}")
            raise JobDefinitionError(msg)
        return _from_settings(kind, settings, rng)
    if checkpointing_enabled:
        return _from_settings("exponential-delay", {}, rng)
    return NoRestart()


def _from_legacy(legacy: RestartStrategyConfiguration) -> RestartStrategy | None:
    """The strategy a ``RestartStrategies`` object stands for; ``None`` for the fallback."""
    name = type(legacy).__name__
    if name == "FallbackRestartStrategyConfiguration":
        return None
    if name == "NoRestartStrategyConfiguration":
        return NoRestart()
    if name == "FixedDelayRestartStrategyConfiguration":
        return FixedDelayRestart(legacy.restart_attempts,  # type: ignore[attr-defined]
                                 legacy.delay_between_attempts_ms)  # type: ignore[attr-defined]
    if name == "FailureRateRestartStrategyConfiguration":
        return FailureRateRestart(legacy.max_failure_rate,  # type: ignore[attr-defined]
                                  legacy.failure_interval_ms,  # type: ignore[attr-defined]
                                  legacy.delay_between_attempts_ms)  # type: ignore[attr-defined]
    msg = (f"set_restart_strategy: expected a configuration made by RestartStrategies "
           f"(no_restart, fixed_delay_restart, failure_rate_restart, fall_back_restart) but got "
           f"{describe(legacy)}; hint: or set restart-strategy.type in the configuration")
    raise JobDefinitionError(msg)


def _from_settings(kind: str, settings: Mapping[str, str], rng: random.Random) -> RestartStrategy:
    prefix = f"restart-strategy.{kind}."
    read = _Reader(settings, prefix)
    if kind == "none":
        return NoRestart()
    if kind == "fixed-delay":
        return FixedDelayRestart(read.int("attempts", 1), read.ms("delay", 1000))
    if kind == "failure-rate":
        return FailureRateRestart(read.int("max-failures-per-interval", 1),
                          read.ms("failure-rate-interval", 60_000), read.ms("delay", 1000))
    return ExponentialDelayRestart(read.ms("initial-backoff", 1000),
                      read.ms("max-backoff", 60_000), read.float("backoff-multiplier", 1.5),
                      read.ms("reset-backoff-threshold", 3_600_000),
                      read.float("jitter-factor", 0.1),
                      read.int("attempts-before-reset-backoff", _INT_MAX), rng)


class _Reader:
    """Reads one strategy's ``restart-strategy.<type>.*`` keys, with Flink's defaults."""

    def __init__(self, settings: Mapping[str, str], prefix: str) -> None:
        self._settings = settings
        self._prefix = prefix

    def _text(self, name: str) -> str | None:
        key = self._prefix + name
        if key not in self._settings:
            return None
        return str(self._settings[key]).strip()

    def _bad(self, name: str, expected: str, text: str) -> JobDefinitionError:
        return JobDefinitionError(
            f"configuration key {self._prefix + name!r}: expected {expected} but got {text!r}")

    def int(self, name: str, default: int) -> int:
        text = self._text(name)
        if text is None:
            return default
        try:
            return int(text)
        except ValueError:
            raise self._bad(name, "a whole number", text) from None

    def float(self, name: str, default: float) -> float:
        text = self._text(name)
        if text is None:
            return default
        try:
            return float(text)
        except ValueError:
            raise self._bad(name, "a number such as 1.5", text) from None

    def ms(self, name: str, default: int) -> int:
        text = self._text(name)
        return default if text is None else parse_duration_ms(text, self._prefix + name)

