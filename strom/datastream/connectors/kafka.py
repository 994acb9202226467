"""PyFlink's ``pyflink.datastream.connectors.kafka``: re-exports only."""
from strom.connectors.base import DeliveryGuarantee
from strom.connectors.kafka import (
    DEAD_LETTER,
    DeadLetter,
    DeadLetterPolicy,
    FlinkKafkaConsumer,
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaSource,
    KafkaSourceBuilder,
    KafkaTopicPartition,
)
from strom.connectors.kafka.sink import (
    FlinkFixedPartitioner,
    FlinkKafkaPartitioner,
    FlinkKafkaProducer,
    KafkaRecordSerializationSchema,
    KafkaRecordSerializationSchemaBuilder,
    KafkaSink,
    KafkaSinkBuilder,
    KafkaTopicSelector,
    Semantic,
)

__all__ = [
    "DEAD_LETTER", "DeadLetter", "DeadLetterPolicy", "DeliveryGuarantee", "FlinkFixedPartitioner",
    "FlinkKafkaConsumer", "FlinkKafkaPartitioner", "FlinkKafkaProducer",
    "KafkaOffsetResetStrategy", "KafkaOffsetsInitializer", "KafkaRecordSerializationSchema",
    "KafkaRecordSerializationSchemaBuilder", "KafkaSink", "KafkaSinkBuilder", "KafkaSource",
    "KafkaSourceBuilder", "KafkaTopicPartition", "KafkaTopicSelector", "Semantic",
]
