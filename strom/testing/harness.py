"""Operator test harnesses: drive one real operator exactly as a task does, without a job.

A harness builds the :class:`~strom.runtime.context.TaskInfo` a task would (subtask index,
parallelism, max parallelism, a :class:`~strom.time.clock.ManualClock` and its
:class:`~strom.runtime.processing_time.ProcessingTimeService`, metrics), wires an
:class:`~strom.runtime.output.Output` whose main, side and watermark targets record into
lists, and runs the operator's lifecycle in Flink's order: ``setup`` -> ``initialize_state``
-> ``open`` -> elements/watermarks/timers -> ``end_input`` -> ``finish`` -> ``close``. The
state backend, timer heaps and processing-time service are the real ones; nothing is mocked.

Example:
    >>> from strom.api.functions import KeyedProcessFunction
    >>> class Echo(KeyedProcessFunction):
    ...     def process_element(self, value, ctx):
    ...         ctx.timer_service().register_event_time_timer(ctx.timestamp() + 10)
    ...         yield value
    ...     def on_timer(self, timestamp, ctx):
    ...         yield ("fired", ctx.get_current_key(), timestamp)
    >>> h = KeyedOneInputHarness.for_function(Echo(), lambda v: v[0])
    >>> h.process_element(("a", 1), timestamp=5)
    >>> h.num_event_time_timers()
    1
    >>> h.process_watermark(15)
    >>> h.output
    [Record(value=('a', 1), timestamp=5), Record(value=('fired', 'a', 15), timestamp=15), Watermark(timestamp=15)]
"""
from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strom.errors import InvalidKeyError, JobDefinitionError, describe
from strom.metrics import MetricRegistry
from strom.runtime.context import TaskInfo
from strom.runtime.elements import OutputTag
from strom.runtime.operators.base import StreamOperator
from strom.runtime.operators.co import CoProcessOperator
from strom.runtime.operators.process import ProcessOperator
from strom.runtime.output import Output
from strom.runtime.processing_time import ProcessingTimeService
from strom.state import VOID_NAMESPACE, assign_key_group
from strom.state.operator_state import redistribute
from strom.time.clock import Clock, ManualClock
from strom.time.watermarks import Watermark, WatermarkStatus

__all__ = [
    "KeyedOneInputHarness",
    "KeyedTwoInputHarness",
    "OneInputHarness",
    "Record",
    "TwoInputHarness",
]


@dataclass(frozen=True, slots=True)
class Record:
    """One record an operator emitted: its value and timestamp (``None`` if it has none)."""

    value: Any
    timestamp: int | None = None


class _RecordingOutput(Output):
    """An :class:`Output` that records every side output, whatever its tag.

    A real task only routes tags somebody consumes (others are counted as dropped); a harness
    has no downstream, so it keeps every tag.
    """

    __slots__ = ("_harness",)

    def __init__(self, harness: _Harness) -> None:
        super().__init__()
        self._harness = harness

    def collect_side(self, tag_id: str, value: Any, ts: Any) -> None:
        self._harness._side.setdefault(tag_id, []).append(Record(value, ts))


def _tag_id(tag: OutputTag | str) -> str:
    return tag.tag_id if isinstance(tag, OutputTag) else tag


def _split_operator_state(snaps: list[dict] | None, subtask: int,
                          parallelism: int) -> tuple[list[dict], dict | None]:
    """The snapshots without their operator list state, and this subtask's share of it."""
    if not snaps:
        return [], None
    snaps = [dict(s) for s in snaps]
    blobs = [s.pop("operator", None) for s in snaps]
    if not any(blobs):
        return snaps, None
    old = [pickle.loads(b) if b else None for b in blobs]
    return snaps, redistribute(old, parallelism)[subtask]


def _as_snapshots(state: Any) -> list[dict] | None:
    if state is None:
        return None
    if isinstance(state, dict):
        return [state]
    return list(state)


