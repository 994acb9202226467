"""The Kafka sink, with PyFlink's builders (``KafkaSink.builder()``,
``KafkaRecordSerializationSchema.builder()``) and the older ``FlinkKafkaProducer``.

Delivery guarantees (``set_delivery_guarantee``), as Flink's ``KafkaSink``:

* ``NONE``: records are handed to the producer; nothing happens at checkpoints.
* ``AT_LEAST_ONCE``: at each checkpoint barrier the producer is flushed and every record
  acknowledged before the checkpoint may complete; after a failure the records since the last
  checkpoint are written again (duplicates, no loss).
* ``EXACTLY_ONCE``: records go into Kafka transactions tied to checkpoints
  (:mod:`strom.connectors.kafka._transactions`): at the barrier the transaction is flushed and
  pre-committed and a new one begins; when the checkpoint completes it is committed. A restore
  commits the transactions of the restored checkpoint and fences and aborts every other
  transaction the sink's earlier attempts may have left open, by re-running
  ``init_transactions`` with the same transactional ids. ``read_committed`` consumers see
  each record once. Needs ``set_transactional_id_prefix`` and checkpointing.

The sink object is a picklable description; its producer is created in ``open``.
"""
from __future__ import annotations

import enum
import logging
from typing import Any

from strom.connectors.base import DeliveryGuarantee
from strom.connectors.kafka._common import (
    KafkaConnectorError,
    check_properties,
    client,
    client_config,
    creation_error,
)
from strom.connectors.kafka._transactions import TransactionPool
from strom.errors import JobDefinitionError, describe
from strom.state.descriptors import ListStateDescriptor

_LOG = logging.getLogger("strom.connectors.kafka")
_CLIENT_LOG = logging.getLogger("strom.connectors.kafka.client")  # librdkafka's own log lines
FLUSH_TIMEOUT_S = 60.0
STATE_NAME = "kafka-sink-transactions"


class _DeliveryErrors:
    """Remembers the first record the producer could not deliver (raised on the task's thread)."""

    def __init__(self, sink_name: str, servers: str) -> None:
        self.sink_name, self.servers = sink_name, servers
        self.first: Exception | None = None

    def record(self, err: Any, msg: Any) -> None:
        if err is not None and self.first is None:
            where = f"topic {msg.topic()!r}" if msg is not None else "Kafka"
            self.first = KafkaConnectorError(f"{self.sink_name}: a record could not be written to "
                                             f"{where} at {self.servers!r}: {err}")


class KafkaTopicSelector:
    """Chooses the topic of each record (PyFlink's ``KafkaTopicSelector``)."""

    def apply(self, data: Any) -> str:
        raise NotImplementedError


class FlinkKafkaPartitioner:
    """Chooses the partition of each record (Flink's ``FlinkKafkaPartitioner``)."""

    def open(self, parallel_instance_id: int, parallel_instances: int) -> None:
        """Called once per sink subtask before any record."""

    def partition(self, record: Any, key: bytes | None, value: bytes | None, target_topic: str,
                  partitions: list[int]) -> int:
        raise NotImplementedError


class FlinkFixedPartitioner(FlinkKafkaPartitioner):
    """Each sink subtask writes to one partition: ``subtask % number of partitions``
    (``FlinkKafkaProducer``'s default)."""

    def __init__(self) -> None:
        self.subtask = 0

    def open(self, parallel_instance_id: int, parallel_instances: int) -> None:
        self.subtask = parallel_instance_id

    def partition(self, record: Any, key: bytes | None, value: bytes | None, target_topic: str,
                  partitions: list[int]) -> int:
        return partitions[self.subtask % len(partitions)]


class KafkaRecordSerializationSchema:
    """How an element becomes a Kafka record: topic, key, value and partition; build it with
    :meth:`builder`."""

    def __init__(self, topic: str | None, topic_selector: Any, key_schema: Any, value_schema: Any,
                 partitioner: Any) -> None:
        self.topic = topic
        self.topic_selector = topic_selector
        self.key_schema = key_schema
        self.value_schema = value_schema
        self.partitioner = partitioner

    @staticmethod
    def builder() -> KafkaRecordSerializationSchemaBuilder:
        return KafkaRecordSerializationSchemaBuilder()


