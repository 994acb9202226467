"""PyFlink's user-function base classes (``pyflink.datastream.functions``).

Subclass them, or pass plain callables where PyFlink accepts them (map, flat_map, filter,
key_by, reduce). Emit from ``process_element``/``on_timer``/``flat_map`` by ``yield``-ing or
returning an iterable; ``yield output_tag, value`` goes to a side output. The Java-style
``ctx.collect(value)``, ``out.collect(value)`` and ``ctx.output(tag, value)`` work too.

Example:
    >>> class Count(KeyedProcessFunction):
    ...     def open(self, runtime_context):
    ...         self.n = runtime_context.get_state(ValueStateDescriptor("n", Types.LONG()))
    ...     def process_element(self, value, ctx):
    ...         self.n.update((self.n.value() or 0) + 1)
    ...         yield ctx.get_current_key(), self.n.value()
"""
from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

from strom.runtime.context import StreamingRuntimeContext as RuntimeContext
from strom.runtime.operators.process import TimeDomain, TimerService
from strom.window.functions import (
    AllWindowFunction,
    ProcessAllWindowFunction,
    ProcessWindowFunction,
    WindowFunction,
)

IN = TypeVar("IN")
IN1 = TypeVar("IN1")
IN2 = TypeVar("IN2")
OUT = TypeVar("OUT")
ACC = TypeVar("ACC")
KEY = TypeVar("KEY")
T = TypeVar("T")


class Function(abc.ABC):  # noqa: B024 - PyFlink's base has only optional hooks
    """Base of all user functions: optional ``open(runtime_context)`` and ``close()``."""

    def open(self, runtime_context: RuntimeContext) -> None:  # noqa: B027
        """Called once per subtask before the first element."""

    def close(self) -> None:  # noqa: B027
        """Called once per subtask at the end, also after a failure."""


# The window functions live in strom.window, which must not import the api; they are user
# functions all the same (PyFlink's inherit Function), so they count as Functions here.
for _window_function in (WindowFunction, AllWindowFunction, ProcessWindowFunction,
                         ProcessAllWindowFunction):
    Function.register(_window_function)
del _window_function


class MapFunction(Function, Generic[IN, OUT]):
    @abc.abstractmethod
    def map(self, value: Any) -> Any: ...


class FlatMapFunction(Function, Generic[IN, OUT]):
    @abc.abstractmethod
    def flat_map(self, value: Any) -> Any:
        """Yield or return the outputs (or, Java style, take an ``out`` collector)."""


class FilterFunction(Function, Generic[T]):
    @abc.abstractmethod
    def filter(self, value: Any) -> bool: ...


class ReduceFunction(Function, Generic[T]):
    @abc.abstractmethod
    def reduce(self, value1: Any, value2: Any) -> Any: ...


