"""PyFlink's DataStream, KeyedStream, ConnectedStreams and friends: builders of the logical plan.

Every method appends a :class:`~strom.graph.transformations.Transformation` to the
environment and returns a new stream; nothing runs until ``env.execute()``.

Example:
    >>> env = StreamExecutionEnvironment.get_execution_environment()
    >>> env.from_collection([1, 2, 3]).map(lambda x: x * 2).print()  # doctest: +SKIP
    >>> env.execute("doubled")  # doctest: +SKIP
"""
from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

from strom.api._functions import fresh, positional_arity, require_methods, resolve
from strom.api.aggregations import aggregation
from strom.api.broadcast import BroadcastConnectedStream, BroadcastStream
from strom.api.collect import CloseableIterator, CollectedFailure
from strom.api.java_strings import java_string
from strom.api.projection import Projection
from strom.api.row import Row
from strom.api.sinks import preprocessed
from strom.api.slot_sharing_group import group_name
from strom.api.typeinfo import (
    PickledBytesTypeInfo,
    RowTypeInfo,
    TupleTypeInfo,
    TypeInformation,
)
from strom.api.types import Types
from strom.errors import (
    InvalidTypeError,
    JobDefinitionError,
    UnsupportedError,
    describe,
)
from strom.graph import partitioners as P
from strom.graph.transformations import Chaining, Kind, Transformation
from strom.runtime import results as result_targets
from strom.runtime.elements import OutputTag
from strom.runtime.keys import accepting_lists, field_selector
from strom.runtime.operators.co import CoMapOperator, CoProcessOperator
from strom.runtime.operators.process import ProcessOperator
from strom.runtime.operators.reduce import ReduceOperator
from strom.runtime.operators.sinks import CollectSinkOperator, PrintSinkOperator, SinkOperator
from strom.runtime.operators.stateless import FilterOperator, FlatMapOperator, MapOperator

if TYPE_CHECKING:
    from strom.api.environment import StreamExecutionEnvironment


def _check_type(type_info: Any, where: str) -> Any:
    if type_info is not None and not isinstance(type_info, TypeInformation):
        msg = (f"{where}: output_type must be a TypeInformation (e.g. Types.INT()), got "
               f"{describe(type_info)} ({type(type_info).__name__})")
        raise InvalidTypeError(msg)
    return type_info


def key_selector_of(key_selector: Any, where: str) -> Callable[[Any], Any]:
    """A KeySelector object or a callable, as a plain ``value -> key`` callable (``lambda v: v[i]``
    becomes the equivalent ``itemgetter(i)``, see :mod:`strom.runtime.keys`)."""
    return accepting_lists(field_selector(resolve(key_selector, "get_key", where, "KeySelector")))


