"""PyFlink's BroadcastStream and BroadcastConnectedStream: the broadcast state pattern.

``rules.broadcast(descriptor)`` sends every rule to every parallel subtask of the operator it is
connected to; ``events.connect(broadcast_stream).process(fn)`` runs a
:class:`~strom.api.functions.BroadcastProcessFunction` (or, when ``events`` is a KeyedStream, a
:class:`~strom.api.functions.KeyedBroadcastProcessFunction`). Each subtask stores the rules in
its own copy of the broadcast state, written only by ``process_broadcast_element`` and read by
``process_element``.

Example:
    >>> env = StreamExecutionEnvironment.get_execution_environment()  # doctest: +SKIP
    >>> rules_desc = MapStateDescriptor("rules", Types.STRING(), Types.INT())  # doctest: +SKIP
    >>> class Threshold(KeyedBroadcastProcessFunction):  # doctest: +SKIP
    ...     def process_element(self, value, ctx):
    ...         limit = ctx.get_broadcast_state(rules_desc).get("limit")
    ...         if limit is not None and value[1] > limit:
    ...             yield value
    ...     def process_broadcast_element(self, value, ctx):
    ...         ctx.get_broadcast_state(rules_desc).put(value[0], value[1])
    >>> alerts = (readings.key_by(lambda r: r[0])  # doctest: +SKIP
    ...           .connect(rules.broadcast(rules_desc))
    ...           .process(Threshold(), output_type=Types.TUPLE([Types.STRING(), Types.INT()])))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strom.api._functions import fresh, require_methods
from strom.errors import JobDefinitionError, describe
from strom.graph.transformations import Kind
from strom.runtime.operators.broadcast import (
    BroadcastProcessOperator,
    BroadcastState,
    ReadOnlyBroadcastState,
)
from strom.state import MapStateDescriptor

if TYPE_CHECKING:
    from strom.api.datastream import DataStream
    from strom.api.environment import StreamExecutionEnvironment
    from strom.api.typeinfo import TypeInformation

__all__ = ["BroadcastConnectedStream", "BroadcastState", "BroadcastStream", "ReadOnlyBroadcastState"]


class BroadcastStream:
    """A stream whose records go to every subtask, with the broadcast states they may fill.

    Returned by ``DataStream.broadcast(descriptor, ...)``; it has no transformations of its own:
    connect it to a DataStream or KeyedStream with ``connect``.
    """

    def __init__(self, input_stream: DataStream,
                 broadcast_state_descriptors: tuple[Any, ...] | list[Any]) -> None:
        names: set[str] = set()
        for d in broadcast_state_descriptors:
            if not isinstance(d, MapStateDescriptor):
                msg = (f"broadcast: expected MapStateDescriptors (broadcast state is a map), got "
                       f"{describe(d)} ({type(d).__name__}). Hint: "
                       "broadcast(MapStateDescriptor('rules', Types.STRING(), Types.STRING())).")
                raise JobDefinitionError(msg)
            if d.name in names:
                msg = (f"broadcast: the broadcast state '{d.name}' is declared twice. Hint: give "
                       "each MapStateDescriptor its own name.")
                raise JobDefinitionError(msg)
            names.add(d.name)
        self._stream = input_stream  # the stream with the broadcast partitioning
        self._descriptors = tuple(broadcast_state_descriptors)

    def get_broadcast_state_descriptors(self) -> list[MapStateDescriptor]:
        return list(self._descriptors)

    def get_execution_environment(self) -> StreamExecutionEnvironment:
        return self._stream.get_execution_environment()

    def get_type(self) -> TypeInformation:
        return self._stream.get_type()


class BroadcastConnectedStream:
    """A DataStream or KeyedStream connected to a :class:`BroadcastStream` (PyFlink's names).

    ``process`` runs the function on every subtask of the non-broadcast side's operator, with
    input 1 the non-broadcast stream and input 2 the broadcast stream.
    """

    def __init__(self, non_broadcast_stream: DataStream, broadcast_stream: BroadcastStream) -> None:
        self.non_broadcast_stream = non_broadcast_stream
        self.broadcast_stream = broadcast_stream
        self.broadcast_state_descriptors = broadcast_stream.get_broadcast_state_descriptors()

    def get_first_input(self) -> DataStream:
        return self.non_broadcast_stream

    def get_second_input(self) -> BroadcastStream:
        return self.broadcast_stream

    def get_type1(self) -> TypeInformation:
        return self.non_broadcast_stream.get_type()

    def get_type2(self) -> TypeInformation:
        return self.broadcast_stream.get_type()

    def get_execution_environment(self) -> StreamExecutionEnvironment:
        return self.non_broadcast_stream.get_execution_environment()

    def process(self, func: Any, output_type: TypeInformation | None = None) -> DataStream:
        """Apply a (Keyed)BroadcastProcessFunction to both inputs.

        Args:
            func: a ``BroadcastProcessFunction`` when the non-broadcast side is a DataStream, a
                ``KeyedBroadcastProcessFunction`` when it is a KeyedStream (any object with
                ``process_element`` and ``process_broadcast_element`` is accepted).
            output_type: the type of the main output's records, validated when given.

        Raises:
            JobDefinitionError: the function lacks a method, or its kind does not match the
                non-broadcast side (keyed vs. not keyed).
        """
        from strom.api.functions import BroadcastProcessFunction, KeyedBroadcastProcessFunction

        stream = self.non_broadcast_stream
        ks = stream._key_selector()
        base = "KeyedBroadcastProcessFunction" if ks is not None else "BroadcastProcessFunction"
        require_methods(func, ("process_element", "process_broadcast_element"),
                        "BroadcastConnectedStream.process", base)
        if ks is not None and isinstance(func, BroadcastProcessFunction):
            msg = ("BroadcastConnectedStream.process: a BroadcastProcessFunction needs a non-keyed "
                   "stream, but the non-broadcast side is a KeyedStream. Hint: use a "
                   "KeyedBroadcastProcessFunction, or connect before key_by(...).")
            raise JobDefinitionError(msg)
        if ks is None and isinstance(func, KeyedBroadcastProcessFunction):
            msg = ("BroadcastConnectedStream.process: a KeyedBroadcastProcessFunction needs a "
                   "KeyedStream, but the non-broadcast side is not keyed. Hint: key_by(...) it "
                   "before connect, or use a BroadcastProcessFunction.")
            raise JobDefinitionError(msg)
        name = "Co-Process-Broadcast-Keyed" if ks is not None else "Co-Process-Broadcast"
        descriptors = tuple(self.broadcast_state_descriptors)

        def factory() -> BroadcastProcessOperator:
            return BroadcastProcessOperator(name, fresh(func), descriptors, ks)

        return stream._udf(Kind.TWO_INPUT, name, factory, output_type,
                           inputs=(stream._id, self.broadcast_stream._stream._id))
