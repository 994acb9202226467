"""The Kafka connector: :class:`KafkaSource` / :class:`KafkaSink` with PyFlink's builders, the
older ``FlinkKafkaConsumer`` / ``FlinkKafkaProducer``, and a real test broker
(:mod:`strom.connectors.kafka.broker`).

confluent-kafka (``pip install 'strom[kafka]'``) is needed only when a job runs: it is imported
when a source or sink operator opens. Users import these names from
``strom.datastream.connectors.kafka`` (PyFlink's path).
"""
from strom.connectors.kafka._common import (
    KafkaConnectorError,
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
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
from strom.connectors.kafka.source import (
    DEAD_LETTER,
    DeadLetter,
    DeadLetterPolicy,
    FlinkKafkaConsumer,
    KafkaSource,
    KafkaSourceBuilder,
)

__all__ = [
    "DEAD_LETTER", "DeadLetter", "DeadLetterPolicy", "FlinkFixedPartitioner", "FlinkKafkaConsumer",
    "FlinkKafkaPartitioner", "FlinkKafkaProducer", "KafkaConnectorError", "KafkaOffsetResetStrategy",
    "KafkaOffsetsInitializer", "KafkaRecordSerializationSchema",
    "KafkaRecordSerializationSchemaBuilder", "KafkaSink", "KafkaSinkBuilder", "KafkaSource",
    "KafkaSourceBuilder", "KafkaTopicPartition", "KafkaTopicSelector", "Semantic",
]
