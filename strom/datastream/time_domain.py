"""PyFlink's ``pyflink.datastream.time_domain``: re-exports only."""
from strom.runtime.operators.process import TimeDomain  # noqa: F401
