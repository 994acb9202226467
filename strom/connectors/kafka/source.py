"""The Kafka source, with PyFlink's builder (``KafkaSource.builder()``) and the older
``FlinkKafkaConsumer``.

Both are plain, picklable descriptions of what to read; no client is opened until the source
operator (:mod:`strom.connectors.kafka.reader`) opens on its subtask. Partitions are the
source's splits: partition *p* of topic *t* is read by subtask ``(start(t) + p) % parallelism``
(Flink's assignment); the offset of every partition is checkpointed, so a restore resumes
exactly there (exactly-once reading), also at another parallelism.

Records the deserializer rejects (it raises) do not fail the job by default: each becomes a
:class:`DeadLetter` (topic, partition, offset, key, raw value and the reason) emitted to the
side output :data:`DEAD_LETTER` of the source's stream::

    stream = env.from_source(source, WatermarkStrategy.no_watermarks(), "orders")
    stream.get_side_output(KafkaSource.DEAD_LETTER).print("rejected")

``set_dead_letter_policy(DeadLetterPolicy.SKIP)`` counts and logs them instead, and
``DeadLetterPolicy.FAIL`` fails the job naming the record (Flink's behaviour). Every rejected
record is counted in the source's ``numRecordsInErrors`` metric. A deserializer that returns
None produces no record for that message (Flink's rule; e.g. ``JsonRowDeserializationSchema``
with ``ignore_parse_errors()``).
"""
from __future__ import annotations

import copy
import enum
import re
from dataclasses import dataclass
from typing import Any

from strom.api.serialization import DeserializationSchema
from strom.connectors.kafka._common import (
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaTopicPartition,
    check_properties,
)
from strom.errors import JobDefinitionError, describe
from strom.runtime.elements import OutputTag

DEFAULT_DISCOVERY_INTERVAL_MS = 300_000  # Flink's KafkaSource default (5 minutes)

DEAD_LETTER = OutputTag("kafka-dead-letter")
"""The side output of records the deserializer rejected (as :class:`DeadLetter`)."""


@dataclass(frozen=True)
class DeadLetter:
    """A Kafka record that could not be deserialized, with where it is and why."""

    topic: str
    partition: int
    offset: int
    timestamp: int | None
    key: bytes | None
    value: bytes | None
    reason: str


class DeadLetterPolicy(enum.Enum):
    """What a source does with a record its deserializer rejects."""

    SIDE_OUTPUT = "side-output"  # emit a DeadLetter to KafkaSource.DEAD_LETTER (default)
    SKIP = "skip"                # count it (numRecordsInErrors) and log it
    FAIL = "fail"                # fail the job, naming topic, partition and offset


