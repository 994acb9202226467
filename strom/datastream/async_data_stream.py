"""PyFlink's ``pyflink.datastream.async_data_stream``: re-exports only."""
from strom.api.async_io import (
    AsyncBatchFunction,
    AsyncBatchFunctionDescriptor,
    AsyncDataStream,
    AsyncFunction,
    AsyncFunctionDescriptor,
    ResultFuture,
)

__all__ = ["AsyncBatchFunction", "AsyncBatchFunctionDescriptor", "AsyncDataStream", "AsyncFunction",
           "AsyncFunctionDescriptor", "ResultFuture"]
