"""The Kafka source operator: one consumer per subtask, partitions as splits, offsets as state.

Reading never blocks the task's thread: librdkafka fetches in its own threads, and
``emit_next`` takes what is already there with ``consume(num_messages=budget, timeout=0)``.
When nothing is there it asks to be woken by a processing-time timer a few milliseconds later
(backing off to :data:`MAX_POLL_WAIT_MS` while idle), so an idle source costs little and a busy
one is read in batches.

State: a union list state of ``(topic, partition, next offset, stop offset)`` entries. Every
subtask writes the partitions it reads; on restore every subtask sees all entries and keeps the
partitions it owns at the new parallelism (:func:`split_owner`), so rescaling moves partitions
with their offsets. Partitions found later (discovery, or not in the restored state) start at
the earliest offset, as in Flink. Offsets are committed to the consumer group when a
checkpoint completes, for monitoring only: a restore never reads them.

Watermarks: with a strategy from ``from_source``, each partition has its own generator; the
source's watermark is the minimum over partitions not marked idle (``with_idleness``), and the
source is idle when all of them are, or when it reads no partition at all (Flink's
``WatermarkOutputMultiplexer``). Records carry the Kafka record timestamp unless the strategy's
timestamp assigner says otherwise.
"""
from __future__ import annotations

import logging
import re
import threading
import uuid
from typing import Any

from strom.connectors.kafka._common import (
    KafkaConnectorError,
    KafkaOffsetResetStrategy,
    client,
    client_config,
    creation_error,
    split_owner,
)
from strom.connectors.kafka.source import (
    DEAD_LETTER,
    DeadLetter,
    DeadLetterPolicy,
    KafkaSource,
    deserializer_of,
    end_of_stream_check,
)
from strom.errors import StromError, UserFunctionError, describe
from strom.runtime.operators.sources import END, MORE, NOTHING, SourceOperator
from strom.runtime.operators.timestamps import DEFAULT_AUTO_WATERMARK_INTERVAL, GeneratorContext
from strom.state.descriptors import ListStateDescriptor
from strom.time.watermarks import MAX_WATERMARK, MIN_WATERMARK

_LOG = logging.getLogger("strom.connectors.kafka")
STATE_NAME = "kafka-partition-offsets"
MAX_POLL_WAIT_MS = 10
CONNECT_TIMEOUT_MS = 30_000
OFFSET_BEGINNING, OFFSET_END = -2, -1


class _PartitionOutput:
    """The ``WatermarkOutput`` of one partition's generator: remembers its watermark and idleness;
    the operator combines them."""

    __slots__ = ("op", "watermark", "idle")

    def __init__(self, op: KafkaSourceOperator) -> None:
        self.op = op
        self.watermark = MIN_WATERMARK
        self.idle = False

    def emit_watermark(self, watermark: Any) -> None:
        ts = getattr(watermark, "timestamp", watermark)
        if ts > self.watermark:
            self.watermark = ts
        if self.idle:
            self.idle = False
        self.op._combine()

    def mark_idle(self) -> None:
        if not self.idle:
            self.idle = True
            self.op._combine()

    def mark_active(self) -> None:
        if self.idle:
            self.idle = False
            self.op._combine()