class KafkaRecordSerializationSchemaBuilder:
    """Builds a :class:`KafkaRecordSerializationSchema` (PyFlink's builder of the same name)."""

    def __init__(self) -> None:
        self._topic: str | None = None
        self._selector: Any = None
        self._key: Any = None
        self._value: Any = None
        self._partitioner: Any = None

    def build(self) -> KafkaRecordSerializationSchema:
        where = "KafkaRecordSerializationSchema.builder().build()"
        if self._topic is None and self._selector is None:
            raise JobDefinitionError(f"{where}: no topic; hint: .set_topic('out') or "
                                     ".set_topic_selector(lambda e: ...)")
        if self._value is None:
            raise JobDefinitionError(f"{where}: no value serialization schema; hint: "
                                     ".set_value_serialization_schema(SimpleStringSchema())")
        return KafkaRecordSerializationSchema(self._topic, self._selector, self._key, self._value,
                                              self._partitioner)

    def set_topic(self, topic: str) -> KafkaRecordSerializationSchemaBuilder:
        """Every record goes to this topic."""
        if not isinstance(topic, str) or not topic:
            raise JobDefinitionError(f"KafkaRecordSerializationSchema.set_topic: expected a topic "
                                     f"name, got {describe(topic)}")
        self._topic, self._selector = topic, None
        return self

    def set_topic_selector(self, topic_selector: Any) -> KafkaRecordSerializationSchemaBuilder:
        """Each record goes to the topic ``topic_selector(element)`` returns (a callable or a
        :class:`KafkaTopicSelector`)."""
        if not (callable(topic_selector) or callable(getattr(topic_selector, "apply", None))):
            raise JobDefinitionError(f"KafkaRecordSerializationSchema.set_topic_selector: expected "
                                     f"a callable or KafkaTopicSelector, got {describe(topic_selector)}")
        self._selector, self._topic = topic_selector, None
        return self

    def set_key_serialization_schema(self, key_serialization_schema: Any
                                     ) -> KafkaRecordSerializationSchemaBuilder:
        """The record key: ``key_serialization_schema.serialize(element)`` (default: no key)."""
        self._key = _schema(key_serialization_schema, "set_key_serialization_schema")
        return self

    def set_value_serialization_schema(self, value_serialization_schema: Any
                                       ) -> KafkaRecordSerializationSchemaBuilder:
        """The record value: ``value_serialization_schema.serialize(element)``."""
        self._value = _schema(value_serialization_schema, "set_value_serialization_schema")
        return self

    def set_partitioner(self, partitioner: Any) -> KafkaRecordSerializationSchemaBuilder:
        """A :class:`FlinkKafkaPartitioner` (Java's ``setPartitioner``); default: the client's
        partitioner (by key hash, or spread when there is no key)."""
        if not callable(getattr(partitioner, "partition", None)):
            raise JobDefinitionError(f"KafkaRecordSerializationSchema.set_partitioner: expected a "
                                     f"FlinkKafkaPartitioner, got {describe(partitioner)}")
        self._partitioner = partitioner
        return self


def _schema(schema: Any, where: str) -> Any:
    if not callable(getattr(schema, "serialize", None)):
        raise JobDefinitionError(f"KafkaRecordSerializationSchema.{where}: expected a "
                                 f"SerializationSchema with serialize(element), got {describe(schema)}; "
                                 "hint: SimpleStringSchema()")
    return schema


