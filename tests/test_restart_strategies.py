"""Restart strategies (strom.checkpoint.restart): each strategy's rules and Flink's precedence."""
from __future__ import annotations

import random

import pytest

from strom.api.configuration import RestartStrategies
from strom.checkpoint.restart import (
    ExponentialDelayRestart,
    FailureRateRestart,
    FixedDelayRestart,
    NoRestart,
    restart_strategy,
)
from strom.errors import JobDefinitionError
from strom.time.duration_text import parse_duration_ms


def _rng() -> random.Random:
    return random.Random(42)


# -- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "ms"), [
    ("250", 250), ("500 ms", 500), ("10 s", 10_000), ("10s", 10_000), ("1 min", 60_000),
    ("2m", 120_000), ("1h", 3_600_000), ("1 d", 86_400_000), ("3 SECONDS", 3000),
    ("1500 us", 1), (" 7 ", 7),
])
def test_duration_text(text: str, ms: int) -> None:
    assert parse_duration_ms(text, "k") == ms


@pytest.mark.parametrize("text", ["", "ten s", "1.5 s", "5 fortnights", "-1 s", "s"])
def test_duration_text_rejects_and_names_key(text: str) -> None:
    with pytest.raises(JobDefinitionError, match="'restart-strategy.fixed-delay.delay'"):
        parse_duration_ms(text, "restart-strategy.fixed-delay.delay")


# -- none / fixed delay ------------------------------------------------------------------------

def test_no_restart_never_restarts() -> None:
    s = NoRestart()
    s.notify_failure(0)
    assert not s.can_restart()
    assert s.description == "Restart deactivated."


def test_fixed_delay_allows_exactly_attempts_restarts() -> None:
    s = FixedDelayRestart(attempts=3, delay_ms=1000)
    results = []
    for t in range(5):
        s.notify_failure(t)
        results.append(s.can_restart())
    assert results == [True, True, True, False, False]
    assert s.backoff_ms() == 1000
    assert "3 restart attempts" in s.description


def test_fixed_delay_zero_attempts_fails_first_failure() -> None:
    s = FixedDelayRestart(0, 0)
    s.notify_failure(0)
    assert not s.can_restart()


@pytest.mark.parametrize(("attempts", "delay"), [(-1, 0), (1, -5)])
def test_fixed_delay_rejects_negative(attempts: int, delay: int) -> None:
    with pytest.raises(JobDefinitionError, match="restart-strategy.fixed-delay"):
        FixedDelayRestart(attempts, delay)


# -- failure rate ------------------------------------------------------------------------------

def test_failure_rate_fails_when_too_many_failures_in_window() -> None:
    s = FailureRateRestart(max_failures=2, interval_ms=1000, delay_ms=50)
    for t in (0, 100):
        s.notify_failure(t)
        assert s.can_restart()
    s.notify_failure(900)  # 3 failures within 900 ms > 2 per 1000 ms
    assert not s.can_restart()
    assert s.backoff_ms() == 50


def test_failure_rate_window_slides() -> None:
    s = FailureRateRestart(max_failures=2, interval_ms=1000, delay_ms=0)
    for t in (0, 600, 1200, 1800, 2400):  # never 3 within 1000 ms
        s.notify_failure(t)
        assert s.can_restart(), t
    s.notify_failure(2500)  # 1800, 2400, 2500
    assert not s.can_restart()


def test_failure_rate_boundary_is_inclusive_like_flink() -> None:
    s = FailureRateRestart(max_failures=1, interval_ms=1000, delay_ms=0)
    s.notify_failure(0)
    s.notify_failure(1000)  # exactly one interval apart: still within it
    assert not s.can_restart()
    s2 = FailureRateRestart(max_failures=1, interval_ms=1000, delay_ms=0)
    s2.notify_failure(0)
    s2.notify_failure(1001)
    assert s2.can_restart()


def test_failure_rate_validates() -> None:
    with pytest.raises(JobDefinitionError, match="max-failures-per-interval"):
        FailureRateRestart(0, 1000, 0)
    with pytest.raises(JobDefinitionError, match="failure-rate-interval"):
        FailureRateRestart(1, 0, 0)


# -- exponential delay -------------------------------------------------------------------------

def _exp(**kw: object) -> ExponentialDelayRestart:
    args: dict = dict(initial_backoff_ms=1000, max_backoff_ms=60_000, multiplier=2.0,
                      reset_threshold_ms=3_600_000, jitter=0.0, attempts_before_reset=2**31 - 1,
                      rng=_rng())
    args.update(kw)
    return ExponentialDelayRestart(**args)


def _fail_after_restart(s: ExponentialDelayRestart, now: int) -> int:
    """Report a failure just after the scheduled restart; returns the new now."""
    now += s.backoff_ms() + 1
    assert s.notify_failure(now)
    return now