class KafkaSource:
    """Reads Kafka topics (PyFlink's ``KafkaSource``); build one with :meth:`builder`.

    Example:
        >>> source = (KafkaSource.builder()
        ...           .set_bootstrap_servers("localhost:9092")
        ...           .set_topics("input-topic")
        ...           .set_group_id("my-group")
        ...           .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        ...           .set_value_only_deserializer(SimpleStringSchema())
        ...           .build())
        >>> env.from_source(source, WatermarkStrategy.no_watermarks(), "Kafka Source")  # doctest: +SKIP
    """

    DEAD_LETTER = DEAD_LETTER
    parallel = True
    generates_watermarks = True  # from_source hands it the strategy (per-partition watermarks)

    def __init__(self, properties: dict[str, str], topics: list[str] | None,
                 topic_pattern: str | None, partitions: list[tuple[str, int]] | None,
                 starting: KafkaOffsetsInitializer, stopping: KafkaOffsetsInitializer | None,
                 deserializer: Any, dead_letter_policy: DeadLetterPolicy,
                 commit_offsets: bool = True) -> None:
        self.properties = properties
        self.topics = topics
        self.topic_pattern = topic_pattern
        self.partitions = partitions
        self.starting = starting
        self.stopping = stopping
        self.deserializer = deserializer
        self.dead_letter_policy = dead_letter_policy
        self.commit_offsets = commit_offsets
        self.watermark_strategy: Any = None

    @staticmethod
    def builder() -> KafkaSourceBuilder:
        """A builder of a KafkaSource."""
        return KafkaSourceBuilder()

    @property
    def bounded(self) -> bool:
        """Whether the source ends (``set_bounded``)."""
        return self.stopping is not None

    @property
    def bootstrap_servers(self) -> str:
        return self.properties.get("bootstrap.servers", "")

    @property
    def produced_type(self) -> Any:
        """The type the deserializer declares (``get_produced_type``), if any."""
        getter = getattr(self.deserializer, "get_produced_type", None)
        return getter() if callable(getter) else None

    @property
    def discovery_interval_ms(self) -> int:
        """How often new partitions are looked for (0 or negative: never; bounded: never)."""
        raw = self.properties.get("partition.discovery.interval.ms",
                                  self.properties.get("flink.partition-discovery.interval-millis"))
        if raw is None:
            return 0 if self.partitions is not None else DEFAULT_DISCOVERY_INTERVAL_MS
        return int(raw)

    def with_watermark_strategy(self, strategy: Any) -> KafkaSource:
        """A copy generating watermarks per partition with ``strategy`` (called by
        ``from_source``; Flink's KafkaSource does the same inside its reader)."""
        if strategy is not None and not callable(getattr(strategy, "create_watermark_generator", None)):
            raise JobDefinitionError(
                f"from_source(KafkaSource, ...): expected a WatermarkStrategy, got "
                f"{describe(strategy)}; hint: WatermarkStrategy.for_bounded_out_of_orderness("
                "Duration.of_seconds(5)) or WatermarkStrategy.no_watermarks()")
        copied = copy.copy(self)
        copied.watermark_strategy = None if getattr(strategy, "is_no_watermarks", False) else strategy
        return copied

    def create_operator(self, name: str) -> Any:
        """The source operator of one subtask (opens its consumer in ``open``)."""
        from strom.connectors.kafka.reader import KafkaSourceOperator

        return KafkaSourceOperator(name, self)

    def get_boundedness(self) -> str:
        """``"BOUNDED"`` or ``"CONTINUOUS_UNBOUNDED"`` (Flink's Boundedness names)."""
        return "BOUNDED" if self.bounded else "CONTINUOUS_UNBOUNDED"

    def __repr__(self) -> str:
        what = self.topics if self.topics is not None else self.topic_pattern or self.partitions
        return f"KafkaSource({what!r} from {self.bootstrap_servers!r})"