class _Harness:
    """What every harness shares: the task environment, recorded output and lifecycle."""

    def __init__(self, operator: StreamOperator, *, parallelism: int = 1, subtask_index: int = 0,
                 max_parallelism: int = 128, clock: Clock | None = None,
                 job_parameters: dict[str, str] | None = None,
                 initial_state: dict | Sequence[dict] | None = None, open: bool = True,
                 restored_checkpoint_id: int = 1) -> None:
        if not isinstance(operator, StreamOperator):
            msg = (f"{type(self).__name__}: expected a StreamOperator, got {describe(operator)}; "
                   "hint: use KeyedOneInputHarness.for_function(...) for a user function")
            raise JobDefinitionError(msg)
        if not (isinstance(parallelism, int) and 0 < parallelism <= max_parallelism):
            msg = (f"{type(self).__name__}: expected 0 < parallelism <= max_parallelism, got "
                   f"parallelism={parallelism!r}, max_parallelism={max_parallelism!r}")
            raise JobDefinitionError(msg)
        if not (isinstance(subtask_index, int) and 0 <= subtask_index < parallelism):
            msg = (f"{type(self).__name__}: subtask_index {subtask_index!r} is outside "
                   f"[0, {parallelism})")
            raise JobDefinitionError(msg)
        self.operator = operator
        self.clock: Clock = clock if clock is not None else ManualClock(0)
        self.metrics = MetricRegistry(self.clock)
        self.processing_time_service = ProcessingTimeService(self.clock)
        self.info = TaskInfo(
            task_name=operator.name, subtask_index=subtask_index, parallelism=parallelism,
            max_parallelism=max_parallelism, clock=self.clock,
            processing_time=self.processing_time_service,
            metrics=self.metrics.group("harness", operator.name, str(subtask_index)),
            job_parameters=dict(job_parameters or {}))
        self.output: list[Record | Watermark] = []
        self.statuses: list[WatermarkStatus] = []
        self._side: dict[str, list[Record]] = {}
        self._initial_state = _as_snapshots(initial_state)
        self.restored_checkpoint_id = restored_checkpoint_id
        self.opened = False
        self.finished = False
        self.closed = False
        out = _RecordingOutput(self)
        out.add_main(self._collect)
        out.add_watermark_target(self._watermark, self._status)
        operator.setup(self.info, out)
        states, op_state = _split_operator_state(self._initial_state, subtask_index, parallelism)
        operator.restore_operator(states, op_state,
                                  None if self._initial_state is None else self.restored_checkpoint_id)
        if open:
            self.open()

    # -- recording ----------------------------------------------------------------------------
    def _collect(self, value: Any, ts: Any) -> None:
        self.output.append(Record(value, ts))

    def _watermark(self, watermark: int) -> None:
        self.output.append(Watermark(watermark))

    def _status(self, idle: bool) -> None:
        self.statuses.append(WatermarkStatus(idle))

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self) -> None:
        """Open the operator (done by the constructor unless ``open=False``)."""
        if self.opened:
            return
        self.operator.open()
        self.opened = True

    def _require_open(self) -> None:
        if not self.opened:
            raise JobDefinitionError(f"{type(self).__name__}: call open() first")
        if self.finished:
            msg = (f"{type(self).__name__}: operator '{self.operator.name}' already finished; "
                   "no elements may follow end_input()")
            raise JobDefinitionError(msg)

    def close(self) -> None:
        """Close the operator (idempotent); as a task does, also after a failure."""
        if self.closed or not self.opened:
            return
        self.closed = True
        self.operator.close()

    def __enter__(self) -> _Harness:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- time -----------------------------------------------------------------------------------
    def set_processing_time(self, time: int) -> None:
        """Move the ManualClock to ``time`` and fire every processing-time callback due by then."""
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise JobDefinitionError("set_processing_time needs a harness built with a ManualClock")
        clock.set(time)
        self.processing_time_service.fire_due()

    def processing_time(self) -> int:
        """The harness clock's current time."""
        return self.clock.now()

    # -- output -----------------------------------------------------------------------------
    def records(self) -> list[Any]:
        """The main output's values, in order."""
        return [e.value for e in self.output if type(e) is Record]

    def timestamped(self) -> list[tuple[Any, int | None]]:
        """The main output as ``(value, timestamp)`` pairs."""
        return [(e.value, e.timestamp) for e in self.output if type(e) is Record]

    def watermarks(self) -> list[int]:
        """The timestamps of the watermarks the operator emitted, in order."""
        return [e.timestamp for e in self.output if type(e) is Watermark]

    def side_output(self, tag: OutputTag | str) -> list[Any]:
        """The values emitted to side output ``tag``."""
        return [r.value for r in self._side.get(_tag_id(tag), [])]

    def side_output_records(self, tag: OutputTag | str) -> list[Record]:
        """The records (value and timestamp) emitted to side output ``tag``."""
        return list(self._side.get(_tag_id(tag), []))

    def side_output_tags(self) -> list[str]:
        """The ids of the side outputs that received at least one record."""
        return list(self._side)

    def clear_output(self) -> None:
        """Forget what was recorded so far (main, side outputs and statuses)."""
        self.output.clear()
        self._side.clear()
        self.statuses.clear()

    # -- keyed state and timers -------------------------------------------------------------
    @property
    def backend(self) -> Any:
        """The operator's keyed state backend (None when not keyed)."""
        return self.operator.backend

    @property
    def current_key(self) -> Any:
        """The key of the last element or timer processed (None when not keyed)."""
        backend = self.operator.backend
        return None if backend is None else backend.current_key

    def _timers(self) -> Any:
        return getattr(self.operator, "timers", None)

    def num_event_time_timers(self) -> int:
        """Live event-time timers of this subtask (all keys)."""
        timers = self._timers()
        return 0 if timers is None else len(timers.event)

    def num_processing_time_timers(self) -> int:
        """Live processing-time timers of this subtask (all keys)."""
        timers = self._timers()
        return 0 if timers is None else len(timers.processing)

    def event_time_timers(self) -> list[tuple[Any, int]]:
        """Live event-time timers as ``(key, timestamp)``, by timestamp."""
        timers = self._timers()
        return [] if timers is None else [(k, ts) for k, _ns, ts in timers.event.timers()]

    def processing_time_timers(self) -> list[tuple[Any, int]]:
        """Live processing-time timers as ``(key, timestamp)``, by timestamp."""
        timers = self._timers()
        return [] if timers is None else [(k, ts) for k, _ns, ts in timers.processing.timers()]

    def state_for(self, key: Any) -> dict[str, Any]:
        """Everything the backend stores for ``key``: ``{state name: value}``.

        State in the default namespace maps to its value; state in other namespaces (windows)
        maps to ``{namespace: value}``. TTL timestamps are stripped and expiry is not checked.
        """
        backend = self.operator.backend
        if backend is None:
            msg = (f"state_for: operator '{self.operator.name}' is not keyed and has no keyed "
                   "state; hint: use KeyedOneInputHarness with a key selector")
            raise JobDefinitionError(msg)
        result: dict[str, Any] = {}
        for name, by_ns in backend.state_for(key).items():
            if set(by_ns) == {VOID_NAMESPACE}:
                result[name] = by_ns[VOID_NAMESPACE]
            else:
                result[name] = dict(by_ns)
        return result

    def keys(self) -> set[Any]:
        """Every key with state or timers in this subtask."""
        found: set[Any] = set()
        backend = self.operator.backend
        if backend is not None:
            for name in backend.state_names():
                for ns in backend.namespaces(name):
                    found.update(backend.keys(name, ns))
        timers = self._timers()
        if timers is not None:
            found.update(k for k, _ns, _ts in timers.event.timers())
            found.update(k for k, _ns, _ts in timers.processing.timers())
        return found

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot(self, checkpoint_id: int = 1) -> dict:
        """What the operator checkpoints at checkpoint ``checkpoint_id`` (its state, operator
        list state, CheckpointedFunction state), after a pickle round trip as in a real one."""
        snap = self.operator.snapshot_operator(checkpoint_id, self.clock.now())
        return pickle.loads(pickle.dumps(snap, protocol=5))

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Tell the operator that checkpoint ``checkpoint_id`` completed (sinks commit)."""
        self.operator.notify_checkpoint_complete(checkpoint_id)

    def _check_key_in_range(self, key: Any, value: Any) -> None:
        info = self.info
        group = assign_key_group(key, info.max_parallelism)
        owned = self.operator.backend.key_group_range
        if group not in owned:
            msg = (f"{type(self).__name__}: element {describe(value)} has key {describe(key)} in "
                   f"key group {group}, which subtask {info.subtask_index} of {info.parallelism} "
                   f"does not own (key groups {owned.start}..{owned.stop - 1}); a real job would "
                   "route it to another subtask")
            raise InvalidKeyError(msg)


class OneInputHarness(_Harness):
    """Drives a one-input operator (map, filter, process, sinks, ...).

    Args:
        operator: a fresh operator (not yet set up).
        parallelism: the operator's parallelism (the subtask plays one of that many).
        subtask_index: which subtask it plays.
        max_parallelism: the number of key groups.
        clock: defaults to ``ManualClock(0)``.
        job_parameters: what ``RuntimeContext.get_job_parameter`` returns.
        initial_state: a snapshot (or the snapshots of several old subtasks) to restore.
        open: open the operator right away (default).
    """

    def process_element(self, value: Any, timestamp: int | None = None) -> None:
        """Feed one record, as the task does for each record of a batch."""
        self._require_open()
        self.operator.process_element(value, timestamp)

    def process_elements(self, values: Sequence[Any], timestamp: int | None = None) -> None:
        """Feed several records with the same timestamp."""
        for value in values:
            self.process_element(value, timestamp)

    def process_watermark(self, watermark: int | Watermark) -> None:
        """Feed a watermark (already combined over channels, as the valve's output is)."""
        self._require_open()
        ts = watermark.timestamp if isinstance(watermark, Watermark) else int(watermark)
        self.operator.process_watermark(ts)

    def process_status(self, idle: bool) -> None:
        """The input became idle (True) or active again (False)."""
        self._require_open()
        self.operator.process_status(idle)

    def end_input(self) -> None:
        """The input ended: ``end_input`` then ``finish``, and processing-time timers stop."""
        self._require_open()
        self.operator.end_input()
        self.operator.finish()
        self.processing_time_service.quiesce()
        self.finished = True

    @classmethod
    def restore(cls, snapshots: dict | Sequence[dict], operator_factory: Callable[[], Any],
                **kwargs: Any) -> OneInputHarness:
        """A harness on a fresh operator from ``operator_factory()`` restored from ``snapshots``.

        ``snapshots`` is one snapshot or the snapshots of every old subtask (to rescale); the
        keyword arguments are the constructor's (``parallelism=``, ``subtask_index=``, ...).
        """
        return cls(operator_factory(), initial_state=snapshots, **kwargs)


def _keyed_operator(operator_or_function: Any, key_selector: Any) -> StreamOperator:
    if isinstance(operator_or_function, StreamOperator):
        op = operator_or_function
        if op.key_selector is None:
            op.key_selector = key_selector
        return op
    if not callable(getattr(operator_or_function, "process_element", None)):
        msg = (f"KeyedOneInputHarness: expected a StreamOperator or a KeyedProcessFunction, got "
               f"{describe(operator_or_function)}")
        raise JobDefinitionError(msg)
    return ProcessOperator("KeyedProcess", operator_or_function, key_selector)


class KeyedOneInputHarness(OneInputHarness):
    """Drives a keyed one-input operator on a real keyed state backend and timer service.

    Args:
        operator_or_function: a keyed operator, or a ``KeyedProcessFunction`` (wrapped in the
            ``ProcessOperator`` that ``KeyedStream.process`` builds).
        key_selector: ``value -> key``; set on the operator if it has none.
        **kwargs: as :class:`OneInputHarness`.

    Elements whose key belongs to another subtask's key groups raise ``InvalidKeyError``: a
    real job would never deliver them here.
    """

    def __init__(self, operator_or_function: Any, key_selector: Callable[[Any], Any],
                 **kwargs: Any) -> None:
        if key_selector is None or not callable(key_selector):
            get_key = getattr(key_selector, "get_key", None)
            if not callable(get_key):
                raise JobDefinitionError(
                    f"KeyedOneInputHarness: expected a key selector, got {describe(key_selector)}")
            key_selector = get_key
        self.key_selector = key_selector
        super().__init__(_keyed_operator(operator_or_function, key_selector), **kwargs)

    @classmethod
    def for_function(cls, function: Any, key_selector: Callable[[Any], Any],
                     **kwargs: Any) -> KeyedOneInputHarness:
        """A harness around the operator ``KeyedStream.process(function)`` would run."""
        return cls(ProcessOperator("KeyedProcess", function, key_selector), key_selector, **kwargs)

    def process_element(self, value: Any, timestamp: int | None = None) -> None:
        self._require_open()
        self._check_key_in_range(self.key_selector(value), value)
        self.operator.process_element(value, timestamp)

    def owns(self, key: Any) -> bool:
        """Whether this subtask's key groups include ``key``'s."""
        group = assign_key_group(key, self.info.max_parallelism)
        return group in self.operator.backend.key_group_range

    @classmethod
    def restore(cls, snapshots: dict | Sequence[dict], operator_factory: Callable[[], Any],
                key_selector: Callable[[Any], Any] | None = None,
                **kwargs: Any) -> KeyedOneInputHarness:
        """A harness whose fresh operator restores ``snapshots`` for its key groups.

        ``operator_factory()`` may return an operator or a KeyedProcessFunction; pass the
        snapshots of every old subtask and the new ``parallelism=``/``subtask_index=`` to test
        rescaling.
        """
        made = operator_factory()
        if key_selector is None:
            key_selector = getattr(made, "key_selector", None)
        return cls(made, key_selector, initial_state=snapshots, **kwargs)

    @classmethod
    def restore_all(cls, snapshots: dict | Sequence[dict], operator_factory: Callable[[], Any],
                    key_selector: Callable[[Any], Any] | None = None, *, parallelism: int,
                    **kwargs: Any) -> list[KeyedOneInputHarness]:
        """One restored harness per subtask of the new ``parallelism``."""
        snaps = _as_snapshots(snapshots)
        return [cls.restore(snaps, operator_factory, key_selector, parallelism=parallelism,
                            subtask_index=i, **kwargs) for i in range(parallelism)]


class TwoInputHarness(_Harness):
    """Drives a two-input operator (CoMap, CoFlatMap, CoProcess).

    Watermarks go in per input (``process_watermark1``/``2``); the operator combines them.
    """

    def __init__(self, operator: StreamOperator, **kwargs: Any) -> None:
        self._ended = [False, False]
        super().__init__(operator, **kwargs)

    def process_element1(self, value: Any, timestamp: int | None = None) -> None:
        self._require_open()
        self.operator.process_element1(value, timestamp)

    def process_element2(self, value: Any, timestamp: int | None = None) -> None:
        self._require_open()
        self.operator.process_element2(value, timestamp)

    def process_watermark1(self, watermark: int | Watermark) -> None:
        self._require_open()
        ts = watermark.timestamp if isinstance(watermark, Watermark) else int(watermark)
        self.operator.process_watermark1(ts)

    def process_watermark2(self, watermark: int | Watermark) -> None:
        self._require_open()
        ts = watermark.timestamp if isinstance(watermark, Watermark) else int(watermark)
        self.operator.process_watermark2(ts)

    def end_input(self, input_no: int | None = None) -> None:
        """Input ``input_no`` (1 or 2; None: both) ended; once both have, ``finish``."""
        self._require_open()
        for n in ((1, 2) if input_no is None else (input_no,)):
            if n not in (1, 2):
                raise JobDefinitionError(f"TwoInputHarness.end_input: expected 1 or 2, got {n!r}")
            if not self._ended[n - 1]:
                self._ended[n - 1] = True
                self.operator.end_input(n)
        if all(self._ended):
            self.operator.finish()
            self.processing_time_service.quiesce()
            self.finished = True

    @classmethod
    def restore(cls, snapshots: dict | Sequence[dict], operator_factory: Callable[[], Any],
                **kwargs: Any) -> TwoInputHarness:
        return cls(operator_factory(), initial_state=snapshots, **kwargs)


class KeyedTwoInputHarness(TwoInputHarness):
    """Drives a keyed two-input operator (``connect(...).key_by(k1, k2).process(...)``).

    Args:
        operator_or_function: a ``CoProcessOperator`` or a ``KeyedCoProcessFunction``.
        key_selector1: the key of input 1.
        key_selector2: the key of input 2.
    """

    def __init__(self, operator_or_function: Any, key_selector1: Callable[[Any], Any],
                 key_selector2: Callable[[Any], Any], **kwargs: Any) -> None:
        op = operator_or_function
        if not isinstance(op, StreamOperator):
            op = CoProcessOperator("KeyedCoProcess", op, key_selector1, key_selector2)
        self.key_selectors = (key_selector1, key_selector2)
        super().__init__(op, **kwargs)

    def process_element1(self, value: Any, timestamp: int | None = None) -> None:
        self._require_open()
        self._check_key_in_range(self.key_selectors[0](value), value)
        self.operator.process_element1(value, timestamp)

    def process_element2(self, value: Any, timestamp: int | None = None) -> None:
        self._require_open()
        self._check_key_in_range(self.key_selectors[1](value), value)
        self.operator.process_element2(value, timestamp)

    @classmethod
    def restore(cls, snapshots: dict | Sequence[dict], operator_factory: Callable[[], Any],
                key_selector1: Callable[[Any], Any] | None = None,
                key_selector2: Callable[[Any], Any] | None = None,
                **kwargs: Any) -> KeyedTwoInputHarness:
        made = operator_factory()
        if key_selector1 is None:
            key_selector1, key_selector2 = made.key_selectors
        return cls(made, key_selector1, key_selector2, initial_state=snapshots, **kwargs)
