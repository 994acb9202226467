"""PyFlink's ``WindowedStream`` and ``AllWindowedStream``: windows on a (keyed) stream.

``keyed.window(assigner)`` (or ``count_window``) returns a :class:`WindowedStream`; configure it
with ``trigger``, ``evictor``, ``allowed_lateness`` and ``side_output_late_data``, then finish it
with a window function: ``reduce``/``aggregate`` (incremental, optionally followed by a window
function), ``process``/``apply`` (all elements of the pane), or a field aggregation
``sum``/``min``/``max``/``min_by``/``max_by``. ``data_stream.window_all(...)`` is the same on a
non-keyed stream and runs with parallelism 1.

Example:
    >>> (env.from_collection([("a", 1), ("b", 2), ("a", 3)])
    ...     .key_by(lambda e: e[0])
    ...     .count_window(2)
    ...     .reduce(lambda x, y: (x[0], x[1] + y[1]))
    ...     .print())  # doctest: +SKIP
"""
from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from strom.api._functions import fresh, resolve
from strom.api.aggregations import aggregation
from strom.api.typeinfo import PickledBytesTypeInfo
from strom.errors import JobDefinitionError, describe
from strom.runtime.elements import OutputTag
from strom.runtime.operators.window import WindowOperator
from strom.time.durations import to_millis
from strom.window.assigners import MergingWindowAssigner, WindowAssigner
from strom.window.evictors import Evictor
from strom.window.triggers import Trigger

if TYPE_CHECKING:
    from strom.api.datastream import DataStream, KeyedStream

__all__ = ["AllWindowedStream", "WindowedStream"]