def test_exponential_grows_and_caps() -> None:
    s = _exp(max_backoff_ms=10_000)
    now = 0
    assert s.notify_failure(now)
    seen = [s.backoff_ms()]
    for _ in range(6):
        now = _fail_after_restart(s, now)
        seen.append(s.backoff_ms())
    assert seen == [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]
    assert s.can_restart()


def test_exponential_default_multiplier_truncates_like_java() -> None:
    s = _exp(multiplier=1.5)
    now = 0
    s.notify_failure(now)
    seen = [s.backoff_ms()]
    for _ in range(3):
        now = _fail_after_restart(s, now)
        seen.append(s.backoff_ms())
    assert seen == [1000, 1500, 2250, 3375]


def test_exponential_merges_failures_before_scheduled_restart() -> None:
    s = _exp()
    assert s.notify_failure(0)
    assert not s.notify_failure(400)  # the restart at 1000 is still pending
    assert s.backoff_ms() == 600
    assert s.attempt == 1


def test_exponential_resets_after_quiet_period() -> None:
    s = _exp(reset_threshold_ms=10_000)
    now = 0
    s.notify_failure(now)
    now = _fail_after_restart(s, now)
    now = _fail_after_restart(s, now)
    assert s.backoff_ms() == 4000
    restart_at = now + s.backoff_ms()
    assert s.notify_failure(restart_at + 10_000)  # ran 10 s without failure
    assert s.backoff_ms() == 1000
    assert s.attempt == 1


def test_exponential_attempts_before_reset() -> None:
    s = _exp(attempts_before_reset=2, reset_threshold_ms=10_000)
    now = 0
    s.notify_failure(now)
    assert s.can_restart()
    now = _fail_after_restart(s, now)
    assert s.can_restart()
    now = _fail_after_restart(s, now)
    assert not s.can_restart()
    s.notify_failure(now + s.backoff_ms() + 10_000)  # the reset restores the budget
    assert s.can_restart()


