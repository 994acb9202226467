"""PyFlink's ``pyflink.common``: re-exports of strom's common value types (no logic here).

A PyFlink job ports by changing ``from pyflink.common import ...`` to
``from strom.common import ...``.
"""
from strom.api.config_options import ConfigOption, ConfigOptions
from strom.api.configuration import (
    CheckpointingMode,
    Configuration,
    ExecutionConfig,
    InputDependencyConstraint,
    RestartStrategies,
    RestartStrategyConfiguration,
    TimeCharacteristic,
)
from strom.api.java_wrappers import AssignerWithPeriodicWatermarksWrapper
from strom.api.row import Row, RowKind
from strom.api.serialization import (
    ByteArraySchema,
    DeserializationSchema,
    Encoder,
    SerializationSchema,
    SimpleStringSchema,
    TypeSerializer,
)
from strom.api.typeinfo import TypeInformation, Types
from strom.api.watermarks import WatermarkStrategy
from strom.runtime.job import CompletableFuture, JobClient, JobExecutionResult, JobID, JobStatus
from strom.time.durations import Duration, Instant, Time

__all__ = [
    "AssignerWithPeriodicWatermarksWrapper",
    "ByteArraySchema",
    "CompletableFuture",
    "ConfigOption",
    "ConfigOptions",
    "InputDependencyConstraint",
    "JobID",
    "TypeSerializer",
    "CheckpointingMode",
    "Configuration",
    "DeserializationSchema",
    "Duration",
    "Encoder",
    "ExecutionConfig",
    "Instant",
    "JobClient",
    "JobExecutionResult",
    "JobStatus",
    "RestartStrategies",
    "RestartStrategyConfiguration",
    "Row",
    "RowKind",
    "SerializationSchema",
    "SimpleStringSchema",
    "Time",
    "TimeCharacteristic",
    "TypeInformation",
    "Types",
    "WatermarkStrategy",
]
