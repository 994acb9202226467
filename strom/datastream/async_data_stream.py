"""PyFlink's ``pyflink.datastream.async_data_stream``: re-exports only."""
from strom.api.async_io import AsyncDataStream, AsyncFunction, AsyncFunctionDescriptor

__all__ = ["AsyncDataStream", "AsyncFunction", "AsyncFunctionDescriptor"]
