"""PyFlink's ``pyflink.common.time``: re-exports only."""
from strom.api.durations import Duration, Instant, Time

__all__ = ["Duration", "Instant", "Time"]
