"""PyFlink's ``pyflink.common.job_id``: re-exports only."""
from strom.runtime.job import JobID

__all__ = ["JobID"]
