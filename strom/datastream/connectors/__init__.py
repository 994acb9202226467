"""PyFlink's ``pyflink.datastream.connectors``: re-exports only."""
from strom.api.sources import NumberSequenceSource, Source
from strom.connectors.base import DeliveryGuarantee
from strom.datastream.connectors.file_system import FileSink
from strom.datastream.connectors.kafka import (
    FlinkKafkaConsumer,
    FlinkKafkaProducer,
    KafkaSink,
    KafkaSource,
    Semantic,
)

__all__ = ["DeliveryGuarantee", "FileSink", "FlinkKafkaConsumer", "FlinkKafkaProducer", "KafkaSink",
           "KafkaSource", "NumberSequenceSource", "Semantic", "Source"]