class _SumOf:
    """``sum(callable)``: an AggregateFunction summing ``fn(element)`` per key and window."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def create_accumulator(self) -> int:
        return 0

    def add(self, value: Any, accumulator: Any) -> Any:
        return accumulator + self.fn(value)

    def get_result(self, accumulator: Any) -> Any:
        return accumulator

    def merge(self, a: Any, b: Any) -> Any:
        return a + b


def _name_of(fn: Any) -> str:
    if isinstance(fn, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return fn.__name__
    return type(fn).__name__


class _Windowed:
    """What WindowedStream and AllWindowedStream share."""

    _keyed = True
    _prefix = "Window"

    def __init__(self, keyed_stream: KeyedStream, window_assigner: WindowAssigner,
                 **operator_fields: Any) -> None:
        if not isinstance(window_assigner, WindowAssigner):
            msg = (f"window: expected a WindowAssigner (e.g. TumblingEventTimeWindows.of(...)), "
                   f"got {describe(window_assigner)} ({type(window_assigner).__name__})")
            raise JobDefinitionError(msg)
        self._keyed_stream = keyed_stream
        self._window_assigner = window_assigner
        self._window_trigger: Trigger | None = None
        self._evictor: Evictor | None = None
        self._allowed_lateness = 0
        self._late_data_output_tag: OutputTag | None = None
        self._fields = operator_fields

    # -- configuration --
    def get_execution_environment(self) -> Any:
        return self._keyed_stream.get_execution_environment()

    def get_input_type(self) -> Any:
        return self._keyed_stream.get_type()

    def trigger(self, trigger: Trigger) -> Any:
        """Use ``trigger`` instead of the assigner's default trigger."""
        if not isinstance(trigger, Trigger):
            raise JobDefinitionError(f"trigger: expected a Trigger, got {describe(trigger)}")
        if isinstance(self._window_assigner, MergingWindowAssigner) and not trigger.can_merge():
            msg = (f"trigger: a merging window assigner ({self._window_assigner!r}) cannot be used "
                   f"with a trigger that does not support merging ({trigger!r}); hint: implement "
                   "can_merge() and on_merge() in the trigger")
            raise JobDefinitionError(msg)
        self._window_trigger = trigger
        return self

    def evictor(self, evictor: Evictor) -> Any:
        """Evict elements before/after the window function (disables incremental aggregation)."""
        if not isinstance(evictor, Evictor):
            raise JobDefinitionError(f"evictor: expected an Evictor, got {describe(evictor)}")
        self._evictor = evictor
        return self

    def allowed_lateness(self, time_ms: Any) -> Any:
        """Keep event-time windows ``time_ms`` (int ms, Time or Duration) after they fired."""
        ms = to_millis(time_ms, "allowed_lateness")
        if ms < 0:
            raise JobDefinitionError(f"allowed_lateness: the allowed lateness cannot be negative, got {ms}")
        self._allowed_lateness = ms
        return self

    def side_output_late_data(self, output_tag: OutputTag) -> Any:
        """Send late elements to ``output_tag`` instead of dropping them."""
        if not isinstance(output_tag, OutputTag):
            raise JobDefinitionError(f"side_output_late_data: expected an OutputTag, got {describe(output_tag)}")
        self._late_data_output_tag = output_tag
        return self

    # -- window functions --
    def _check_window_function(self, window_function: Any, what: str) -> None:
        if window_function is None:
            return
        if callable(getattr(window_function, "process", None)) or \
                callable(getattr(window_function, "apply", None)):
            return
        base = "WindowFunction or ProcessWindowFunction" if self._keyed else \
            "AllWindowFunction or ProcessAllWindowFunction"
        raise JobDefinitionError(f"{what}: window_function should be a {base}, got "
                                 f"{describe(window_function)}")

    def _build(self, contents: str, function: Any, window_function: Any, output_type: Any,
               descr: str, declared_type: bool = False) -> DataStream:
        assigner, trigger = self._window_assigner, self._window_trigger
        evictor, lateness = self._evictor, self._allowed_lateness
        late_tag, keyed = self._late_data_output_tag, self._keyed
        ks = self._keyed_stream._ks
        if trigger is None:  # PyFlink's signature: get_default_trigger(env); once, for all subtasks
            trigger = assigner.get_default_trigger(self._keyed_stream._env)
        parts = [str(assigner), type(trigger).__name__]
        if evictor is not None:
            parts.append(type(evictor).__name__)
        parts.append(descr)
        name = f"{self._prefix}({', '.join(parts)})"

        def factory() -> WindowOperator:
            # one private copy of the user's function objects per subtask, as the other
            # operators get (Flink deserializes one per subtask)
            fn, wf = fresh(function), fresh(window_function)
            call = resolve(fn, "reduce", "reduce", "ReduceFunction") if contents == "reduce" else fn
            users = tuple(f for f in (fn, wf) if f is not None and not inspect.isroutine(f))
            return WindowOperator(name, assigner, trigger, ks, contents=contents, function=call,
                                  window_function=wf, evictor=evictor, allowed_lateness=lateness,
                                  late_tag=late_tag, keyed=keyed, user_functions=users)

        fields = dict(self._fields)
        if declared_type and output_type is not None \
                and not isinstance(output_type, PickledBytesTypeInfo):
            fields["check_output"] = True  # validate as PyFlink's serializer would
        return self._keyed_stream._one_input(name, factory, output_type, **fields)

    def reduce(self, reduce_function: Any, window_function: Any = None,
               output_type: Any = None) -> DataStream:
        """Reduce each pane incrementally; emit the result, or pass it to ``window_function``."""
        resolve(reduce_function, "reduce", "reduce", "ReduceFunction")  # fail early if invalid
        self._check_window_function(window_function, "reduce")
        descr = _name_of(reduce_function)
        if window_function is not None:
            descr += f", {_name_of(window_function)}"
        declared = output_type is not None
        if output_type is None and window_function is None:
            output_type = self._keyed_stream._t.output_type
        return self._build("reduce", reduce_function, window_function, output_type, descr, declared)

    def aggregate(self, aggregate_function: Any, window_function: Any = None,
                  accumulator_type: Any = None, output_type: Any = None) -> DataStream:
        """Aggregate each pane incrementally with an AggregateFunction."""
        missing = [m for m in ("create_accumulator", "add", "get_result")
                   if not callable(getattr(aggregate_function, m, None))]
        if missing:
            msg = (f"aggregate: expected an AggregateFunction, but {describe(aggregate_function)} "
                   f"lacks {', '.join(missing)}")
            raise JobDefinitionError(msg)
        self._check_window_function(window_function, "aggregate")
        descr = _name_of(aggregate_function)
        if window_function is not None:
            descr += f", {_name_of(window_function)}"
        return self._build("aggregate", aggregate_function, window_function, output_type, descr,
                           True)

    def apply(self, window_function: Any, output_type: Any = None) -> DataStream:
        """Run ``window_function.apply(...)`` on all elements of each firing pane."""
        if not callable(getattr(window_function, "apply", None)) and not callable(window_function):
            raise JobDefinitionError(f"apply: expected a window function with apply(), got "
                                     f"{describe(window_function)}")
        return self._build("list", None, window_function, output_type, _name_of(window_function),
                           True)

    def process(self, process_window_function: Any, output_type: Any = None) -> DataStream:
        """Run ``process_window_function.process(...)`` on all elements of each firing pane."""
        if not callable(getattr(process_window_function, "process", None)):
            raise JobDefinitionError(f"process: expected a process window function, got "
                                     f"{describe(process_window_function)}")
        return self._build("list", None, process_window_function, output_type,
                           _name_of(process_window_function), True)

    # -- field aggregations --
    def _field(self, kind: str, field: Any) -> DataStream:
        if not isinstance(field, (int, str)) or isinstance(field, bool):
            raise JobDefinitionError(f"{kind}: expected a field position (int) or name (str), got {field!r}")
        fn = aggregation(kind, field)
        return self._build("reduce", fn, None, self._keyed_stream._t.output_type,
                           f"{kind}({field!r})")

    def sum(self, position_to_sum: Any = 0) -> DataStream:
        """Sum a field per pane (the first element with the field replaced by the sum).

        With a callable, ``sum(fn)`` emits the plain sum of ``fn(element)`` over the pane (so
        ``sum(lambda e: 1)`` counts the pane's elements); see docs/semantics.md.
        """
        if callable(position_to_sum):
            agg = _SumOf(position_to_sum)
            return self._build("aggregate", agg, None, None, "sum(<callable>)")
        return self._field("sum", position_to_sum)

    def min(self, position_to_min: Any = 0) -> DataStream:
        return self._field("min", position_to_min)

    def max(self, position_to_max: Any = 0) -> DataStream:
        return self._field("max", position_to_max)

    def min_by(self, position_to_min_by: Any = 0) -> DataStream:
        return self._field("min_by", position_to_min_by)

    def max_by(self, position_to_max_by: Any = 0) -> DataStream:
        return self._field("max_by", position_to_max_by)


class WindowedStream(_Windowed):
    """Windows of a keyed stream: every key's elements are windowed and evaluated separately.

    Example:
        >>> (keyed.window(TumblingEventTimeWindows.of(Time.seconds(10)))
        ...      .allowed_lateness(Time.seconds(5))
        ...      .side_output_late_data(OutputTag("late"))
        ...      .aggregate(CountAgg(), window_function=EmitCount()))  # doctest: +SKIP
    """

    _keyed = True
    _prefix = "Window"


class AllWindowedStream(_Windowed):
    """Windows of a whole (non-keyed) stream; the window operator runs with parallelism 1.

    Window functions are ``AllWindowFunction.apply(window, inputs)`` and
    ``ProcessAllWindowFunction.process(context, elements)``.
    """

    _keyed = False
    _prefix = "AllWindow"

    def __init__(self, data_stream: DataStream, window_assigner: WindowAssigner) -> None:
        keyed = data_stream.key_by(_null_key)
        super().__init__(keyed, window_assigner, parallelism=1, non_parallel=True)


def _null_key(value: Any) -> int:
    """Every element under one key (Flink's NullByteKeySelector)."""
    return 0