class KafkaSink:
    """Writes records to Kafka (PyFlink's ``KafkaSink``); build one with :meth:`builder` and
    use it with ``DataStream.sink_to``. See the module doc for the delivery guarantees."""

    sink_name = "Sink: KafkaSink"
    write_timestamp = True  # a record's timestamp becomes the Kafka record's

    def __init__(self, properties: dict[str, str], serializer: KafkaRecordSerializationSchema,
                 guarantee: DeliveryGuarantee, transactional_id_prefix: str | None) -> None:
        self.properties = properties
        self.serializer = serializer
        self.guarantee = guarantee
        self.transactional_id_prefix = transactional_id_prefix
        # run time (set by initialize_state / open on the subtask's own copy)
        self._producer: Any = None
        self._pool: TransactionPool | None = None
        self._state: Any = None
        self._restored: list[dict] = []
        self._errors = _DeliveryErrors(self.sink_name, self.bootstrap_servers)
        self._count = 0

    @staticmethod
    def builder() -> KafkaSinkBuilder:
        return KafkaSinkBuilder()

    def get_transformer(self) -> None:
        """PyFlink's preprocessing hook: none is needed here."""
        return None

    @property
    def bootstrap_servers(self) -> str:
        return self.properties.get("bootstrap.servers", "")

    # -- runtime hooks (the sink operator calls them on the task's thread) -----------------------
    def initialize_state(self, context: Any) -> None:
        # union: on restore every subtask sees every old subtask's transactions, and takes
        # exactly those of its own old index (and of removed subtasks): see _transactions
        self._state = context.get_operator_state_store().get_union_list_state(
            ListStateDescriptor(STATE_NAME))
        self._restored = list(self._state.get()) if context.is_restored() else []

    def open(self, runtime_context: Any) -> None:
        ck = client()
        subtask = runtime_context.get_index_of_this_subtask()
        parallelism = runtime_context.get_number_of_parallel_subtasks()
        conf = client_config(self.properties, "KafkaSink")
        conf.setdefault("logger", _CLIENT_LOG)
        # the callback must not reference the sink: the producer would then keep the sink (and
        # through it itself) alive in a cycle the garbage collector cannot see through
        self._errors = errors = _DeliveryErrors(self.sink_name, self.bootstrap_servers)
        conf["on_delivery"] = errors.record
        conf.setdefault("delivery.report.only.error", True)
        ser = self.serializer
        self._topic = ser.topic
        selector = ser.topic_selector
        self._select = None if selector is None else (
            selector.apply if callable(getattr(selector, "apply", None)) else selector)
        self._key = None if ser.key_schema is None else ser.key_schema.serialize
        self._value = ser.value_schema.serialize
        self._partitioner = ser.partitioner
        self._partitions: dict[str, list[int]] = {}
        if self._partitioner is not None:
            opener = getattr(self._partitioner, "open", None)
            if callable(opener):
                opener(subtask, parallelism)
        if self.guarantee is DeliveryGuarantee.EXACTLY_ONCE:
            self._pool = TransactionPool(ck, conf, self.transactional_id_prefix or "", subtask,
                                         self.bootstrap_servers)
            self._pool.recover(self._restored, parallelism)
            self._restored = []
            self._producer = self._pool.begin()
        else:
            try:
                self._producer = ck.Producer(conf)
            except Exception as exc:
                raise creation_error(exc, "producer", self.bootstrap_servers) from exc
        self._produce = self._producer.produce
        self._poll = self._producer.poll

    def invoke(self, value: Any, context: Any) -> None:
        """Serialize ``value`` and hand it to the producer (asynchronous)."""
        if self._errors.first is not None:
            raise self._errors.first
        topic = self._topic or self._select(value)
        data = self._value(value)
        key = None if self._key is None else self._key(value)
        ts = context.timestamp() if context is not None and self.write_timestamp else None
        partition = -1
        if self._partitioner is not None:
            partition = self._partitioner.partition(value, key, data, topic,
                                                    self._topic_partitions(topic))
        while True:
            try:
                if ts is not None and ts >= 0:
                    self._produce(topic, data, key, partition, timestamp=ts)
                else:
                    self._produce(topic, data, key, partition)
                break
            except BufferError:  # the client's queue is full: serve deliveries, then retry
                self._poll(0.05)
        self._count += 1
        if not self._count & 1023:
            self._poll(0)

    def _topic_partitions(self, topic: str) -> list[int]:
        parts = self._partitions.get(topic)
        if parts is None:
            meta = self._producer.list_topics(topic, timeout=30)
            info = meta.topics.get(topic)
            if info is None or info.error is not None or not info.partitions:
                raise KafkaConnectorError(f"{self.sink_name}: topic {topic!r} has no partitions at "
                                          f"{self.bootstrap_servers!r} ({getattr(info, 'error', None)})")
            parts = self._partitions[topic] = sorted(info.partitions)
        return parts

    def _flush(self, why: str) -> None:
        left = self._producer.flush(FLUSH_TIMEOUT_S)
        if self._errors.first is not None:
            raise self._errors.first
        if left:
            raise KafkaConnectorError(f"{self.sink_name}: {left} record(s) were not acknowledged by "
                                      f"{self.bootstrap_servers!r} within {FLUSH_TIMEOUT_S:.0f} s "
                                      f"({why})")

    def snapshot_state(self, context: Any) -> None:
        """At the barrier: flush (AT_LEAST_ONCE) or flush, pre-commit and begin the next
        transaction (EXACTLY_ONCE)."""
        if self.guarantee is DeliveryGuarantee.AT_LEAST_ONCE:
            self._flush(f"checkpoint {context.get_checkpoint_id()}")
        elif self.guarantee is DeliveryGuarantee.EXACTLY_ONCE and self._pool is not None:
            if self._errors.first is not None:
                raise self._errors.first
            self._producer = self._pool.pre_commit(context.get_checkpoint_id())
            if self._errors.first is not None:
                raise self._errors.first
            if self._producer is not None:
                self._produce, self._poll = self._producer.produce, self._producer.poll
            self._state.update([self._pool.state()])

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        if self._pool is not None:
            self._pool.commit_up_to(checkpoint_id)

    def finish(self) -> None:
        """The input ended: flush; under EXACTLY_ONCE the final snapshot pre-commits the last
        transaction and no new one begins."""
        if self._pool is not None:
            self._pool.finishing = True
        elif self._producer is not None:
            self._flush("end of input")

    def close(self) -> None:
        """Abort the open transaction (pre-committed ones wait for the restore); flush otherwise."""
        if self._pool is not None:
            self._pool.close()
        elif self._producer is not None and self.guarantee is not DeliveryGuarantee.NONE:
            left = self._producer.flush(5)
            if left:
                _LOG.warning("%s: %d record(s) not acknowledged when the sink closed", self.sink_name, left)
        self._producer = None


