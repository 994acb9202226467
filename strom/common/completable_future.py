"""PyFlink's ``pyflink.common.completable_future``: re-exports only."""
from strom.runtime.job import CompletableFuture

__all__ = ["CompletableFuture"]