class KafkaSourceOperator(SourceOperator):
    """Reads the partitions this subtask owns (see the module doc)."""

    def __init__(self, name: str, source: KafkaSource) -> None:
        super().__init__(name)
        self.source = source
        self.consumer: Any = None
        self.positions: dict[tuple[str, int], int] = {}  # next offset (or OFFSET_BEGINNING)
        self.stops: dict[tuple[str, int], int] = {}      # bounded: stop before this offset
        self.finished: set[tuple[str, int]] = set()
        self.known: set[tuple[str, int]] = set()         # every partition any subtask had
        self.errors = 0
        self._pending_commits: dict[int, dict[tuple[str, int], int]] = {}
        self._poll_wait = 1
        self._wake_pending = False
        self._discovering = False
        self._cancelled = False
        self._gens: dict[tuple[str, int], Any] = {}
        self._outs: dict[tuple[str, int], _PartitionOutput] = {}
        self._emitted_wm = MIN_WATERMARK
        self._idle = False
        self._deferred = False  # inside a periodic emit: combine once at its end

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> None:
        ck = client()
        src, info = self.source, self.info
        self.metrics.gauge("numRecordsInErrors", lambda: self.errors)
        self.metrics.gauge("assignedPartitions", lambda: len(self.positions))
        props = dict(src.properties)
        self._group = props.get("group.id")
        prefix = props.get("client.id.prefix", "strom-kafka-source")
        conf = client_config(props, "KafkaSource")
        conf.setdefault("group.id", f"strom-{uuid.uuid4().hex[:12]}")
        conf.update({"enable.auto.commit": False, "enable.auto.offset.store": False,
                     "enable.partition.eof": True,
                     "client.id": f"{prefix}-{info.subtask_index}"})
        conf.setdefault("logger", logging.getLogger("strom.connectors.kafka.client"))
        try:
            self.consumer = ck.Consumer(conf)
        except Exception as exc:
            raise creation_error(exc, "consumer", src.bootstrap_servers) from exc
        self._ck = ck
        self._state = self.operator_state.get_union_list_state(ListStateDescriptor(STATE_NAME))
        restored: dict[tuple[str, int], tuple[int, int | None]] = {}
        if self.restored_checkpoint_id is not None:
            for topic, partition, offset, stop in self._state.get():
                restored[(topic, partition)] = (offset, stop)
        self.known = set(restored)
        strategy = src.watermark_strategy
        self._assign = strategy.create_timestamp_assigner() if strategy is not None else None
        self._deserialize = deserializer_of(src.deserializer)
        self._end_of_stream = end_of_stream_check(src.deserializer)
        opener = getattr(src.deserializer, "open", None)
        if callable(opener):
            opener(self.runtime_context())
        # which partitions exist now (bounded retries: a clear error if no broker answers)
        mine = [tp for tp in self._discover(self._connect_timeout_ms())
                if split_owner(tp[0], tp[1], info.parallelism) == info.subtask_index]
        mine += [tp for tp in restored if tp not in mine
                 and split_owner(tp[0], tp[1], info.parallelism) == info.subtask_index]
        fresh = [tp for tp in mine if tp not in restored]
        if self.restored_checkpoint_id is None:
            starts = self._resolve(fresh, src.starting)
            stops = self._resolve(fresh, src.stopping) if src.stopping is not None else {}
        else:  # partitions new since the checkpoint start at the earliest offset (Flink)
            starts = dict.fromkeys(fresh, OFFSET_BEGINNING)
            stops = self._resolve(fresh, src.stopping) if src.stopping is not None else {}
        unstopped = []
        for tp in restored:
            if tp in mine:
                starts[tp], stop = restored[tp]
                if stop is not None:
                    stops[tp] = stop
                elif src.stopping is not None:
                    unstopped.append(tp)  # restored from an unbounded run into a bounded one
        if unstopped:
            stops.update(self._resolve(unstopped, src.stopping))
        self.known.update(mine)
        self._add(starts, stops)
        self._wm_interval = int(info.config.get("auto_watermark_interval",
                                                DEFAULT_AUTO_WATERMARK_INTERVAL))
        pts = info.processing_time
        if strategy is not None and self._wm_interval > 0:
            pts.register(pts.now() + self._wm_interval, self._on_periodic)
        if not self.positions and strategy is not None:
            self._set_idle(True)  # a subtask without partitions must not hold back event time
        self._discovery_ms = 0 if src.bounded else src.discovery_interval_ms
        if self._discovery_ms > 0:
            pts.register(pts.now() + self._discovery_ms, self._on_discovery)

    def _connect_timeout_ms(self) -> int:
        return int(self.source.properties.get("strom.connect.timeout.ms", CONNECT_TIMEOUT_MS))

    def close(self) -> None:
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except Exception as exc:  # closing is best effort; say so
                _LOG.warning("source '%s': closing the Kafka consumer failed: %s", self.name, exc)

    def cancel(self) -> None:
        self._cancelled = True

    # -- partitions ------------------------------------------------------------------------------
    def _discover(self, timeout_ms: int) -> list[tuple[str, int]]:
        """The partitions the source reads, from the brokers' metadata (retried until
        ``timeout_ms``; then a KafkaConnectorError naming the servers)."""
        src = self.source
        if src.partitions is not None:
            return list(src.partitions)
        metadata = self._metadata(timeout_ms)
        if src.topics is not None:
            names = [t for t in src.topics if t in metadata.topics]
        else:
            pattern = re.compile(src.topic_pattern or "")
            names = sorted(t for t in metadata.topics
                           if pattern.fullmatch(t) and not t.startswith("__"))
        found = []
        for name in names:
            topic = metadata.topics[name]
            if topic.error is not None:
                continue  # e.g. being created; the next discovery sees it
            found.extend((name, p) for p in sorted(topic.partitions))
        return found

    def _metadata(self, timeout_ms: int) -> Any:
        import time

        deadline = time.monotonic() + timeout_ms / 1000
        last: Exception | None = None
        while True:
            left = deadline - time.monotonic()
            try:
                return self.consumer.list_topics(timeout=max(0.5, min(5.0, left)))
            except Exception as exc:  # a KafkaException (transport): retry until the deadline
                last = exc
            if time.monotonic() >= deadline:
                raise KafkaConnectorError(
                    f"source '{self.name}': no Kafka broker answered at bootstrap.servers="
                    f"{self.source.bootstrap_servers!r} within {timeout_ms / 1000:g} s ({last}); "
                    "hint: start the broker (scripts/kafka start) or fix the address; "
                    "strom.connect.timeout.ms sets how long to wait")

    def _resolve(self, partitions: list[tuple[str, int]], init: Any) -> dict[tuple[str, int], int]:
        """Concrete offsets for ``partitions`` per an offsets initializer."""
        if not partitions:
            return {}
        ck, consumer, timeout = self._ck, self.consumer, self._connect_timeout_ms() / 1000
        tps = [ck.TopicPartition(t, p) for t, p in partitions]

        def by_time(ts: int, subset: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
            if not subset:
                return {}
            query = [ck.TopicPartition(t, p, ts) for t, p in subset]
            result = consumer.offsets_for_times(query, timeout=timeout)
            out = {}
            for tp in result:
                offset = tp.offset
                if offset < 0:  # no record at or after ts: start at the end
                    offset = consumer.get_watermark_offsets(
                        ck.TopicPartition(tp.topic, tp.partition), timeout=timeout)[1]
                out[(tp.topic, tp.partition)] = offset
            return out

        def reset(subset: list[tuple[str, int]], strategy: KafkaOffsetResetStrategy,
                  why: str) -> dict[tuple[str, int], int]:
            if not subset:
                return {}
            if strategy is KafkaOffsetResetStrategy.NONE:
                raise KafkaConnectorError(
                    f"source '{self.name}': {why} for {describe(subset)} of consumer group "
                    f"{self._group!r} and the reset strategy is NONE; hint: "
                    "committed_offsets(KafkaOffsetResetStrategy.EARLIEST)")
            return by_time(OFFSET_BEGINNING if strategy is KafkaOffsetResetStrategy.EARLIEST
                           else OFFSET_END, subset)

        try:
            if init.kind == "earliest":
                return by_time(OFFSET_BEGINNING, partitions)
            if init.kind == "latest":
                return by_time(OFFSET_END, partitions)
            if init.kind == "timestamp":
                return by_time(init.timestamp_ms, partitions)
            if init.kind == "specific":
                given = {tp: o for tp, o in init.specific.items() if tp in set(partitions)}
                rest = [tp for tp in partitions if tp not in given]
                return {**given, **reset(rest, init.reset, "no offset was given")}
            committed = consumer.committed(tps, timeout=timeout)
            found = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
            rest = [tp for tp in partitions if tp not in found]
            return {**found, **reset(rest, init.reset, "no offset is committed")}
        except StromError:
            raise
        except Exception as exc:
            raise KafkaConnectorError(
                f"source '{self.name}': resolving the {init!r} offsets of {describe(partitions)} "
                f"at {self.source.bootstrap_servers!r} failed: {exc}") from exc

    def _add(self, starts: dict[tuple[str, int], int], stops: dict[tuple[str, int], int]) -> None:
        """Start reading these partitions at these offsets."""
        if not starts:
            return
        ck, strategy = self._ck, self.source.watermark_strategy
        for tp, offset in starts.items():
            self.positions[tp] = offset
            if tp in stops:
                self.stops[tp] = stops[tp]
                if offset >= 0 and offset >= stops[tp]:
                    self.finished.add(tp)
            if strategy is not None:
                self._gens[tp] = strategy.create_watermark_generator(
                    GeneratorContext(self.metrics, self.info.clock))
                self._outs[tp] = _PartitionOutput(self)
        # only the new partitions: the others keep what the client already fetched for them
        assignment = [ck.TopicPartition(t, p, starts[(t, p)])
                      for t, p in sorted(starts) if (t, p) not in self.finished]
        if assignment:
            self.consumer.incremental_assign(assignment)
        if self._idle and strategy is not None:
            self._set_idle(False)

    def _on_discovery(self, _time: int) -> None:
        """Look for new partitions on a helper thread (metadata may take a while); add them
        on the task's thread."""
        pts = self.info.processing_time
        pts.register(pts.now() + self._discovery_ms, self._on_discovery)
        post = self.info.post
        if self._discovering or self.consumer is None:
            return
        if post is None:
            self._discovered(self._discover(5000))
            return
        self._discovering = True

        def run() -> None:
            try:
                found = self._discover(5000)
            except Exception as exc:  # logged; the next interval tries again
                _LOG.warning("source '%s': partition discovery failed: %s", self.name, exc)
                found = None
            post(lambda: self._discovered(found))

        threading.Thread(target=run, name=f"kafka discovery {self.name}", daemon=True).start()

    def _discovered(self, found: list[tuple[str, int]] | None) -> None:
        self._discovering = False
        if not found or self.consumer is None:
            return
        info = self.info
        new = [tp for tp in found if tp not in self.known]
        self.known.update(new)
        mine = [tp for tp in new if split_owner(tp[0], tp[1], info.parallelism) == info.subtask_index]
        if mine:
            _LOG.info("source '%s': reading new partitions %s", self.name, mine)
            self._add(dict.fromkeys(mine, OFFSET_BEGINNING), {})

    # -- reading ---------------------------------------------------------------------------------
    def emit_next(self, budget: int) -> int:
        if self._cancelled:
            return END
        if self.source.bounded and len(self.finished) == len(self.positions):
            return END
        try:
            messages = self.consumer.consume(num_messages=budget, timeout=0)
        except Exception as exc:
            raise KafkaConnectorError(f"source '{self.name}': consuming from "
                                      f"{self.source.bootstrap_servers!r} failed: {exc}") from exc
        if not messages:
            self._wake_later()
            return NOTHING
        self._poll_wait = 1
        positions, stops, collect = self.positions, self.stops, self.output.collect
        deserialize, assign, gens, outs = self._deserialize, self._assign, self._gens, self._outs
        end_of_stream = self._end_of_stream
        for msg in messages:
            err = msg.error()
            if err is not None:
                self._error(msg, err)
                continue
            offset = msg.offset()
            tp = (msg.topic(), msg.partition())
            if stops and tp in stops and offset >= stops[tp]:
                self._finish(tp)
                continue
            raw = msg.value()
            try:
                value = deserialize(raw)
            except Exception as exc:
                positions[tp] = offset + 1
                self._dead_letter(msg, tp, offset, exc)
                continue
            positions[tp] = offset + 1
            if value is None:  # the schema produced no record for it (Flink drops nulls too)
                continue
            if end_of_stream is not None and end_of_stream(value):
                self._finish(tp)
                continue
            kind, ts = msg.timestamp()
            if kind == 0:  # TIMESTAMP_NOT_AVAILABLE
                ts = None
            if assign is None:
                collect(value, ts)
            else:
                try:
                    t = assign(value, MIN_WATERMARK if ts is None else ts)
                    collect(value, t)
                    gen = gens[tp]
                    if getattr(gen, "inline_max_timestamp", False):
                        if t > gen.max_timestamp:
                            gen.max_timestamp = t
                    else:
                        gen.on_event(value, t, outs[tp])
                except StromError:
                    raise
                except Exception as exc:
                    raise self.fail(exc, value, f"record (topic {tp[0]}, partition {tp[1]}, "
                                                f"offset {offset})") from exc
            if stops and tp in stops and offset + 1 >= stops[tp]:
                self._finish(tp)
        return MORE

    def _wake_later(self) -> None:
        """Nothing to read now: be stepped again in a few ms (backing off while idle)."""
        if self._wake_pending:
            return
        self._wake_pending = True
        pts = self.info.processing_time
        pts.register(pts.now() + self._poll_wait, self._woken)
        self._poll_wait = min(MAX_POLL_WAIT_MS, self._poll_wait * 2)

    def _woken(self, _time: int) -> None:
        self._wake_pending = False

    def _finish(self, tp: tuple[str, int]) -> None:
        if tp in self.finished:
            return
        self.finished.add(tp)
        self.positions[tp] = max(self.positions.get(tp, 0), self.stops.get(tp, 0))
        try:
            self.consumer.incremental_unassign([self._ck.TopicPartition(*tp)])
        except Exception as exc:  # the partition stays assigned; its records are skipped
            _LOG.debug("source '%s': unassigning %s failed: %s", self.name, tp, exc)
        out = self._outs.get(tp)
        if out is not None:  # a finished partition no longer holds back event time
            out.watermark = MAX_WATERMARK
            self._combine()

    def _error(self, msg: Any, err: Any) -> None:
        code = err.code()
        if code == self._ck.KafkaError._PARTITION_EOF:
            tp, offset = (msg.topic(), msg.partition()), msg.offset()
            if tp in self.positions and offset > self.positions[tp]:
                self.positions[tp] = offset  # past control records (transaction markers)
            if tp in self.stops and offset >= self.stops[tp]:
                self._finish(tp)
            return
        if err.fatal():
            raise KafkaConnectorError(f"source '{self.name}': fatal Kafka error from "
                                      f"{self.source.bootstrap_servers!r}: {err}")
        # transient (a broker restarting, a topic being created): librdkafka retries by itself
        _LOG.warning("source '%s': Kafka reports %s (retrying)", self.name, err)

    def _dead_letter(self, msg: Any, tp: tuple[str, int], offset: int, exc: Exception) -> None:
        self.errors += 1
        reason = f"{type(exc).__name__}: {exc}"
        policy = self.source.dead_letter_policy
        where = f"topic {tp[0]!r}, partition {tp[1]}, offset {offset}"
        if policy is DeadLetterPolicy.FAIL:
            raise UserFunctionError(
                f"source '{self.name}': the deserializer rejected the record at {where}: {reason}; "
                "hint: fix the producer, or set_dead_letter_policy(DeadLetterPolicy.SIDE_OUTPUT) "
                "to route such records to KafkaSource.DEAD_LETTER", operator=self.name) from exc
        if self.errors <= 10 or self.errors % 1000 == 0:
            _LOG.warning("source '%s': record at %s rejected by the deserializer (%s); %s "
                         "(%d so far)", self.name, where, reason,
                         "sent to the dead-letter side output" if policy is
                         DeadLetterPolicy.SIDE_OUTPUT else "skipped", self.errors)
        if policy is DeadLetterPolicy.SIDE_OUTPUT:
            kind, ts = msg.timestamp()
            letter = DeadLetter(tp[0], tp[1], offset, ts if kind else None, msg.key(),
                                msg.value(), reason)
            self.output.collect_side(DEAD_LETTER.tag_id, letter, ts if kind else None)

    # -- watermarks ------------------------------------------------------------------------------
    def _on_periodic(self, _time: int) -> None:
        # every partition's periodic update first, then one combination (Flink's multiplexer
        # defers periodic updates the same way): the order partitions are visited in must not
        # matter, e.g. when two of them turn idle in the same period
        self._deferred = True
        try:
            for tp, gen in self._gens.items():
                if tp not in self.finished:
                    try:
                        gen.on_periodic_emit(self._outs[tp])
                    except StromError:
                        raise
                    except Exception as exc:
                        raise self.fail(exc, None, "periodic watermark emission of") from exc
        finally:
            self._deferred = False
        self._combine()
        pts = self.info.processing_time
        pts.register(pts.now() + self._wm_interval, self._on_periodic)

    def _combine(self) -> None:
        """Emit the minimum watermark over active partitions; idle when all are idle."""
        outs = self._outs
        if not outs or self._deferred:
            return
        active = [o.watermark for o in outs.values() if not o.idle]
        if not active:
            self._set_idle(True)
            return
        if self._idle:
            self._set_idle(False)
        wm = min(active)
        if wm > self._emitted_wm and wm != MAX_WATERMARK:
            self._emitted_wm = wm
            self.current_watermark = wm
            self.output.emit_watermark(wm)

    def _set_idle(self, idle: bool) -> None:
        if idle != self._idle:
            self._idle = idle
            self.output.emit_status(idle)

    # -- checkpoints -----------------------------------------------------------------------------
    def snapshot_state(self) -> dict:
        entries = [(t, p, offset, self.stops.get((t, p))) for (t, p), offset in self.positions.items()]
        self._state.update(entries)
        return {}

    def snapshot_operator(self, checkpoint_id: int, timestamp: int) -> dict:
        state = super().snapshot_operator(checkpoint_id, timestamp)
        if self.source.commit_offsets and self._group is not None:
            self._pending_commits[checkpoint_id] = {tp: o for tp, o in self.positions.items() if o >= 0}
        return state

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Commit the offsets of that checkpoint to the consumer group (monitoring only)."""
        done = [cid for cid in self._pending_commits if cid <= checkpoint_id]
        if not done or self.consumer is None:
            return
        offsets = self._pending_commits[max(done)]
        for cid in done:
            del self._pending_commits[cid]
        if not offsets:
            return
        ck = self._ck
        try:
            self.consumer.commit(offsets=[ck.TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                 asynchronous=True)
        except Exception as exc:  # monitoring only: never fails the job
            _LOG.warning("source '%s': committing offsets of checkpoint %d to group %r failed: %s",
                         self.name, checkpoint_id, self._group, exc)