class KafkaSinkBuilder:
    """Builds a :class:`KafkaSink` (PyFlink's ``KafkaSinkBuilder``)."""

    def __init__(self) -> None:
        self._props: dict[str, str] = {}
        self._serializer: KafkaRecordSerializationSchema | None = None
        self._guarantee = DeliveryGuarantee.NONE
        self._prefix: str | None = None

    def build(self) -> KafkaSink:
        where = "KafkaSink.builder().build()"
        if not self._props.get("bootstrap.servers"):
            raise JobDefinitionError(f"{where}: no bootstrap servers; hint: "
                                     ".set_bootstrap_servers('localhost:9092')")
        if self._serializer is None:
            raise JobDefinitionError(f"{where}: no record serializer; hint: .set_record_serializer("
                                     "KafkaRecordSerializationSchema.builder().set_topic('out')"
                                     ".set_value_serialization_schema(SimpleStringSchema()).build())")
        if self._guarantee is DeliveryGuarantee.EXACTLY_ONCE and not self._prefix:
            raise JobDefinitionError(f"{where}: EXACTLY_ONCE needs a transactional id prefix, unique "
                                     "per job writing to the same cluster; hint: "
                                     ".set_transactional_id_prefix('my-job')")
        return KafkaSink(dict(self._props), self._serializer, self._guarantee, self._prefix)

    def set_bootstrap_servers(self, bootstrap_servers: str) -> KafkaSinkBuilder:
        if not isinstance(bootstrap_servers, str) or not bootstrap_servers:
            raise JobDefinitionError(f"KafkaSink.set_bootstrap_servers: expected 'host:port', got "
                                     f"{describe(bootstrap_servers)}")
        self._props["bootstrap.servers"] = bootstrap_servers
        return self

    def set_delivery_guarantee(self, delivery_guarantee: DeliveryGuarantee) -> KafkaSinkBuilder:
        """NONE (default), AT_LEAST_ONCE or EXACTLY_ONCE (see the module doc)."""
        if not isinstance(delivery_guarantee, DeliveryGuarantee):
            raise JobDefinitionError(f"KafkaSink.set_delivery_guarantee: expected a "
                                     f"DeliveryGuarantee, got {describe(delivery_guarantee)}")
        self._guarantee = delivery_guarantee
        return self

    def set_transactional_id_prefix(self, transactional_id_prefix: str) -> KafkaSinkBuilder:
        """The prefix of the sink's transactional ids (``<prefix>-<subtask>-<n>``)."""
        if not isinstance(transactional_id_prefix, str) or not transactional_id_prefix:
            raise JobDefinitionError(f"KafkaSink.set_transactional_id_prefix: expected a non-empty "
                                     f"string, got {describe(transactional_id_prefix)}")
        self._prefix = transactional_id_prefix
        return self

    def set_record_serializer(self, record_serializer: KafkaRecordSerializationSchema) -> KafkaSinkBuilder:
        if not isinstance(record_serializer, KafkaRecordSerializationSchema):
            raise JobDefinitionError(f"KafkaSink.set_record_serializer: expected a "
                                     f"KafkaRecordSerializationSchema, got {describe(record_serializer)}")
        self._serializer = record_serializer
        return self

    def set_property(self, key: str, value: str) -> KafkaSinkBuilder:
        """A producer property (``acks``, ``linger.ms``, ``security.protocol``, ``sasl.*``, ...)."""
        self._props.update(check_properties({key: value}, "KafkaSink.set_property"))
        return self


