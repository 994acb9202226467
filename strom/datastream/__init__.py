"""PyFlink's ``pyflink.datastream``: re-exports only (no logic here)."""
from strom.api.async_io import AsyncBatchFunction, AsyncDataStream, AsyncFunction, ResultFuture
from strom.api.async_retry import AsyncRetryPredicate, AsyncRetryStrategy
from strom.api.broadcast import (
    BroadcastConnectedStream,
    BroadcastState,
    BroadcastStream,
    ReadOnlyBroadcastState,
)
from strom.api.checkpoint_config import (
    CheckpointConfig,
    ExternalizedCheckpointCleanup,
    ExternalizedCheckpointRetention,
)
from strom.api.checkpoint_storage import (
    CheckpointStorage,
    FileSystemCheckpointStorage,
    JobManagerCheckpointStorage,
)
from strom.api.configuration import CheckpointingMode, TimeCharacteristic
from strom.api.datastream import (
    CloseableIterator,
    ConnectedStreams,
    DataStream,
    DataStreamSink,
    KeyedStream,
)
from strom.api.environment import RuntimeExecutionMode, StreamExecutionEnvironment
from strom.api.functions import (
    AggregateFunction,
    BaseBroadcastProcessFunction,
    BroadcastProcessFunction,
    CoFlatMapFunction,
    CoMapFunction,
    CoProcessFunction,
    FilterFunction,
    FlatMapFunction,
    Function,
    KeyedBroadcastProcessFunction,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    KeySelector,
    MapFunction,
    NullByteKeySelector,
    Partitioner,
    ProcessFunction,
    ReduceFunction,
    RuntimeContext,
    SinkFunction,
    SourceFunction,
    TimeDomain,
    TimerService,
)
from strom.api.java_wrappers import CustomCheckpointStorage, CustomStateBackend
from strom.api.slot_sharing_group import MemorySize, SlotSharingGroup
from strom.api.state_backend import (
    EmbeddedRocksDBStateBackend,
    FsStateBackend,
    HashMapStateBackend,
    MemoryStateBackend,
    PredefinedOptions,
    RocksDBStateBackend,
    StateBackend,
)
from strom.api.windowing import AllWindowedStream, WindowedStream
from strom.runtime.elements import OutputTag
from strom.runtime.job import JobClient, JobExecutionResult, JobStatus
from strom.window import (
    CountWindow,
    GlobalWindow,
    MergingWindowAssigner,
    TimeWindow,
    Trigger,
    TriggerResult,
    Window,
    WindowAssigner,
)
from strom.window.functions import ProcessWindowFunction, WindowFunction

__all__ = [
    "CustomCheckpointStorage", "CustomStateBackend", "MemorySize", "SlotSharingGroup",
    "AllWindowedStream", "WindowedStream", "AsyncDataStream", "AsyncFunction", "AsyncBatchFunction", "ResultFuture",
    "AsyncRetryPredicate", "AsyncRetryStrategy",
    "AggregateFunction", "BaseBroadcastProcessFunction", "BroadcastConnectedStream",
    "BroadcastProcessFunction", "BroadcastState", "BroadcastStream", "KeyedBroadcastProcessFunction",
    "ReadOnlyBroadcastState", "CheckpointConfig", "CheckpointingMode", "CloseableIterator",
    "CoFlatMapFunction", "CoMapFunction", "CoProcessFunction", "ConnectedStreams", "DataStream",
    "DataStreamSink", "FilterFunction", "FlatMapFunction", "Function", "JobClient",
    "JobExecutionResult", "JobStatus", "KeySelector", "KeyedCoProcessFunction", "KeyedProcessFunction",
    "KeyedStream", "MapFunction", "NullByteKeySelector", "OutputTag", "Partitioner", "ProcessFunction",
    "ReduceFunction", "RuntimeContext", "RuntimeExecutionMode", "SinkFunction", "SourceFunction",
    "StreamExecutionEnvironment", "TimeCharacteristic", "TimeDomain", "TimerService",
    "CheckpointStorage", "EmbeddedRocksDBStateBackend", "ExternalizedCheckpointCleanup",
    "ExternalizedCheckpointRetention", "FileSystemCheckpointStorage", "FsStateBackend",
    "HashMapStateBackend", "JobManagerCheckpointStorage", "MemoryStateBackend",
    "PredefinedOptions", "RocksDBStateBackend", "StateBackend",
    "CountWindow", "GlobalWindow", "MergingWindowAssigner", "ProcessWindowFunction", "TimeWindow",
    "Trigger", "TriggerResult", "Window", "WindowAssigner", "WindowFunction",
]
