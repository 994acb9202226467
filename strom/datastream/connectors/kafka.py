"""PyFlink's ``pyflink.datastream.connectors.kafka``: re-exports only."""
from strom.connectors.base import DeliveryGuarantee  # noqa: F401
from strom.connectors.kafka import (  # noqa: F401
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
from strom.connectors.kafka.sink import (  # noqa: F401
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
