"""PyFlink's ``pyflink.datastream.functions``: re-exports only."""
from strom.api.async_io import (
    AsyncBatchFunction,
    AsyncBatchFunctionDescriptor,
    AsyncFunction,
    AsyncFunctionDescriptor,
    ResultFuture,
)
from strom.api.async_retry import AsyncRetryPredicate, AsyncRetryStrategy
from strom.api.checkpointed import (  # strom extra: Flink's Java interfaces, for Python
    CheckpointedFunction,
    CheckpointListener,
    TwoPhaseCommitSinkFunction,
)
from strom.api.functions import *  # noqa: F403
from strom.api.functions import __all__ as _functions_all
from strom.api.watermarks import (
    AscendingTimestampExtractor,
    AssignerWithPeriodicWatermarks,
    AssignerWithPunctuatedWatermarks,
    BoundedOutOfOrdernessTimestampExtractor,
)
from strom.window.functions import (  # noqa: F401
    AllWindowFunction,
    ProcessAllWindowFunction,
    ProcessWindowFunction,
    WindowFunction,
)

__all__ = [*_functions_all, "AsyncFunction", "AsyncFunctionDescriptor", "AsyncBatchFunction",
           "AsyncBatchFunctionDescriptor", "ResultFuture", "AsyncRetryPredicate",
           "AsyncRetryStrategy", "CheckpointListener", "CheckpointedFunction",
           "TwoPhaseCommitSinkFunction", "AscendingTimestampExtractor", "AssignerWithPeriodicWatermarks",
           "AssignerWithPunctuatedWatermarks", "BoundedOutOfOrdernessTimestampExtractor"]
