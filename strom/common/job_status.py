"""PyFlink's ``pyflink.common.job_status``: re-exports only."""
from strom.runtime.job import JobStatus

__all__ = ["JobStatus"]
