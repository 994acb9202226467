"""What a user function sees of checkpointing: the contexts of ``CheckpointedFunction``'s hooks.

A user function (map, process, sink, source function, ...) takes part in checkpoints by
defining Flink's ``CheckpointedFunction`` methods and, optionally, ``CheckpointListener``'s.
The operator around it calls them, always on the task's thread (for a ``SourceFunction``,
while holding its checkpoint lock), in this order:

1. ``initialize_state(FunctionInitializationContext)`` before ``open``, on a fresh start and
   on every restore (``context.is_restored()``);
2. ``snapshot_state(FunctionSnapshotContext)`` at every checkpoint barrier, after every record
   before the barrier was processed;
3. ``notify_checkpoint_complete(checkpoint_id)`` once checkpoint ``checkpoint_id`` is durable
   (a notification covers every earlier checkpoint too; ids may be skipped), or
   ``notify_checkpoint_aborted(checkpoint_id)``;
4. at the end of a bounded input: ``finish()``, a final ``snapshot_state`` and, when the whole
   job has finished, ``notify_checkpoint_complete`` of that final snapshot.

``close()`` runs in every case, also after a failure or cancel; nothing is committed there.
"""
from __future__ import annotations

from typing import Any

from strom.state.operator_state import OperatorStateStore

__all__ = ["FunctionInitializationContext", "FunctionSnapshotContext", "has_checkpoint_hooks"]


class FunctionSnapshotContext:
    """The context of ``snapshot_state``: which checkpoint is being taken, and when."""

    __slots__ = ("checkpoint_id", "timestamp")

    def __init__(self, checkpoint_id: int, timestamp: int) -> None:
        self.checkpoint_id = checkpoint_id
        self.timestamp = timestamp

    def get_checkpoint_id(self) -> int:
        """The id of the checkpoint (ids increase; a savepoint has an id too)."""
        return self.checkpoint_id

    def get_checkpoint_timestamp(self) -> int:
        """Processing time (ms) at which the checkpoint was triggered."""
        return self.timestamp


class FunctionInitializationContext:
    """The context of ``initialize_state``: operator state, keyed state, and whether restored."""

    __slots__ = ("_operator_state", "_keyed", "_restored_id")

    def __init__(self, operator_state: OperatorStateStore, keyed_state_store: Any,
                 restored_checkpoint_id: int | None) -> None:
        self._operator_state = operator_state
        self._keyed = keyed_state_store
        self._restored_id = restored_checkpoint_id

    def is_restored(self) -> bool:
        """True when the state comes from a checkpoint or savepoint."""
        return self._restored_id is not None

    def get_restored_checkpoint_id(self) -> int | None:
        """The id of the checkpoint restored from, None on a fresh start."""
        return self._restored_id

    def get_operator_state_store(self) -> OperatorStateStore:
        """List / union list state of this operator subtask."""
        return self._operator_state

    def get_keyed_state_store(self) -> Any:
        """The keyed state store (the runtime context's state getters), None if not keyed."""
        return self._keyed


def has_checkpoint_hooks(function: Any) -> bool:
    """Whether ``function`` implements ``CheckpointedFunction`` (both hooks, callable)."""
    return (callable(getattr(function, "snapshot_state", None))
            and callable(getattr(function, "initialize_state", None)))