class Semantic(enum.Enum):
    """``FlinkKafkaProducer``'s guarantees (PyFlink's ``Semantic``)."""

    EXACTLY_ONCE = 0
    AT_LEAST_ONCE = 1
    NONE = 2


class FlinkKafkaProducer(KafkaSink):
    """The older Kafka sink for ``add_sink`` (PyFlink's ``FlinkKafkaProducer``): every record to
    ``topic``, each subtask to one partition (``FlinkFixedPartitioner``), AT_LEAST_ONCE unless
    told otherwise. ``kafka_producer_pool_size`` is accepted; the EXACTLY_ONCE pool here grows
    as checkpoints need (usually 2 producers per subtask). Record timestamps are not written
    unless ``set_write_timestamp_to_kafka(True)`` (the Java class's default)."""

    sink_name = "Sink: FlinkKafkaProducer"

    def __init__(self, topic: str, serialization_schema: Any, producer_config: dict,
                 kafka_producer_pool_size: int = 5, semantic: Semantic = Semantic.AT_LEAST_ONCE) -> None:
        props = check_properties(producer_config, "FlinkKafkaProducer(producer_config)")
        if not props.get("bootstrap.servers"):
            raise JobDefinitionError("FlinkKafkaProducer: producer_config needs 'bootstrap.servers'")
        if not isinstance(semantic, Semantic):
            raise JobDefinitionError(f"FlinkKafkaProducer: semantic must be a Semantic, got "
                                     f"{describe(semantic)}")
        serializer = (KafkaRecordSerializationSchema.builder().set_topic(topic)
                      .set_value_serialization_schema(serialization_schema)
                      .set_partitioner(FlinkFixedPartitioner()).build())
        guarantee = DeliveryGuarantee[semantic.name]
        prefix = props.pop("transactional.id", None) or f"strom-{topic}"
        super().__init__(props, serializer, guarantee, prefix)
        self.write_timestamp = False

    def set_log_failures_only(self, log_failures_only: bool) -> FlinkKafkaProducer:
        """Only ``False`` (failures fail the job) is supported."""
        if log_failures_only:
            from strom.errors import UnsupportedError

            raise UnsupportedError("FlinkKafkaProducer.set_log_failures_only(True): strom never "
                                   "drops records silently; hint: handle bad records before the sink")
        return self

    def set_flush_on_checkpoint(self, flush_on_checkpoint: bool) -> FlinkKafkaProducer:
        """With ``False`` an AT_LEAST_ONCE producer does not flush at checkpoints (NONE)."""
        if not flush_on_checkpoint and self.guarantee is DeliveryGuarantee.AT_LEAST_ONCE:
            self.guarantee = DeliveryGuarantee.NONE
        return self

    def set_write_timestamp_to_kafka(self, write_timestamp_to_kafka: bool) -> FlinkKafkaProducer:
        """Whether a record's timestamp becomes the Kafka record's (else the broker's time)."""
        self.write_timestamp = bool(write_timestamp_to_kafka)
        return self

    def ignore_failures_after_transaction_timeout(self) -> FlinkKafkaProducer:
        """Accepted (a timed-out transaction fails the restore with a message naming it)."""
        return self