class KafkaSourceBuilder:
    """Builds a :class:`KafkaSource` (PyFlink's ``KafkaSourceBuilder``)."""

    def __init__(self) -> None:
        self._props: dict[str, str] = {}
        self._topics: list[str] | None = None
        self._pattern: str | None = None
        self._partitions: list[tuple[str, int]] | None = None
        self._starting = KafkaOffsetsInitializer.earliest()
        self._stopping: KafkaOffsetsInitializer | None = None
        self._deserializer: Any = None
        self._dead_letters = DeadLetterPolicy.SIDE_OUTPUT

    def build(self) -> KafkaSource:
        """The source; checks that servers, topics and a deserializer were set."""
        where = "KafkaSource.builder().build()"
        if not self._props.get("bootstrap.servers"):
            raise JobDefinitionError(f"{where}: no bootstrap servers; hint: "
                                     ".set_bootstrap_servers('localhost:9092')")
        if self._topics is None and self._pattern is None and self._partitions is None:
            raise JobDefinitionError(f"{where}: no topics to read; hint: .set_topics('orders'), "
                                     ".set_topic_pattern('orders-.*') or .set_partitions({...})")
        if self._deserializer is None:
            raise JobDefinitionError(f"{where}: no deserializer; hint: "
                                     ".set_value_only_deserializer(SimpleStringSchema())")
        if self._starting.kind == "committed" and not self._props.get("group.id"):
            raise JobDefinitionError(f"{where}: starting from committed offsets needs a consumer "
                                     "group; hint: .set_group_id('my-group')")
        return KafkaSource(dict(self._props), self._topics, self._pattern, self._partitions,
                           self._starting, self._stopping, self._deserializer, self._dead_letters,
                           self._props.get("commit.offsets.on.checkpoint", "true") != "false")

    def set_bootstrap_servers(self, bootstrap_servers: str) -> KafkaSourceBuilder:
        """The brokers to connect to (``host:port[,host:port...]``)."""
        if not isinstance(bootstrap_servers, str) or not bootstrap_servers:
            raise JobDefinitionError(f"KafkaSource.set_bootstrap_servers: expected 'host:port', got "
                                     f"{describe(bootstrap_servers)}")
        self._props["bootstrap.servers"] = bootstrap_servers
        return self

    def set_group_id(self, group_id: str) -> KafkaSourceBuilder:
        """The consumer group (for committed offsets and monitoring; not for assignment)."""
        if not isinstance(group_id, str) or not group_id:
            raise JobDefinitionError(f"KafkaSource.set_group_id: expected a non-empty string, got "
                                     f"{describe(group_id)}")
        self._props["group.id"] = group_id
        return self

    def set_topics(self, *topics: str) -> KafkaSourceBuilder:
        """Read every partition of these topics."""
        if len(topics) == 1 and isinstance(topics[0], (list, tuple)):
            topics = tuple(topics[0])
        if not topics or not all(isinstance(t, str) and t for t in topics):
            raise JobDefinitionError(f"KafkaSource.set_topics: expected topic names, got "
                                     f"{describe(topics)}")
        self._topics, self._pattern, self._partitions = list(topics), None, None
        return self

    def set_topic_pattern(self, topic_pattern: str) -> KafkaSourceBuilder:
        """Read every topic whose whole name matches this regular expression (found again at
        each partition discovery)."""
        try:
            re.compile(topic_pattern)
        except (re.error, TypeError) as exc:
            raise JobDefinitionError(f"KafkaSource.set_topic_pattern: {topic_pattern!r} is not a "
                                     f"regular expression: {exc}") from None
        self._topics, self._pattern, self._partitions = None, topic_pattern, None
        return self

    def set_partitions(self, partitions: set[KafkaTopicPartition]) -> KafkaSourceBuilder:
        """Read exactly these partitions."""
        if not partitions or not all(isinstance(p, KafkaTopicPartition) for p in partitions):
            raise JobDefinitionError(f"KafkaSource.set_partitions: expected a set of "
                                     f"KafkaTopicPartition, got {describe(partitions)}")
        self._topics, self._pattern = None, None
        self._partitions = sorted((p.topic, p.partition) for p in partitions)
        return self

    def set_starting_offsets(self, starting_offsets_initializer: KafkaOffsetsInitializer
                             ) -> KafkaSourceBuilder:
        """Where each partition starts on a fresh start (default: earliest)."""
        self._starting = _initializer(starting_offsets_initializer, "set_starting_offsets")
        return self

    def set_unbounded(self, stopping_offsets_initializer: KafkaOffsetsInitializer) -> KafkaSourceBuilder:
        """Stopping offsets for an unbounded source are not supported: use set_bounded."""
        from strom.errors import UnsupportedError

        raise UnsupportedError("KafkaSource.set_unbounded: strom has no unbounded stopping "
                               "offsets; hint: set_bounded(...) to stop at the offsets, or leave "
                               "the source unbounded")

    def set_bounded(self, stopping_offsets_initializer: KafkaOffsetsInitializer) -> KafkaSourceBuilder:
        """End once every partition reached these offsets (``latest()``: the end of each
        partition when the source first starts; checkpointed, so a restore stops at the same
        place). Partition discovery is off for a bounded source."""
        init = _initializer(stopping_offsets_initializer, "set_bounded")
        if init.kind == "earliest":
            raise JobDefinitionError("KafkaSource.set_bounded: earliest() would read nothing; "
                                     "hint: set_bounded(KafkaOffsetsInitializer.latest())")
        self._stopping = init
        return self

    def set_value_only_deserializer(self, deserialization_schema: Any) -> KafkaSourceBuilder:
        """How a record's value becomes an element: a ``DeserializationSchema`` (``deserialize(
        bytes)``; ``SimpleStringSchema()``, ``ByteArraySchema()`` for raw bytes,
        ``JsonRowDeserializationSchema``) or a callable ``bytes -> element``."""
        if not (callable(getattr(deserialization_schema, "deserialize", None))
                or callable(deserialization_schema)):
            raise JobDefinitionError(
                f"KafkaSource.set_value_only_deserializer: expected a DeserializationSchema with "
                f"deserialize(bytes), got {describe(deserialization_schema)}; hint: "
                "SimpleStringSchema() or ByteArraySchema()")
        self._deserializer = deserialization_schema
        return self

    def set_dead_letter_policy(self, policy: DeadLetterPolicy) -> KafkaSourceBuilder:
        """What to do with records the deserializer rejects (strom's addition; default
        ``DeadLetterPolicy.SIDE_OUTPUT``, see the module doc)."""
        if not isinstance(policy, DeadLetterPolicy):
            raise JobDefinitionError(f"KafkaSource.set_dead_letter_policy: expected a "
                                     f"DeadLetterPolicy, got {describe(policy)}")
        self._dead_letters = policy
        return self

    def set_client_id_prefix(self, prefix: str) -> KafkaSourceBuilder:
        """The prefix of each subtask's ``client.id``."""
        self._props["client.id.prefix"] = str(prefix)
        return self

    def set_property(self, key: str, value: str) -> KafkaSourceBuilder:
        """A client property (``security.protocol``, ``sasl.*``, ``ssl.*``, ``isolation.level``,
        ...) or ``partition.discovery.interval.ms`` / ``commit.offsets.on.checkpoint``."""
        self._props.update(check_properties({key: value}, "KafkaSource.set_property"))
        return self

    def set_properties(self, props: dict) -> KafkaSourceBuilder:
        """Several properties at once (see :meth:`set_property`)."""
        self._props.update(check_properties(props, "KafkaSource.set_properties"))
        return self


