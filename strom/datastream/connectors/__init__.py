"""PyFlink's ``pyflink.datastream.connectors``: re-exports only."""
from strom.api.sinks import Sink
from strom.api.sources import NumberSequenceSource, Source
from strom.connectors.base import DeliveryGuarantee
from strom.datastream.connectors.file_system import (
    BucketAssigner,
    FileEnumeratorProvider,
    FileSink,
    FileSource,
    FileSourceBuilder,
    FileSplitAssignerProvider,
    OutputFileConfig,
    RollingPolicy,
    StreamFormat,
)
from strom.datastream.connectors.kafka import (
    FlinkKafkaConsumer,
    FlinkKafkaProducer,
    KafkaSink,
    KafkaSource,
    Semantic,
)

__all__ = ["BucketAssigner", "DeliveryGuarantee", "FileEnumeratorProvider", "FileSink", "FileSource",
           "FileSourceBuilder", "FileSplitAssignerProvider", "FlinkKafkaConsumer",
           "FlinkKafkaProducer", "KafkaSink", "KafkaSource", "NumberSequenceSource",
           "OutputFileConfig", "RollingPolicy", "Semantic", "Sink", "Source", "StreamFormat"]
