"""PyFlink's ``pyflink.common.job_client``: re-exports only."""
from strom.runtime.job import JobClient

__all__ = ["JobClient"]
