"""PyFlink's ``pyflink.datastream.async_retry_strategies``: re-exports only."""
from strom.api.async_retry import (
    NO_RETRY_STRATEGY,
    ExponentialBackoffDelayRetryStrategy,
    FixedDelayRetryStrategy,
    NoRetryStrategy,
    RetryPredicate,
)

__all__ = ["RetryPredicate", "NoRetryStrategy", "FixedDelayRetryStrategy",
           "ExponentialBackoffDelayRetryStrategy", "NO_RETRY_STRATEGY"]