def test_exponential_jitter_bounds_and_determinism() -> None:
    def run(seed: int) -> list[int]:
        s = _exp(jitter=0.25, max_backoff_ms=1_000_000, rng=random.Random(seed))
        now, out = 0, []
        s.notify_failure(now)
        out.append(s.backoff_ms())
        for _ in range(5):
            now = _fail_after_restart(s, now)
            out.append(s.backoff_ms())
        return out

    a = run(7)
    assert a == run(7)
    assert a != run(8)
    for n, value in enumerate(a):
        base = 1000 * 2 ** n
        assert max(1000, base - base // 4) <= value <= base + base // 4, (n, value)


def test_exponential_jitter_never_below_initial_or_above_max() -> None:
    s = _exp(jitter=1.0, max_backoff_ms=3000, rng=random.Random(1))
    now = 0
    for _ in range(50):
        s.notify_failure(now)
        assert 1000 <= s.backoff_ms() <= 3000
        now += s.backoff_ms() + 1


def test_exponential_huge_multiplier_saturates() -> None:
    s = _exp(multiplier=1e300, max_backoff_ms=5000)
    now = 0
    for _ in range(5):
        s.notify_failure(now)
        now += s.backoff_ms() + 1
    assert s.backoff_ms() == 5000


@pytest.mark.parametrize(("kw", "key"), [
    ({"initial_backoff_ms": 0}, "initial-backoff"),
    ({"max_backoff_ms": 10}, "max-backoff"),
    ({"multiplier": 1.0}, "backoff-multiplier"),
    ({"reset_threshold_ms": 0}, "reset-backoff-threshold"),
    ({"jitter": 1.5}, "jitter-factor"),
    ({"attempts_before_reset": 0}, "attempts-before-reset-backoff"),
])
def test_exponential_validates(kw: dict, key: str) -> None:
    with pytest.raises(JobDefinitionError, match=key):
        _exp(**kw)


# -- precedence and configuration ----------------------------------------------------------------

def test_default_without_checkpointing_is_no_restart() -> None:
    assert isinstance(restart_strategy({}, None, False, _rng()), NoRestart)


def test_default_with_checkpointing_is_exponential_delay_with_flink_defaults() -> None:
    s = restart_strategy({}, None, True, _rng())
    assert isinstance(s, ExponentialDelayRestart)
    assert (s.initial_backoff_ms, s.max_backoff_ms, s.multiplier, s.reset_threshold_ms,
            s.jitter, s.attempts_before_reset) == (1000, 60_000, 1.5, 3_600_000, 0.1, 2**31 - 1)


def test_legacy_object_wins_over_configuration() -> None:
    settings = {"restart-strategy.type": "failure-rate"}
    s = restart_strategy(settings, RestartStrategies.fixed_delay_restart(3, 1000), True, _rng())
    assert isinstance(s, FixedDelayRestart)
    assert (s.attempts, s.delay_ms) == (3, 1000)


def test_legacy_no_restart_and_failure_rate() -> None:
    assert isinstance(restart_strategy({}, RestartStrategies.no_restart(), True, _rng()), NoRestart)
    s = restart_strategy({}, RestartStrategies.failure_rate_restart(2, 60_000, 500), False, _rng())
    assert isinstance(s, FailureRateRestart)
    assert (s.max_failures, s.interval_ms, s.delay_ms) == (2, 60_000, 500)


def test_fall_back_restart_uses_configuration_then_default() -> None:
    fallback = RestartStrategies.fall_back_restart()
    s = restart_strategy({"restart-strategy.type": "fixed-delay"}, fallback, False, _rng())
    assert isinstance(s, FixedDelayRestart)
    assert (s.attempts, s.delay_ms) == (1, 1000)  # Flink's fixed-delay defaults
    assert isinstance(restart_strategy({}, fallback, False, _rng()), NoRestart)
    assert isinstance(restart_strategy({}, fallback, True, _rng()), ExponentialDelayRestart)


def test_configured_none_overrides_checkpointing_default() -> None:
    for name in ("none", "off", "disable", "NONE"):
        assert isinstance(restart_strategy({"restart-strategy.type": name}, None, True, _rng()),
                          NoRestart)


def test_configuration_of_each_strategy() -> None:
    s = restart_strategy({"restart-strategy.type": "fixeddelay",
                          "restart-strategy.fixed-delay.attempts": "5",
                          "restart-strategy.fixed-delay.delay": "10 s"}, None, False, _rng())
    assert isinstance(s, FixedDelayRestart) and (s.attempts, s.delay_ms) == (5, 10_000)
    s = restart_strategy({"restart-strategy.type": "failurerate",
                          "restart-strategy.failure-rate.max-failures-per-interval": "3",
                          "restart-strategy.failure-rate.failure-rate-interval": "5 min",
                          "restart-strategy.failure-rate.delay": "500 ms"}, None, False, _rng())
    assert isinstance(s, FailureRateRestart)
    assert (s.max_failures, s.interval_ms, s.delay_ms) == (3, 300_000, 500)
    s = restart_strategy({"restart-strategy.type": "exponentialdelay",
                          "restart-strategy.exponential-delay.initial-backoff": "2 s",
                          "restart-strategy.exponential-delay.max-backoff": "1 min",
                          "restart-strategy.exponential-delay.backoff-multiplier": "3",
                          "restart-strategy.exponential-delay.reset-backoff-threshold": "1h",
                          "restart-strategy.exponential-delay.jitter-factor": "0",
                          "restart-strategy.exponential-delay.attempts-before-reset-backoff": "4"},
                         None, False, _rng())
    assert isinstance(s, ExponentialDelayRestart)
    assert (s.initial_backoff_ms, s.max_backoff_ms, s.multiplier, s.reset_threshold_ms,
            s.jitter, s.attempts_before_reset) == (2000, 60_000, 3.0, 3_600_000, 0.0, 4)


def test_flink_1x_type_key_is_accepted() -> None:
    s = restart_strategy({"restart-strategy": "fixed-delay"}, None, False, _rng())
    assert isinstance(s, FixedDelayRestart)


@pytest.mark.parametrize(("settings", "key"), [
    ({"restart-strategy.type": "sometimes"}, "'restart-strategy.type'"),
    ({"restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": "three"},
     "'restart-strategy.fixed-delay.attempts'"),
    ({"restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.delay": "soon"},
     "'restart-strategy.fixed-delay.delay'"),
    ({"restart-strategy.type": "exponential-delay",
      "restart-strategy.exponential-delay.backoff-multiplier": "fast"},
     "'restart-strategy.exponential-delay.backoff-multiplier'"),
    ({"restart-strategy.type": "exponential-delay",
      "restart-strategy.exponential-delay.backoff-multiplier": "0.5"},
     "'restart-strategy.exponential-delay.backoff-multiplier'"),
    ({"restart-strategy.type": "failure-rate",
      "restart-strategy.failure-rate.max-failures-per-interval": "0"},
     "'restart-strategy.failure-rate.max-failures-per-interval'"),
])
def test_invalid_values_name_the_key(settings: dict, key: str) -> None:
    with pytest.raises(JobDefinitionError, match=key):
        restart_strategy(settings, None, False, _rng())


def test_environment_validates_restart_keys_early_and_hands_a_factory_to_the_runtime() -> None:
    from strom.api.configuration import Configuration
    from strom.api.environment import StreamExecutionEnvironment

    bad = Configuration().set_string("restart-strategy.type", "fixed-delay") \
        .set_string("restart-strategy.fixed-delay.attempts", "x")
    with pytest.raises(JobDefinitionError, match="fixed-delay.attempts"):
        StreamExecutionEnvironment(bad)
    env = StreamExecutionEnvironment()
    env.enable_checkpointing(1000)
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(2, 10))
    factory = env._executor().config["restart_strategy"]
    s = factory(random.Random(0))
    assert isinstance(s, FixedDelayRestart) and s.attempts == 2
