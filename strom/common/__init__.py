"""PyFlink's ``pyflink.common``: re-exports of strom's common value types (no logic here).

A PyFlink job ports by changing ``from pyflink.common import ...`` to
``from strom.common import ...``.
"""
from strom.api.configuration import (
    CheckpointingMode,
    Configuration,
    ExecutionConfig,
    RestartStrategies,
    RestartStrategyConfiguration,
    TimeCharacteristic,
)
from strom.api.row import Row, RowKind
from strom.api.serialization import (
    ByteArraySchema,
    DeserializationSchema,
    Encoder,
    SerializationSchema,
    SimpleStringSchema,
)
from strom.api.typeinfo import TypeInformation, Types
from strom.api.watermarks import WatermarkStrategy
from strom.runtime.job import JobClient, JobExecutionResult, JobStatus
from strom.time.durations import Duration, Instant, Time

__all__ = [
    "ByteArraySchema",
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
