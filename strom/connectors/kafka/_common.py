"""Pieces the Kafka source and sink share: the client import, topic partitions, offsets
initializers, property handling and the connector's error.

confluent-kafka is imported lazily (:func:`client`) when an operator opens, so jobs can be
defined, pickled and shipped without it, and strom works without the ``kafka`` extra.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from strom.errors import JobDefinitionError, StromError, describe


class KafkaConnectorError(StromError):
    """The Kafka connector failed at run time (broker unreachable, a client error, a failed
    transaction); the message names the servers, topic and partition involved."""


def client() -> Any:
    """The ``confluent_kafka`` module, or a clear error saying how to install it."""
    try:
        import confluent_kafka
    except ImportError as exc:
        raise KafkaConnectorError(
            "the Kafka connector needs the confluent-kafka client, which is not installed; "
            "hint: pip install 'strom[kafka]' (or pip install confluent-kafka)") from exc
    return confluent_kafka


# Settings of Flink's Java client that librdkafka does not know: consumed by strom (or
# meaningless here), never passed to the client, which would reject them.
STROM_KEYS = {
    "partition.discovery.interval.ms", "commit.offsets.on.checkpoint", "client.id.prefix",
    "register.consumer.metrics", "flink.partition-discovery.interval-millis",
    "key.deserializer", "value.deserializer", "key.serializer", "value.serializer",
    "strom.connect.timeout.ms",
}


def client_config(properties: dict[str, str], where: str) -> dict[str, Any]:
    """``properties`` without the keys strom consumes itself, as librdkafka takes them."""
    return {k: v for k, v in properties.items() if k not in STROM_KEYS}


def check_properties(props: Any, where: str) -> dict[str, str]:
    """Validate a properties dict (str keys; values become strings as in Java Properties)."""
    if not isinstance(props, dict):
        raise JobDefinitionError(f"{where}: expected a dict of Kafka client properties, got "
                                 f"{describe(props)}; hint: {{'bootstrap.servers': 'host:9092'}}")
    out = {}
    for key, value in props.items():
        if not isinstance(key, str) or not key:
            raise JobDefinitionError(f"{where}: property names must be non-empty strings, got "
                                     f"{describe(key)}")
        out[key] = value if isinstance(value, str) else str(value).lower() if isinstance(
            value, bool) else str(value)
    return out


def creation_error(exc: Exception, what: str, servers: str) -> KafkaConnectorError:
    """A client that could not be created (usually a property librdkafka does not know)."""
    return KafkaConnectorError(
        f"creating the Kafka {what} for bootstrap.servers={servers!r} failed: {exc}; hint: "
        "properties are passed to librdkafka (confluent-kafka), whose names mostly match the Java "
        "client's; see https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md")


@dataclass(frozen=True)
class KafkaTopicPartition:
    """A partition of a topic (PyFlink's ``KafkaTopicPartition``)."""

    topic: str
    partition: int

    def __post_init__(self) -> None:
        if not isinstance(self.topic, str) or not self.topic:
            raise JobDefinitionError(f"KafkaTopicPartition: topic must be a non-empty string, got "
                                     f"{describe(self.topic)}")
        if isinstance(self.partition, bool) or not isinstance(self.partition, int) or self.partition < 0:
            raise JobDefinitionError(f"KafkaTopicPartition({self.topic!r}, ...): partition must be "
                                     f"an int >= 0, got {describe(self.partition)}")


class KafkaOffsetResetStrategy(enum.Enum):
    """Where to start when a committed or given offset is missing or out of range."""

    LATEST = 0
    EARLIEST = 1
    NONE = 2


class KafkaOffsetsInitializer:
    """Starting (or stopping) offsets of each partition (PyFlink's ``KafkaOffsetsInitializer``).

    Build one with :meth:`earliest`, :meth:`latest`, :meth:`committed_offsets`,
    :meth:`timestamp` or :meth:`offsets`. The offsets are resolved when the source's subtask
    first opens; a restored subtask resumes from its checkpointed offsets instead.
    """

    def __init__(self, kind: str, reset: KafkaOffsetResetStrategy = KafkaOffsetResetStrategy.NONE,
                 timestamp: int | None = None,
                 offsets: dict[tuple[str, int], int] | None = None) -> None:
        self.kind = kind
        self.reset = reset
        self.timestamp_ms = timestamp
        self.specific = offsets or {}

    @staticmethod
    def earliest() -> KafkaOffsetsInitializer:
        """The earliest offset still in each partition (the KafkaSource's default start)."""
        return KafkaOffsetsInitializer("earliest")

    @staticmethod
    def latest() -> KafkaOffsetsInitializer:
        """The end of each partition when the source starts."""
        return KafkaOffsetsInitializer("latest")

    @staticmethod
    def committed_offsets(offset_reset_strategy: KafkaOffsetResetStrategy = KafkaOffsetResetStrategy.NONE
                          ) -> KafkaOffsetsInitializer:
        """The consumer group's committed offsets; where there are none, ``offset_reset_strategy``
        (NONE: the source fails naming the partition)."""
        _check_reset(offset_reset_strategy, "committed_offsets")
        return KafkaOffsetsInitializer("committed", offset_reset_strategy)

    @staticmethod
    def timestamp(timestamp: int) -> KafkaOffsetsInitializer:
        """The first record whose timestamp is >= ``timestamp`` (epoch ms) in each partition."""
        if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
            raise JobDefinitionError(f"KafkaOffsetsInitializer.timestamp: expected epoch "
                                     f"milliseconds (an int >= 0), got {describe(timestamp)}")
        return KafkaOffsetsInitializer("timestamp", timestamp=timestamp)

    @staticmethod
    def offsets(offsets: dict[KafkaTopicPartition, int],
                offset_reset_strategy: KafkaOffsetResetStrategy = KafkaOffsetResetStrategy.EARLIEST
                ) -> KafkaOffsetsInitializer:
        """The given offset for each listed partition; others start per ``offset_reset_strategy``."""
        if not isinstance(offsets, dict):
            raise JobDefinitionError(f"KafkaOffsetsInitializer.offsets: expected a dict "
                                     f"{{KafkaTopicPartition: offset}}, got {describe(offsets)}")
        _check_reset(offset_reset_strategy, "offsets")
        resolved = {}
        for tp, offset in offsets.items():
            if not isinstance(tp, KafkaTopicPartition):
                raise JobDefinitionError(f"KafkaOffsetsInitializer.offsets: keys must be "
                                         f"KafkaTopicPartition, got {describe(tp)}")
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                raise JobDefinitionError(f"KafkaOffsetsInitializer.offsets: the offset of {tp} must "
                                         f"be an int >= 0, got {describe(offset)}")
            resolved[(tp.topic, tp.partition)] = offset
        return KafkaOffsetsInitializer("specific", offset_reset_strategy, offsets=resolved)

    def __repr__(self) -> str:
        return f"KafkaOffsetsInitializer.{self.kind}"


def _check_reset(strategy: Any, where: str) -> None:
    if not isinstance(strategy, KafkaOffsetResetStrategy):
        raise JobDefinitionError(f"KafkaOffsetsInitializer.{where}: expected a "
                                 f"KafkaOffsetResetStrategy, got {describe(strategy)}")


def java_string_hash(s: str) -> int:
    """Java's ``String.hashCode`` (over UTF-16 code units, 32-bit wrap-around)."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def split_owner(topic: str, partition: int, parallelism: int) -> int:
    """The subtask reading ``topic``'s ``partition`` (Flink's ``KafkaSourceEnumerator.getSplitOwner``:
    a topic's partitions go round-robin from a start index derived from the topic's name)."""
    start = ((java_string_hash(topic) * 31) & 0x7FFFFFFF) % parallelism
    return (start + partition) % parallelism
