"""Functions that take part in checkpoints: Flink's ``CheckpointedFunction``,
``CheckpointListener`` and ``TwoPhaseCommitSinkFunction``, for Python.

PyFlink has no Python equivalent of these Java interfaces; strom offers them under the Java
names so that sources, sinks and other functions can keep operator state and produce
exactly-once output. The runtime calls the hooks on the task's thread, in the order described
in :mod:`strom.runtime.checkpointing`: ``initialize_state`` before ``open``, ``snapshot_state``
at every checkpoint barrier, ``notify_checkpoint_complete`` once that checkpoint is durable.

Exactly-once output needs a sink that writes into transactions: subclass
:class:`TwoPhaseCommitSinkFunction`. Every other sink (``print()``, plain ``SinkFunction``\\ s)
is at-least-once: after a failure it sees the records since the last checkpoint again.

Example, a sink that makes each checkpoint's records visible atomically::

    class Files(TwoPhaseCommitSinkFunction):
        def begin_transaction(self):
            return {"path": f"/out/.part-{uuid.uuid4()}", "lines": []}
        def invoke(self, transaction, value, context):
            transaction["lines"].append(str(value))
        def pre_commit(self, transaction):
            with open(transaction["path"], "w") as f:
                f.write("\\n".join(transaction["lines"]))
        def commit(self, transaction):
            tmp = transaction["path"]
            if os.path.exists(tmp):  # idempotent: a recovered commit may run twice
                os.replace(tmp, tmp.replace("/.part-", "/part-"))
        def abort(self, transaction):
            with contextlib.suppress(FileNotFoundError):
                os.remove(transaction["path"])
"""
from __future__ import annotations

import abc
from typing import Any

from strom.api.functions import SinkFunction
from strom.errors import StateAccessError
from strom.state.descriptors import ListStateDescriptor

__all__ = ["CheckpointListener", "CheckpointedFunction", "TwoPhaseCommitSinkFunction"]


class CheckpointedFunction(abc.ABC):
    """A function with operator state: it fills it at checkpoints and reads it on restore."""

    @abc.abstractmethod
    def snapshot_state(self, context: Any) -> None:
        """Checkpoint ``context.get_checkpoint_id()`` is taken: write the function's state into
        the list states obtained in :meth:`initialize_state`."""

    @abc.abstractmethod
    def initialize_state(self, context: Any) -> None:
        """Before ``open``: get list states from ``context.get_operator_state_store()``
        (``get_list_state`` / ``get_union_list_state``) and, when ``context.is_restored()``,
        read them back."""


class CheckpointListener(abc.ABC):
    """A function told when checkpoints complete (to commit side effects) or are aborted."""

    @abc.abstractmethod
    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` and every earlier one are durable (ids may be skipped)."""

    def notify_checkpoint_aborted(self, checkpoint_id: int) -> None:  # noqa: B027 - optional hook
        """Checkpoint ``checkpoint_id`` was given up."""


class TwoPhaseCommitSinkFunction(SinkFunction, CheckpointedFunction, CheckpointListener):
    """Exactly-once sink base: records go into a transaction that is pre-committed at each
    checkpoint and committed once that checkpoint is durable (Flink's class of the same name).

    Implement :meth:`begin_transaction`, :meth:`invoke` (``invoke(transaction, value,
    context)``), :meth:`pre_commit`, :meth:`commit` and :meth:`abort`. Transactions must be
    picklable (they are checkpointed) and ``commit`` must be idempotent: after a failure the
    transactions of the restored checkpoint are committed again (:meth:`recover_and_commit`),
    and the transaction that was open at that checkpoint is aborted
    (:meth:`recover_and_abort`). When a bounded input ends, the last transaction is
    pre-committed and committed when the job finishes.
    """

    STATE_NAME = "two-phase-commit-state"

    def __init__(self) -> None:
        self._current: Any = None
        self._pending: list[tuple[int, Any]] = []  # (checkpoint id, pre-committed transaction)
        self._state: Any = None
        self._finishing = False

    # -- to implement ----------------------------------------------------------------------------
    @abc.abstractmethod
    def begin_transaction(self) -> Any:
        """A new transaction (picklable) to write the next records into."""

    @abc.abstractmethod
    def invoke(self, transaction: Any, value: Any, context: Any) -> None:  # type: ignore[override]
        """Write ``value`` into ``transaction``."""

    @abc.abstractmethod
    def pre_commit(self, transaction: Any) -> None:
        """Make ``transaction`` ready to commit (flush it); no new records will go into it."""

    @abc.abstractmethod
    def commit(self, transaction: Any) -> None:
        """Make ``transaction``'s records visible; must be idempotent."""

    @abc.abstractmethod
    def abort(self, transaction: Any) -> None:
        """Discard ``transaction``."""

    def recover_and_commit(self, transaction: Any) -> None:
        """On restore: commit a transaction pre-committed before the failure (again)."""
        self.commit(transaction)

    def recover_and_abort(self, transaction: Any) -> None:
        """On restore: abort the transaction that was open when the checkpoint was taken."""
        self.abort(transaction)

    # -- the runtime's hooks ---------------------------------------------------------------------
    def initialize_state(self, context: Any) -> None:
        self._pending = []
        self._finishing = False
        self._state = context.get_operator_state_store().get_list_state(
            ListStateDescriptor(self.STATE_NAME))
        if context.is_restored():
            for entry in list(self._state.get()):
                for _checkpoint_id, transaction in entry["pending"]:
                    self.recover_and_commit(transaction)
                if entry["current"] is not None:
                    self.recover_and_abort(entry["current"])
            self._state.clear()
        self._current = self.begin_transaction()

    @property
    def invoke_entry(self) -> Any:
        """What the sink operator calls per record (``invoke`` here takes the transaction)."""
        return self._invoke_current

    def _invoke_current(self, value: Any, context: Any) -> None:
        if self._current is None:
            msg = (f"{type(self).__name__}: a record arrived with no open transaction (after "
                   "the input ended, or before initialize_state)")
            raise StateAccessError(msg)
        self.invoke(self._current, value, context)

    def snapshot_state(self, context: Any) -> None:
        checkpoint_id = context.get_checkpoint_id()
        if self._current is not None:
            self.pre_commit(self._current)
            self._pending.append((checkpoint_id, self._current))
            # after the end of input (the final snapshot) no new transaction is opened
            self._current = None if self._finishing else self.begin_transaction()
        self._state.update([{"pending": list(self._pending), "current": self._current}])

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        done = [(cid, t) for cid, t in self._pending if cid <= checkpoint_id]
        for _cid, transaction in done:
            self.commit(transaction)
        self._pending = [(cid, t) for cid, t in self._pending if cid > checkpoint_id]

    def finish(self) -> None:
        """The input ended: the next (final) snapshot pre-commits the last transaction."""
        self._finishing = True

    def close(self) -> None:
        """Abort the open transaction (also after a failure); pending ones stay for recovery."""
        if self._current is not None:
            current, self._current = self._current, None
            self.abort(current)
