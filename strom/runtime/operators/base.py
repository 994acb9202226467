"""The operator contract and the pieces every operator shares.

Lifecycle, always in this order and never concurrently (the task's mailbox guarantees it):
``setup`` -> ``initialize_state`` -> ``open`` -> ``process_element*``/``process_watermark*``/timers
-> ``end_input`` -> ``finish`` -> ``close``. No record is emitted after ``finish``.

Checkpoints, between records: ``prepare_snapshot_pre_barrier`` (may still emit) ->
``snapshot_operator`` (a copy of everything the operator checkpoints: ``snapshot_state`` plus
its operator list state) -> later ``notify_checkpoint_complete`` or ``notify_checkpoint_aborted``.
A restore calls ``restore_operator`` instead of a plain ``initialize_state``.

A one-input operator implements ``process_element(value, timestamp)``; a two-input operator
``process_element1``/``process_element2``. Keyed operators get a key selector, a keyed state
backend and timer heaps in ``setup``.
"""
from __future__ import annotations

import contextlib
import pickle
from typing import Any

from strom.errors import InvalidKeyError, StromError, UserFunctionError, describe
from strom.runtime.checkpointing import (
    FunctionInitializationContext,
    FunctionSnapshotContext,
    has_checkpoint_hooks,
)
from strom.runtime.context import StreamingRuntimeContext, TaskInfo
from strom.runtime.keys import HASHABLE
from strom.runtime.output import Output
from strom.state import assign_key_group, create_keyed_backend, key_group_range
from strom.state.operator_state import OperatorStateStore
from strom.time.watermarks import MIN_WATERMARK