class DataStream:
    """A stream of records of one type, and the operations that derive new streams from it."""

    def __init__(self, env: StreamExecutionEnvironment, transformation_id: int) -> None:
        self._env = env
        self._id = transformation_id

    @property
    def _t(self) -> Transformation:
        return self._env._transformation(self._id)

    def _derive(self, kind: Kind, name: str, factory: Callable[[], Any] | None = None,
                output_type: Any = None, inputs: tuple[int, ...] | None = None,
                cls: type | None = None, **fields: Any) -> Any:
        tid = self._env._add(kind, name, inputs if inputs is not None else (self._id,),
                             operator_factory=factory, output_type=output_type, **fields)
        return (cls or DataStream)(self._env, tid)

    def _one_input(self, name: str, factory: Callable[[], Any], output_type: Any = None,
                   **fields: Any) -> DataStream:
        return self._derive(Kind.ONE_INPUT, name, factory, _check_type(output_type, name), **fields)

    def _udf(self, kind: Kind, name: str, factory: Callable[[], Any], output_type: Any,
             inputs: tuple[int, ...] | None = None) -> DataStream:
        """An operator whose records are validated against a user-declared ``output_type``."""
        output_type = _check_type(output_type, name)
        check = output_type is not None and not isinstance(output_type, PickledBytesTypeInfo)
        return self._derive(kind, name, factory, output_type, inputs=inputs, check_output=check)

    # -- properties (PyFlink names) --
    def get_name(self) -> str:
        return self._t.name

    def name(self, name: str) -> DataStream:
        """Set the operator's name (shown in the job graph and in error messages)."""
        self._env._update(self._id, name=name)
        return self

    def uid(self, uid: str) -> DataStream:
        """A stable id for the operator, used to match state on restore."""
        self._env._update(self._id, uid=uid)
        return self

    def set_uid_hash(self, uid_hash: str) -> DataStream:
        """The id that matches the operator's state on restore (strom's operator id is its
        uid, so this is ``uid(uid_hash)``)."""
        return self.uid(uid_hash)

    def get_execution_config(self) -> Any:
        """The environment's ``ExecutionConfig``."""
        return self._env.get_config()

    def cache(self) -> DataStream:
        """Flink keeps a batch job's intermediate result for later jobs; strom keeps no results
        between jobs (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError(
            f"operator '{self._t.name}': cache(): strom keeps no intermediate results between "
            "jobs; hint: write the stream with a FileSink and read it back in the next job, or "
            "build both uses into one job")

    def set_description(self, description: str) -> DataStream:
        self._env._update(self._id, description=description)
        return self

    def get_type(self) -> TypeInformation:
        return self._t.output_type or PickledBytesTypeInfo()

    def get_execution_environment(self) -> StreamExecutionEnvironment:
        return self._env

    def set_parallelism(self, parallelism: int) -> DataStream:
        if not isinstance(parallelism, int) or parallelism < 1:
            raise JobDefinitionError(
                f"operator '{self._t.name}': parallelism must be an int >= 1, got {parallelism!r}")
        if not self._t.kind.physical:
            raise JobDefinitionError(
                f"'{self._t.name}' is not an operator; set the parallelism on the operator after it")
        if self._t.non_parallel and parallelism != 1:
            raise JobDefinitionError(
                f"operator '{self._t.name}': the parallelism of a non-parallel source must be 1, "
                f"got {parallelism}. Hint: rebalance() after it, or use a parallel source.")
        self._env._update(self._id, parallelism=parallelism)
        return self

    def set_max_parallelism(self, max_parallelism: int) -> DataStream:
        self._env._update(self._id, max_parallelism=max_parallelism)
        return self

    def force_non_parallel(self) -> DataStream:
        self._env._update(self._id, parallelism=1, non_parallel=True)
        return self

    def set_buffer_timeout(self, timeout_millis: int) -> DataStream:
        """How long (ms) this operator's output may wait in a buffer before it is handed on:
        0 flushes after every record, -1 only when the buffer is full; unset, the job's
        ``env.set_buffer_timeout`` applies. Operators chained into one task share the smallest
        bound set on any of them."""
        if not isinstance(timeout_millis, int) or isinstance(timeout_millis, bool) \
                or timeout_millis < -1:
            raise JobDefinitionError(f"operator '{self._t.name}': set_buffer_timeout expects an "
                                     f"int >= -1 (ms) but got {describe(timeout_millis)}")
        self._env._update(self._id, buffer_timeout=timeout_millis)
        return self

    def start_new_chain(self) -> DataStream:
        self._env._update(self._id, chaining=Chaining.HEAD)
        return self

    def disable_chaining(self) -> DataStream:
        self._env._update(self._id, chaining=Chaining.NEVER)
        return self

    def slot_sharing_group(self, slot_sharing_group: Any) -> DataStream:
        """Put this operator in a slot sharing group (a name or a ``SlotSharingGroup``):
        operators of different groups are not chained and do not share slots."""
        name = group_name(slot_sharing_group, f"operator '{self._t.name}': slot_sharing_group")
        self._env._update(self._id, slot_sharing_group=name)
        return self

    # -- transformations --
    def map(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        """One output per element: ``func(value)``."""
        resolve(func, "map", "map", "MapFunction")
        ks = self._key_selector()

        def factory() -> MapOperator:
            f = fresh(func)
            return MapOperator("Map", f, resolve(f, "map", "map", "MapFunction"), ks)

        return self._udf(Kind.ONE_INPUT, "Map", factory, output_type)

    def project(self, *field_indexes: int) -> DataStream:
        """Keep the fields at ``field_indexes`` (in that order) of each tuple or Row element
        (PyFlink's ``project``; Java names the operator "Projection"). A declared TUPLE or ROW
        type becomes the projected type; Rows keep their field names."""
        if not field_indexes or not all(type(i) is int and i >= 0 for i in field_indexes):
            msg = (f"project: expected one or more field indexes (ints >= 0), got "
                   f"{describe(field_indexes)}. Hint: ds.project(0, 2)")
            raise JobDefinitionError(msg)
        indexes = tuple(field_indexes)
        in_type = self._t.output_type
        out_type = None
        if isinstance(in_type, (TupleTypeInfo, RowTypeInfo)):
            types = in_type.get_field_types()
            bad = [i for i in indexes if i >= len(types)]
            if bad:
                msg = (f"project: field index {bad[0]} is out of range for {in_type!r} "
                       f"({len(types)} fields)")
                raise JobDefinitionError(msg)
            picked = [types[i] for i in indexes]
            if isinstance(in_type, RowTypeInfo):
                names = in_type.get_field_names()
                out_type = Types.ROW_NAMED([names[i] for i in indexes], picked)
            else:
                out_type = Types.TUPLE(picked)
        return self.map(Projection(indexes), output_type=out_type).name("Projection")

    def flat_map(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        """Zero or more outputs per element: ``func(value)`` yields or returns them."""
        collector = positional_arity(resolve(func, "flat_map", "flat_map", "FlatMapFunction")) == 2
        ks = self._key_selector()

        def factory() -> FlatMapOperator:
            f = fresh(func)
            fn = resolve(f, "flat_map", "flat_map", "FlatMapFunction")
            return FlatMapOperator("Flat Map", f, fn, collector, ks)

        return self._udf(Kind.ONE_INPUT, "Flat Map", factory, output_type)

    def filter(self, func: Any) -> DataStream:
        """Keep the elements for which ``func(value)`` is true."""
        resolve(func, "filter", "filter", "FilterFunction")
        ks = self._key_selector()

        def factory() -> FilterOperator:
            f = fresh(func)
            return FilterOperator("Filter", f, resolve(f, "filter", "filter", "FilterFunction"), ks)

        return self._one_input("Filter", factory, self._t.output_type)

    def process(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        """Run a ProcessFunction on every element."""
        require_methods(func, ("process_element",), "process", "ProcessFunction")
        return self._udf(Kind.ONE_INPUT, "Process", lambda: ProcessOperator("Process", fresh(func)), output_type)

    def key_by(self, key_selector: Any, key_type: TypeInformation | None = None) -> KeyedStream:
        """Partition by key: records with equal keys go to the same subtask and share keyed state."""
        ks = key_selector_of(key_selector, "key_by")
        tid = self._env._add(Kind.PARTITION, "Keyed", (self._id,),
                             partitioner=P.KeyGroups(key_selector=ks), output_type=self._t.output_type)
        return KeyedStream(self._env, tid, ks, self)

    def union(self, *streams: DataStream) -> DataStream:
        """Merge streams of the same type."""
        for s in streams:
            if not isinstance(s, DataStream):
                raise JobDefinitionError(f"union: expected DataStreams, got {describe(s)}")
        ids = (self._id,) + tuple(s._id for s in streams)
        return self._derive(Kind.UNION, "Union", inputs=ids, output_type=self._t.output_type)

    def connect(self, ds: DataStream | BroadcastStream) -> ConnectedStreams | BroadcastConnectedStream:
        """Pair with another stream for a CoMap/CoFlatMap/CoProcess function, or with a
        BroadcastStream for a (Keyed)BroadcastProcessFunction."""
        if isinstance(ds, BroadcastStream):
            return BroadcastConnectedStream(self, ds)
        if not isinstance(ds, DataStream):
            raise JobDefinitionError(f"connect: expected a DataStream or a BroadcastStream, got {describe(ds)}")
        if isinstance(self, KeyedStream) and isinstance(ds, KeyedStream):
            return ConnectedStreams(self, ds, (self._ks, ds._ks))
        return ConnectedStreams(self, ds)

    def get_side_output(self, output_tag: OutputTag) -> DataStream:
        """The records this operator emitted to ``output_tag``."""
        if not isinstance(output_tag, OutputTag):
            raise JobDefinitionError(f"get_side_output: expected an OutputTag, got {describe(output_tag)}")
        return self._derive(Kind.SIDE_OUTPUT, f"SideOutput({output_tag.tag_id})", tag=output_tag.tag_id,
                            output_type=output_tag.type_info)

    # -- partitioning --
    def _partition(self, partitioner: P.Partitioner) -> DataStream:
        return self._derive(Kind.PARTITION, partitioner.name, partitioner=partitioner,
                            output_type=self._t.output_type)

    def forward(self) -> DataStream:
        return self._partition(P.Forward())

    def rebalance(self) -> DataStream:
        return self._partition(P.Rebalance())

    def rescale(self) -> DataStream:
        return self._partition(P.Rescale())

    def shuffle(self) -> DataStream:
        return self._partition(P.Shuffle(seed=self._id))

    def broadcast(self, broadcast_state_descriptor: Any = None,
                  *other_broadcast_state_descriptors: Any) -> DataStream | BroadcastStream:
        """Send every record to every subtask downstream.

        Without descriptors: a DataStream with broadcast partitioning. With MapStateDescriptors:
        a BroadcastStream to ``connect`` to, for the broadcast state pattern.
        """
        if broadcast_state_descriptor is None and other_broadcast_state_descriptors:
            raise JobDefinitionError("broadcast: the first broadcast state descriptor is None")
        partitioned = self._partition(P.Broadcast())
        if broadcast_state_descriptor is None:
            return partitioned
        return BroadcastStream(partitioned, (broadcast_state_descriptor, *other_broadcast_state_descriptors))

    def global_(self) -> DataStream:
        return self._partition(P.Global())

    def partition_custom(self, partitioner: Any, key_selector: Any) -> DataStream:
        part = resolve(partitioner, "partition", "partition_custom", "Partitioner")
        ks = key_selector_of(key_selector, "partition_custom")
        return self._partition(P.Custom(partition=part, key_selector=ks))

    # -- sinks --
    def print(self, sink_identifier: str | None = None) -> DataStreamSink:
        """Write each record to stdout, as Flink's print sink does (prefix rules included)."""
        type_info = self._t.output_type
        formatter = lambda v: java_string(v, type_info)  # noqa: E731
        tid = self._env._add(Kind.ONE_INPUT, "Sink: Print to Std. Out", (self._id,), is_sink=True,
                             operator_factory=lambda: PrintSinkOperator("Print to Std. Out",
                                                                         sink_identifier, formatter))
        return DataStreamSink(self._env, tid)

    def add_sink(self, sink_func: Any) -> DataStreamSink:
        """A Python ``SinkFunction`` (``invoke(value, context)``) or a connector sink."""
        factory = getattr(sink_func, "create_operator", None)
        if factory is None:
            require_methods(sink_func, ("invoke",), "add_sink", "SinkFunction")
            factory = lambda: SinkOperator("Sink: Unnamed", fresh(sink_func))  # noqa: E731
        name = getattr(sink_func, "sink_name", "Sink: Unnamed")
        tid = self._env._add(Kind.ONE_INPUT, name, (self._id,), is_sink=True, operator_factory=factory)
        return DataStreamSink(self._env, tid)

    def sink_to(self, sink: Any) -> DataStreamSink:
        """A unified-API sink (connectors), or any object ``add_sink`` accepts; a sink that
        supports preprocessing transforms the stream first (strom.api.sinks)."""
        return preprocessed(self, sink).add_sink(sink)

    def execute_and_collect(self, job_execution_name: str | None = None,
                            limit: int | None = None) -> Any:
        """Run the job and return its records: an iterator, or a list of at most ``limit``."""
        results: queue.Queue = queue.Queue(maxsize=10_000)
        done = object()
        # one collecting subtask, as Flink's collect sink: what reaches it from one upstream
        # subtask keeps its order (a union of non-parallel inputs too)
        target = result_targets.register(results.put)
        self._env._add(Kind.ONE_INPUT, "Sink: Collect", (self._id,), is_sink=True, parallelism=1,
                       operator_factory=functools.partial(CollectSinkOperator, "Collect", target))
        try:
            client = self._env.execute_async(job_execution_name or "collect")
        except BaseException:
            result_targets.unregister(target)
            raise

        def finish() -> None:
            try:
                client.wait()
            except BaseException as exc:  # handed to the consumer
                results.put(CollectedFailure(exc))
            finally:
                result_targets.unregister(target)
            results.put(done)

        threading.Thread(target=finish, name="collect-waiter", daemon=True).start()
        iterator = CloseableIterator(results, done, client)
        if limit is None:
            return iterator
        out = []
        with iterator:
            for item in iterator:
                if len(out) >= limit:
                    break
                out.append(item)
        return out

    # -- time (filled in by the time package) --
    def assign_timestamps_and_watermarks(self, watermark_strategy: Any) -> DataStream:
        """Assign event timestamps and generate watermarks (a WatermarkStrategy or legacy extractor)."""
        from strom.api.watermarks import timestamps_and_watermarks_factory

        factory = timestamps_and_watermarks_factory(watermark_strategy, self._env)
        return self._one_input("Timestamps/Watermarks", factory, self._t.output_type)

    def _key_selector(self) -> Any:
        return None

    # -- windows (strom.api.windowing) --
    def window_all(self, window_assigner: Any) -> Any:
        """Window the whole stream (parallelism 1): returns an AllWindowedStream."""
        from strom.api.windowing import AllWindowedStream

        return AllWindowedStream(self, window_assigner)

    def count_window_all(self, size: int, slide: int | None = None) -> Any:
        """Count windows over the whole stream, as Java's ``countWindowAll`` (PyFlink has none):
        tumbling windows of ``size`` elements; with ``slide``, every ``slide`` elements a window
        over the last ``size`` (GlobalWindows + CountEvictor(size) + CountTrigger(slide), so the
        first firings hold fewer than ``size`` elements)."""
        from strom.api.windowing import AllWindowedStream
        from strom.window.assigners import CountTumblingWindowAssigner, GlobalWindows
        from strom.window.evictors import CountEvictor
        from strom.window.triggers import CountTrigger

        if not slide:
            return AllWindowedStream(self, CountTumblingWindowAssigner(size))
        windowed = AllWindowedStream(self, GlobalWindows.create())
        return windowed.evictor(CountEvictor.of(size)).trigger(CountTrigger.of(slide))


class DataStreamSink:
    """The end of a stream (returned by print/add_sink/sink_to)."""

    def __init__(self, env: StreamExecutionEnvironment, transformation_id: int) -> None:
        self._env = env
        self._id = transformation_id

    def name(self, name: str) -> DataStreamSink:
        self._env._update(self._id, name=name)
        return self

    def uid(self, uid: str) -> DataStreamSink:
        self._env._update(self._id, uid=uid)
        return self

    def set_uid_hash(self, uid_hash: str) -> DataStreamSink:
        """As ``DataStream.set_uid_hash``: the id that matches the sink's state on restore."""
        return self.uid(uid_hash)

    def set_parallelism(self, parallelism: int) -> DataStreamSink:
        DataStream.set_parallelism(self, parallelism)  # type: ignore[arg-type]
        return self

    def set_description(self, description: str) -> DataStreamSink:
        self._env._update(self._id, description=description)
        return self

    def disable_chaining(self) -> DataStreamSink:
        self._env._update(self._id, chaining=Chaining.NEVER)
        return self

    def slot_sharing_group(self, slot_sharing_group: Any) -> DataStreamSink:
        DataStream.slot_sharing_group(self, slot_sharing_group)  # type: ignore[arg-type]
        return self

    @property
    def _t(self) -> Transformation:
        return self._env._transformation(self._id)


class KeyedStream(DataStream):
    """A stream partitioned by key; operators on it can use keyed state and timers."""

    class AccumulateType(Enum):
        """The rolling aggregations (PyFlink's names)."""

        MIN = 1
        MAX = 2
        MIN_BY = 3
        MAX_BY = 4
        SUM = 5

    def __init__(self, env: StreamExecutionEnvironment, transformation_id: int,
                 key_selector: Callable[[Any], Any], origin: DataStream) -> None:
        super().__init__(env, transformation_id)
        self._ks = key_selector
        self._origin = origin

    def _key_selector(self) -> Any:
        return self._ks

    def execute_and_collect(self, job_execution_name: str | None = None,
                            limit: int | None = None) -> Any:
        """Run the job and return the keyed stream's records as PyFlink does: ``Row(f0=key,
        f1=value)`` per value (what PyFlink's Java keyed stream carries), partitioned by key into
        the one collecting subtask (so each producing subtask's order is kept)."""
        ks = self._ks
        pairs = self.map(lambda value: Row(f0=ks(value), f1=value)).name("Collect key and value")
        return pairs.set_parallelism(1).execute_and_collect(job_execution_name, limit)

    def process(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        """Run a KeyedProcessFunction: keyed state, timers, side outputs."""
        require_methods(func, ("process_element",), "process", "KeyedProcessFunction")
        ks = self._ks
        return self._udf(Kind.ONE_INPUT, "KeyedProcess",
                         lambda: ProcessOperator("KeyedProcess", fresh(func), ks), output_type)

    def reduce(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        """Rolling reduce: emits the key's running result after every element."""
        resolve(func, "reduce", "reduce", "ReduceFunction")
        ks = self._ks

        def factory() -> ReduceOperator:
            f = fresh(func)
            return ReduceOperator("Keyed Reduce", f, resolve(f, "reduce", "reduce", "ReduceFunction"), ks)

        return self._one_input("Keyed Reduce", factory, output_type or self._t.output_type)

    def _aggregate(self, kind: str, field: int | str) -> DataStream:
        if not isinstance(field, (int, str)) or isinstance(field, bool):
            raise JobDefinitionError(f"{kind}: expected a field position (int) or name (str), got {field!r}")
        fn, ks = aggregation(kind, field), self._ks
        return self._one_input("Keyed Aggregation",
                               lambda: ReduceOperator("Keyed Aggregation", None, fn, ks), self._t.output_type)

    def sum(self, position_to_sum: int | str = 0) -> DataStream:
        return self._aggregate("sum", position_to_sum)

    def min(self, position_to_min: int | str = 0) -> DataStream:
        return self._aggregate("min", position_to_min)

    def max(self, position_to_max: int | str = 0) -> DataStream:
        return self._aggregate("max", position_to_max)

    def min_by(self, position_to_min_by: int | str = 0) -> DataStream:
        return self._aggregate("min_by", position_to_min_by)

    def max_by(self, position_to_max_by: int | str = 0) -> DataStream:
        return self._aggregate("max_by", position_to_max_by)

    def _partition(self, partitioner: P.Partitioner) -> DataStream:
        raise JobDefinitionError(
            f"{partitioner.name.lower()}(): a KeyedStream is already partitioned by key and cannot "
            f"be re-partitioned (as in Flink). Hint: apply an operator after key_by(...) first.")

    def set_parallelism(self, parallelism: int) -> DataStream:
        raise JobDefinitionError("set_parallelism: a KeyedStream is not an operator; set it on the "
                                 "operator that follows key_by(...)")

    def name(self, name: str) -> DataStream:
        raise JobDefinitionError("name: a KeyedStream is not an operator; name the operator after key_by")

    # -- windows (strom.api.windowing) --
    def window(self, window_assigner: Any) -> Any:
        """Window each key's elements: returns a WindowedStream."""
        from strom.api.windowing import WindowedStream

        return WindowedStream(self, window_assigner)

    def count_window(self, size: int, slide: int | None = None) -> Any:
        """Tumbling (or, with ``slide``, sliding) count windows per key, as PyFlink's."""
        from strom.api.windowing import WindowedStream
        from strom.window.assigners import CountSlidingWindowAssigner, CountTumblingWindowAssigner

        assigner = (CountTumblingWindowAssigner(size) if not slide
                    else CountSlidingWindowAssigner(size, slide))
        return WindowedStream(self, assigner)


class ConnectedStreams:
    """Two streams, possibly of different types, processed by one two-input function."""

    def __init__(self, stream1: DataStream, stream2: DataStream,
                 key_selectors: tuple[Any, Any] | None = None) -> None:
        self.stream1, self.stream2 = stream1, stream2
        self._key_selectors = key_selectors

    def key_by(self, key_selector1: Any, key_selector2: Any, key_type: Any = None) -> ConnectedStreams:
        """Key both inputs; equal keys of both inputs meet in the same subtask and state."""
        s1 = self.stream1.key_by(key_selector1)
        s2 = self.stream2.key_by(key_selector2)
        return ConnectedStreams(s1, s2, (s1._ks, s2._ks))

    def _two_input(self, name: str, factory: Callable[[], Any], output_type: Any) -> DataStream:
        return self.stream1._udf(Kind.TWO_INPUT, name, factory, output_type,
                                 inputs=(self.stream1._id, self.stream2._id))

    def map(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        require_methods(func, ("map1", "map2"), "ConnectedStreams.map", "CoMapFunction")
        ks1, ks2 = self._key_selectors or (None, None)
        return self._two_input("Co-Map", lambda: CoMapOperator("Co-Map", fresh(func), False, ks1, ks2),
                               output_type)

    def flat_map(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        require_methods(func, ("flat_map1", "flat_map2"), "ConnectedStreams.flat_map", "CoFlatMapFunction")
        ks1, ks2 = self._key_selectors or (None, None)
        return self._two_input("Co-Flat Map", lambda: CoMapOperator("Co-Flat Map", fresh(func), True, ks1, ks2),
                               output_type)

    def process(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        require_methods(func, ("process_element1", "process_element2"), "ConnectedStreams.process",
                        "CoProcessFunction")
        ks1, ks2 = self._key_selectors or (None, None)
        name = "KeyedCoProcess" if ks1 is not None else "Co-Process"
        return self._two_input(name, lambda: CoProcessOperator(name, fresh(func), ks1, ks2), output_type)