class AggregateFunction(Function, Generic[IN, ACC, OUT]):
    """Incremental aggregation: accumulator in, result out."""

    @abc.abstractmethod
    def create_accumulator(self) -> Any: ...

    @abc.abstractmethod
    def add(self, value: Any, accumulator: Any) -> Any: ...

    @abc.abstractmethod
    def get_result(self, accumulator: Any) -> Any: ...

    def merge(self, acc_a: Any, acc_b: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.merge is needed for merging windows")


class KeySelector(Function, Generic[IN, KEY]):
    @abc.abstractmethod
    def get_key(self, value: Any) -> Any: ...


class NullByteKeySelector(KeySelector[IN, int]):
    """Puts every element under one key (used by non-keyed windows)."""

    def get_key(self, value: Any) -> int:
        return 0


class Partitioner(Function, Generic[KEY]):
    """``partition_custom``: which of ``num_partitions`` partitions a key goes to."""

    @abc.abstractmethod
    def partition(self, key: Any, num_partitions: int) -> int: ...


class CoMapFunction(Function, Generic[IN1, IN2, OUT]):
    @abc.abstractmethod
    def map1(self, value: Any) -> Any: ...

    @abc.abstractmethod
    def map2(self, value: Any) -> Any: ...


class CoFlatMapFunction(Function, Generic[IN1, IN2, OUT]):
    @abc.abstractmethod
    def flat_map1(self, value: Any) -> Any: ...

    @abc.abstractmethod
    def flat_map2(self, value: Any) -> Any: ...


class ProcessFunction(Function, Generic[IN, OUT]):
    """Per-element processing with access to the timestamp and side outputs."""

    class Context(abc.ABC):
        @abc.abstractmethod
        def timer_service(self) -> TimerService: ...

        @abc.abstractmethod
        def timestamp(self) -> int | None: ...

    @abc.abstractmethod
    def process_element(self, value: Any, ctx: ProcessFunction.Context) -> Any: ...


class KeyedProcessFunction(Function, Generic[KEY, IN, OUT]):
    """Per-element processing on a keyed stream, with keyed state and timers."""

    class Context(abc.ABC):
        @abc.abstractmethod
        def timer_service(self) -> TimerService: ...

        @abc.abstractmethod
        def timestamp(self) -> int | None: ...

        @abc.abstractmethod
        def get_current_key(self) -> Any: ...

    class OnTimerContext(Context):
        @abc.abstractmethod
        def time_domain(self) -> int: ...

    @abc.abstractmethod
    def process_element(self, value: Any, ctx: KeyedProcessFunction.Context) -> Any: ...

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Any:
        """Called when a registered timer fires; may yield outputs."""


class CoProcessFunction(Function, Generic[IN1, IN2, OUT]):
    """Per-element processing of two connected inputs, with timestamps and side outputs."""

    class Context(abc.ABC):
        @abc.abstractmethod
        def timer_service(self) -> TimerService: ...

        @abc.abstractmethod
        def timestamp(self) -> int | None: ...

    @abc.abstractmethod
    def process_element1(self, value: Any, ctx: Any) -> Any: ...

    @abc.abstractmethod
    def process_element2(self, value: Any, ctx: Any) -> Any: ...


class KeyedCoProcessFunction(Function, Generic[KEY, IN1, IN2, OUT]):
    """Per-element processing of two connected keyed inputs, with keyed state and timers."""

    class Context(abc.ABC):
        @abc.abstractmethod
        def get_current_key(self) -> Any: ...

        @abc.abstractmethod
        def timer_service(self) -> TimerService: ...

        @abc.abstractmethod
        def timestamp(self) -> int | None: ...

    class OnTimerContext(Context):
        @abc.abstractmethod
        def time_domain(self) -> int: ...

    @abc.abstractmethod
    def process_element1(self, value: Any, ctx: Any) -> Any: ...

    @abc.abstractmethod
    def process_element2(self, value: Any, ctx: Any) -> Any: ...

    def on_timer(self, timestamp: int, ctx: Any) -> Any:
        """Called when a registered timer fires; may yield outputs."""


class BaseBroadcastProcessFunction(Function):
    """Base of BroadcastProcessFunction and KeyedBroadcastProcessFunction (the broadcast state pattern).

    Runs on every subtask of ``stream.connect(other.broadcast(descriptor))``. Each subtask has its
    own copy of the broadcast state: ``process_broadcast_element`` (called for every broadcast
    record, on every subtask) may write it and must apply the same updates everywhere;
    ``process_element`` only reads it. Neither is called concurrently with the other.
    """

    class BaseContext(abc.ABC):
        """What both sides' contexts offer; valid only during the call."""

        @abc.abstractmethod
        def timestamp(self) -> int | None:
            """The current element's timestamp (or the firing timer's), None if it has none."""

        @abc.abstractmethod
        def current_processing_time(self) -> int: ...

        @abc.abstractmethod
        def current_watermark(self) -> int:
            """The operator's watermark: the minimum over both inputs."""

    class Context(BaseContext):
        """The broadcast side's context: read/write access to the broadcast state."""

        @abc.abstractmethod
        def get_broadcast_state(self, state_descriptor: Any) -> Any:
            """The ``BroadcastState`` of a MapStateDescriptor given to ``broadcast(...)``."""

    class ReadOnlyContext(BaseContext):
        """The non-broadcast side's context: read-only access to the broadcast state."""

        @abc.abstractmethod
        def get_broadcast_state(self, state_descriptor: Any) -> Any:
            """A ``ReadOnlyBroadcastState``: its put/remove/clear raise StateAccessError."""


class BroadcastProcessFunction(BaseBroadcastProcessFunction, Generic[IN1, IN2, OUT]):
    """Applied to a non-keyed DataStream connected to a BroadcastStream.

    Example:
        >>> DESC = MapStateDescriptor("prefixes", Types.STRING(), Types.STRING())
        >>> class Tag(BroadcastProcessFunction):
        ...     def process_element(self, value, ctx):
        ...         yield ctx.get_broadcast_state(DESC).get("prefix"), value
        ...     def process_broadcast_element(self, value, ctx):
        ...         ctx.get_broadcast_state(DESC).put("prefix", value)
    """

    class Context(BaseBroadcastProcessFunction.Context, abc.ABC):
        pass

    class ReadOnlyContext(BaseBroadcastProcessFunction.ReadOnlyContext, abc.ABC):
        pass

    @abc.abstractmethod
    def process_element(self, value: Any, ctx: BroadcastProcessFunction.ReadOnlyContext) -> Any:
        """Called for each non-broadcast element; may yield outputs (``yield tag, v`` for side outputs)."""

    @abc.abstractmethod
    def process_broadcast_element(self, value: Any, ctx: BroadcastProcessFunction.Context) -> Any:
        """Called for each broadcast element on every subtask; may update the broadcast state."""


class KeyedBroadcastProcessFunction(BaseBroadcastProcessFunction, Generic[KEY, IN1, IN2, OUT]):
    """Applied to a KeyedStream connected to a BroadcastStream: adds keyed state and timers.

    ``process_element`` and ``on_timer`` run with the element's (timer's) key current;
    ``process_broadcast_element`` has no current key and reaches keyed state only through
    ``ctx.apply_to_keyed_state(descriptor, function(key, state))``.
    """

    class Context(BaseBroadcastProcessFunction.Context, abc.ABC):
        @abc.abstractmethod
        def apply_to_keyed_state(self, state_descriptor: Any, function: Any) -> None:
            """Call ``function(key, state)`` for every key of this subtask with that state."""

    class ReadOnlyContext(BaseBroadcastProcessFunction.ReadOnlyContext, abc.ABC):
        @abc.abstractmethod
        def timer_service(self) -> TimerService: ...

        @abc.abstractmethod
        def get_current_key(self) -> Any: ...

    class OnTimerContext(ReadOnlyContext, abc.ABC):
        @abc.abstractmethod
        def time_domain(self) -> int: ...

    @abc.abstractmethod
    def process_element(self, value: Any, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext) -> Any:
        """Called for each keyed element; keyed state, timers, read-only broadcast state."""

    @abc.abstractmethod
    def process_broadcast_element(self, value: Any, ctx: KeyedBroadcastProcessFunction.Context) -> Any:
        """Called for each broadcast element on every subtask; may update the broadcast state."""

    def on_timer(self, timestamp: int, ctx: KeyedBroadcastProcessFunction.OnTimerContext) -> Any:
        """Called when a registered timer fires; may yield outputs."""


class SinkFunction(Function, Generic[IN]):
    """A Python sink: ``invoke(value, context)`` per record (PyFlink only has Java sinks)."""

    @abc.abstractmethod
    def invoke(self, value: Any, context: Any) -> None: ...


class SourceFunction(Function, Generic[OUT]):
    """A push source (the article's and Java's style): ``run(ctx)`` emits with ``ctx.collect``.

    ``run`` executes on its own thread; ``cancel`` is called (from another thread) to stop it.
    """

    @abc.abstractmethod
    def run(self, ctx: Any) -> None: ...

    def cancel(self) -> None:  # noqa: B027
        """Ask ``run`` to return."""


__all__ = [
    "AggregateFunction", "BaseBroadcastProcessFunction", "BroadcastProcessFunction",
    "KeyedBroadcastProcessFunction", "CoFlatMapFunction", "CoMapFunction", "CoProcessFunction",
    "FilterFunction", "FlatMapFunction", "Function", "KeySelector", "KeyedCoProcessFunction",
    "KeyedProcessFunction", "MapFunction", "NullByteKeySelector", "Partitioner", "ProcessFunction",
    "ReduceFunction", "RuntimeContext", "SinkFunction", "SourceFunction", "TimeDomain", "TimerService",
]
