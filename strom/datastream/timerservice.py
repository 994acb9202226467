"""PyFlink's ``pyflink.datastream.timerservice``: re-exports only."""
from strom.api.functions import TimerService

__all__ = ["TimerService"]
