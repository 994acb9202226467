"""PyFlink's ``pyflink.datastream.time_characteristic``: re-exports only."""
from strom.api.configuration import TimeCharacteristic  # noqa: F401