class StreamOperator:
    """Base of every operator: lifecycle hooks with sensible defaults."""

    key_selector: Any = None
    backend: Any = None
    output_type: Any = None  # set by deploy when the user declared a type to validate against
    operator_id = ""  # set by deploy: matches this operator's state in checkpoints (uid or generated)
    restored_checkpoint_id: int | None = None  # set by restore_operator

    def __init__(self, name: str) -> None:
        self.name = name
        self.output: Output = Output()
        self.info: TaskInfo | None = None
        self.current_watermark = MIN_WATERMARK
        self.operator_state = OperatorStateStore()

    # -- lifecycle --
    def setup(self, info: TaskInfo, output: Output) -> None:
        """Attach to the task; called once per subtask before anything else."""
        self.info = info
        self.output = output
        self.metrics = info.metrics.add_group(self.name)
        # records emitted to a side output that nothing consumes: counted, never silently lost
        self.metrics.gauge("numSideOutputRecordsDropped", lambda: self.output.dropped_side_records)
        if self.key_selector is not None:
            self.backend = create_keyed_backend(
                info.config.get("state_backend", "hashmap"),
                key_group_range(info.subtask_index, info.parallelism, info.max_parallelism),
                info.max_parallelism, info.clock)
            self.backend.operator_name = self.name

    def runtime_context(self) -> StreamingRuntimeContext:
        """The PyFlink ``RuntimeContext`` handed to user functions' ``open``."""
        assert self.info is not None
        return StreamingRuntimeContext(self.name, self.info, self.backend, self.metrics)

    def initialize_state(self, state: dict | None) -> None:
        """Restore from a snapshot taken by :meth:`snapshot_state` (None: fresh start)."""

    def open(self) -> None:
        """Prepare for processing; user functions' ``open`` is called here."""

    def process_watermark(self, watermark: int) -> None:
        """Event time advanced on this operator's input; default: forward it."""
        self.current_watermark = watermark
        self.output.emit_watermark(watermark)

    def process_status(self, idle: bool) -> None:
        """The input became idle or active; forward it."""
        self.output.emit_status(idle)

    def end_input(self) -> None:
        """The (one) input ended. Two-input operators get ``end_input(1)``/``end_input(2)`` instead."""

    def finish(self) -> None:
        """Flush buffered results; the last chance to emit."""

    def close(self) -> None:
        """Release resources; called even when the job failed."""

    def snapshot_state(self) -> dict:
        """This operator's state for a checkpoint (keyed state, timers, ...), taken between
        records. It may hold objects that serialize later (``KeyedStateSnapshot``) but nothing
        the operator will change in place afterwards."""
        return {}

    # -- checkpoints --
    def prepare_snapshot_pre_barrier(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` is about to be taken: the last moment to emit before the
        barrier (Flink's ``prepareSnapshotPreBarrier``)."""

    def snapshot_operator(self, checkpoint_id: int, timestamp: int) -> dict:
        """Everything this operator checkpoints: :meth:`snapshot_state` plus its operator list
        state (pickled now: user code may change the items right after)."""
        self.snapshot_functions(FunctionSnapshotContext(checkpoint_id, timestamp))
        state = dict(self.snapshot_state())
        op_state = self.operator_state.snapshot()
        if op_state["states"]:
            state["operator"] = pickle.dumps(op_state, protocol=5)
        return state

    def snapshot_functions(self, context: FunctionSnapshotContext) -> None:
        """Call the user functions' ``snapshot_state`` (CheckpointedFunction); default: none."""

    def snapshot_guard(self) -> contextlib.AbstractContextManager:
        """Held by the task around a checkpoint when this operator heads it (a source function
        running on its own thread takes its checkpoint lock here)."""
        return contextlib.nullcontext()

    def restore_operator(self, states: list[dict], operator_state: dict | None,
                         restored_checkpoint_id: int | None) -> None:
        """Restore from the snapshots of the old subtask(s) (all of them when the parallelism
        changed) and this subtask's share of the operator list state; called after ``setup``,
        before ``open``, also on a fresh start (empty ``states``, ``restored_checkpoint_id``
        None)."""
        self.restored_checkpoint_id = restored_checkpoint_id
        if operator_state:
            self.operator_state.restore(operator_state)
        self.initialize_state(states or None)

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` (and every earlier one) is durable."""

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` was given up."""

    # -- errors --
    def null_key(self, element: Any) -> InvalidKeyError:
        """The error for a key selector that returned None (Flink has no null keys)."""
        return InvalidKeyError(
            f"operator '{self.name}': the key selector returned None for element {describe(element)}; "
            "keys may not be None. Hint: map a missing key to a placeholder such as ''.")

    def fail(self, exc: BaseException, element: Any = None, what: str = "element") -> StromError:
        """Wrap a user function's exception, naming the operator, element and key.

        An unhashable current key is reported as the key's fault (``InvalidKeyError``): a chained
        key_by at parallelism 1 meets it here first, in the state or timer lookup.
        """
        if isinstance(exc, StromError):
            return exc
        key = getattr(self.backend, "current_key", None)
        if isinstance(exc, TypeError) and key is not None and not _hashable(key):
            return InvalidKeyError(
                f"operator '{self.name}': the key {describe(key)} ({type(key).__name__}) of element "
                f"{describe(element)} is unhashable. Hint: return a tuple or a string from the key selector.")
        where = f"operator '{self.name}'"
        if self.info is not None and self.info.parallelism > 1:
            where += f" (subtask {self.info.subtask_index + 1}/{self.info.parallelism})"
        if element is None and what != "element":
            msg = f"{where} failed in {what}"
        else:
            msg = f"{where} failed on {what} {describe(element)}"
        if key is not None:
            msg += f" with key {describe(key)}"
        msg += f": {type(exc).__name__}: {exc}"
        return UserFunctionError(msg, operator=self.name, element=element, key=key)


def key_setter(op: StreamOperator, key_selector: Any = None) -> Any:
    """``set_key(value)``: make ``value``'s key current on ``op``'s backend, rejecting None and
    unhashable keys; ``key_selector`` defaults to the operator's (two-input operators pass the
    one of each input). None when there is no key selector."""
    backend, null_key = op.backend, op.null_key
    ks = key_selector if key_selector is not None else op.key_selector
    if ks is None:
        return None

    def set_key(value: Any) -> None:
        backend.current_key = key = ks(value)
        if type(key) not in HASHABLE:  # keys of the common types pass with one test
            if key is None:
                raise null_key(value)
            hash(key)

    return set_key


def restore_keyed(backend: Any, state: dict | list[dict]) -> tuple[list[dict], dict[str, list]]:
    """Restore keyed state from one snapshot or those of several old subtasks (keeping only
    ``backend``'s key groups, so the parallelism may change); returns the snapshots and the
    timers (by domain) whose key belongs to this subtask, for the caller to re-register."""
    snaps = [state] if isinstance(state, dict) else list(state)
    backend.restore([s["keyed"] for s in snaps if s.get("keyed")])
    own, maxp = backend.key_group_range, backend.max_parallelism
    timers: dict[str, list] = {"event": [], "processing": []}
    for snap in snaps:
        for domain, entries in (snap.get("timers") or {}).items():
            timers[domain].extend(t for t in entries if assign_key_group(t[0], maxp) in own)
    return snaps, timers


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class UdfOperator(StreamOperator):
    """An operator around one user function object (or plain callable)."""

    def __init__(self, name: str, function: Any) -> None:
        super().__init__(name)
        self.function = function

    def open(self) -> None:
        self._initialize_function()
        opener = getattr(self.function, "open", None)
        if callable(opener):
            try:
                opener(self.runtime_context())
            except StromError:
                raise
            except Exception as exc:
                raise self.fail(exc, None, "open()") from exc

    def close(self) -> None:
        closer = getattr(self.function, "close", None)
        if callable(closer):
            try:
                closer()
            except StromError:
                raise
            except Exception as exc:
                raise self.fail(exc, None, "close()") from exc

    # -- CheckpointedFunction / CheckpointListener hooks of the user function --
    def _initialize_function(self) -> None:
        """``initialize_state`` of a CheckpointedFunction, before its ``open`` (Flink's order)."""
        fn = self.function
        if not has_checkpoint_hooks(fn):
            return
        keyed = self.runtime_context() if self.backend is not None else None
        ctx = FunctionInitializationContext(self.operator_state, keyed, self.restored_checkpoint_id)
        self._call(fn.initialize_state, ctx, "initialize_state()")

    def snapshot_functions(self, context: FunctionSnapshotContext) -> None:
        if has_checkpoint_hooks(self.function):
            self._call(self.function.snapshot_state, context, "snapshot_state()")

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        notify = getattr(self.function, "notify_checkpoint_complete", None)
        if callable(notify):
            self._call(notify, checkpoint_id, "notify_checkpoint_complete()")

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:
        notify = getattr(self.function, "notify_checkpoint_aborted", None)
        if callable(notify):
            self._call(notify, checkpoint_id, "notify_checkpoint_aborted()")

    def _call(self, hook: Any, arg: Any, what: str) -> None:
        try:
            hook(arg)
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, None, what) from exc
