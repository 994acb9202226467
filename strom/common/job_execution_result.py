"""PyFlink's ``pyflink.common.job_execution_result``: re-exports only."""
from strom.runtime.job import JobExecutionResult

__all__ = ["JobExecutionResult"]
