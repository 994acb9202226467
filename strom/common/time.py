"""PyFlink's ``pyflink.common.time``: re-exports only."""
from strom.time.durations import Duration, Instant, Time

__all__ = ["Duration", "Instant", "Time"]
