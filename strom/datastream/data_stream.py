"""PyFlink's ``pyflink.datastream.data_stream``: re-exports only."""
from strom.api.broadcast import BroadcastConnectedStream, BroadcastStream  # noqa: F401
from strom.api.datastream import (  # noqa: F401
    CloseableIterator,
    ConnectedStreams,
    DataStream,
    DataStreamSink,
    KeyedStream,
)
from strom.api.windowing import AllWindowedStream, WindowedStream  # noqa: F401