def _initializer(value: Any, where: str) -> KafkaOffsetsInitializer:
    if not isinstance(value, KafkaOffsetsInitializer):
        raise JobDefinitionError(f"KafkaSource.{where}: expected a KafkaOffsetsInitializer, got "
                                 f"{describe(value)}; hint: KafkaOffsetsInitializer.earliest()")
    return value


def deserializer_of(schema: Any) -> Any:
    """The per-record ``bytes -> element`` callable of a schema (or the callable itself)."""
    fn = getattr(schema, "deserialize", None)
    return fn if callable(fn) else schema


def end_of_stream_check(schema: Any) -> Any:
    """``is_end_of_stream`` when the schema overrides it (else None: nothing to call)."""
    method = getattr(type(schema), "is_end_of_stream", None)
    if method is None or method is DeserializationSchema.is_end_of_stream:
        return None
    return schema.is_end_of_stream


class FlinkKafkaConsumer:
    """The older Kafka source for ``env.add_source`` (PyFlink's ``FlinkKafkaConsumer``).

    Starts from the group's committed offsets (``auto.offset.reset`` where there are none,
    ``latest`` by default, as the Java client) unless told otherwise; checkpointed offsets
    are committed back to Kafka when a checkpoint completes (``set_commit_offsets_on_checkpoints``).
    Runs on the same reader as :class:`KafkaSource`.
    """

    parallel = True
    bounded = False

    def __init__(self, topics: str | list[str], deserialization_schema: Any,
                 properties: dict) -> None:
        props = check_properties(properties, "FlinkKafkaConsumer(properties)")
        if not props.get("bootstrap.servers"):
            raise JobDefinitionError("FlinkKafkaConsumer: properties need 'bootstrap.servers'; "
                                     "hint: {'bootstrap.servers': 'localhost:9092', 'group.id': 'g'}")
        names = [topics] if isinstance(topics, str) else list(topics or [])
        if not names or not all(isinstance(t, str) and t for t in names):
            raise JobDefinitionError(f"FlinkKafkaConsumer: expected a topic name or a list of "
                                     f"them, got {describe(topics)}")
        builder = (KafkaSource.builder().set_properties(props).set_topics(*names)
                   .set_value_only_deserializer(deserialization_schema))
        self._builder = builder
        self._commit = True
        reset = props.get("auto.offset.reset", "latest")
        strategy = (KafkaOffsetResetStrategy.EARLIEST if reset in ("earliest", "smallest", "beginning")
                    else KafkaOffsetResetStrategy.LATEST)
        self._start = (KafkaOffsetsInitializer.committed_offsets(strategy) if props.get("group.id")
                       else KafkaOffsetsInitializer.latest())
        if "flink.partition-discovery.interval-millis" not in props:
            builder.set_property("partition.discovery.interval.ms", "0")  # Flink's legacy default: off

    def set_commit_offsets_on_checkpoints(self, commit_on_checkpoints: bool) -> FlinkKafkaConsumer:
        """Whether checkpointed offsets are committed to Kafka (for monitoring; default true)."""
        self._commit = bool(commit_on_checkpoints)
        return self

    def set_start_from_earliest(self) -> FlinkKafkaConsumer:
        """Start from the earliest offset of each partition."""
        self._start = KafkaOffsetsInitializer.earliest()
        return self

    def set_start_from_latest(self) -> FlinkKafkaConsumer:
        """Start from the end of each partition."""
        self._start = KafkaOffsetsInitializer.latest()
        return self

    def set_start_from_timestamp(self, startup_offsets_timestamp: int) -> FlinkKafkaConsumer:
        """Start from the first record with a timestamp >= this (epoch ms)."""
        self._start = KafkaOffsetsInitializer.timestamp(startup_offsets_timestamp)
        return self

    def set_start_from_group_offsets(self) -> FlinkKafkaConsumer:
        """Start from the group's committed offsets (the default)."""
        props = self._builder._props
        if not props.get("group.id"):
            raise JobDefinitionError("FlinkKafkaConsumer.set_start_from_group_offsets: the "
                                     "properties have no 'group.id'")
        reset = props.get("auto.offset.reset", "latest")
        self._start = KafkaOffsetsInitializer.committed_offsets(
            KafkaOffsetResetStrategy.EARLIEST if reset in ("earliest", "smallest", "beginning")
            else KafkaOffsetResetStrategy.LATEST)
        return self

    def disable_filter_restored_partitions_with_subscribed_topics(self) -> FlinkKafkaConsumer:
        """Accepted: restored partitions are always those of the subscribed topics here."""
        return self

    def set_dead_letter_policy(self, policy: DeadLetterPolicy) -> FlinkKafkaConsumer:
        """See :meth:`KafkaSourceBuilder.set_dead_letter_policy`."""
        self._builder.set_dead_letter_policy(policy)
        return self

    def _source(self) -> KafkaSource:
        source = self._builder.set_starting_offsets(self._start).build()
        source.commit_offsets = self._commit
        return source

    def create_operator(self, name: str) -> Any:
        """The source operator of one subtask (the same reader as KafkaSource's)."""
        return self._source().create_operator(name)

    def get_produced_type(self) -> Any:
        """The produced type, when the schema declares one."""
        getter = getattr(self._builder._deserializer, "get_produced_type", None)
        return getter() if callable(getter) else None
