"""Restoring a job from a checkpoint or savepoint: which state each new subtask gets.

Operators are matched by :attr:`~strom.graph.transformations.Transformation.operator_id` (the
user's ``uid()`` or a generated id). For each operator the new subtask *i* gets:

* at the same parallelism, the snapshot of old subtask *i*;
* at another parallelism, the snapshots of every old subtask (in subtask order): keyed
  operators keep the key groups they now own and the timers of those keys, as Flink does;
* its share of the operator list state (split or union, see :mod:`strom.state.operator_state`).

Every state file is verified against the checkpoint's manifest before it is used, and the
whole plan is validated before any task is built, so nothing is ever half-restored: state of an
operator the job no longer has fails the restore (naming it) unless non-restored state is
allowed, and so does a changed max parallelism.
"""
from __future__ import annotations

import pickle
from typing import Any

from strom.errors import CheckpointError
from strom.graph.job_graph import JobGraph
from strom.state.operator_state import UNION, redistribute

__all__ = ["RestorePlan"]


class RestorePlan:
    """The state of one checkpoint, laid out for the operators of ``graph``.

    Args:
        loaded: a verified checkpoint (``strom.checkpoint.storage.LoadedCheckpoint``).
        graph: the job graph being deployed.
        allow_non_restored_state: skip state of operators the job no longer has.
    """

    def __init__(self, loaded: Any, graph: JobGraph, allow_non_restored_state: bool = False) -> None:
        self.loaded = loaded
        self.checkpoint_id: int = loaded.checkpoint_id
        self.path: str = loaded.path
        self.operators: dict[str, dict[str, Any]] = loaded.metadata.get("operators", {})
        self._bytes: dict[tuple[str, int], bytes] = {}
        self.skipped: list[str] = []
        self._validate(graph, allow_non_restored_state)
        loaded.verify()  # every file, now: nothing is half-restored

    def _validate(self, graph: JobGraph, allow: bool) -> None:
        present = {t.operator_id: t for t in graph.nodes.values()}
        for op_id, meta in self.operators.items():
            node = present.get(op_id)
            if node is None:
                if allow or not meta.get("stateful", True):
                    self.skipped.append(op_id)  # dropped on request, or nothing to drop
                    self.skipped.append(op_id)
                    continue
                msg = (f"restore from {self.path}: it holds state of operator '{meta['name']}' "
                       f"(id {op_id!r}) which this job does not have; the program changed, or the "
                       "operator has no stable id. Hint: give stateful operators a uid(...) in both "
                       "versions, or pass --allow-non-restored-state (execution.state-recovery."
                       "ignore-unclaimed-state) to drop that state")
                raise CheckpointError(msg, checkpoint=self.path)
            if node.max_parallelism != meta["max_parallelism"]:
                msg = (f"restore from {self.path}: operator '{meta['name']}' was checkpointed with "
                       f"max parallelism {meta['max_parallelism']} but the job now has "
                       f"{node.max_parallelism}; the number of key groups cannot change (as in "
                       f"Flink). Hint: set_max_parallelism({meta['max_parallelism']}) on the job")
                raise CheckpointError(msg, checkpoint=self.path)

    def _load(self, op_id: str, subtask: int) -> dict[str, Any] | None:
        files = self.operators[op_id]["subtasks"]
        name = files.get(str(subtask))
        if name is None:
            return None
        key = (op_id, subtask)
        blob = self._bytes.get(key)
        if blob is None:
            blob = self._bytes[key] = self.loaded.read(name)
        return pickle.loads(blob)  # a fresh copy per new subtask: they must not share objects

    def for_operator(self, op_id: str, subtask: int, parallelism: int) -> tuple[list[dict], Any, int | None]:
        """``(snapshots, operator state, restored checkpoint id)`` for one new subtask."""
        meta = self.operators.get(op_id)
        if meta is None or op_id in self.skipped:
            return [], None, self.checkpoint_id
        old_p = meta["parallelism"]
        indices = [subtask] if old_p == parallelism else list(range(old_p))
        snaps = [s for s in (self._load(op_id, i) for i in indices) if s is not None]
        op_blobs = [s.pop("operator", None) for s in snaps]
        operator_state = None
        if any(op_blobs):
            old = [pickle.loads(b) if b else None for b in op_blobs]
            if old_p == parallelism:
                own = old[0]
                if own and any(e["mode"] == UNION for e in own["states"].values()):
                    # union state goes to every subtask whole: read the other subtasks' too
                    old = [own if i == subtask else self._operator_state(op_id, i)
                           for i in range(old_p)]
                    operator_state = redistribute(old, parallelism)[subtask]
                else:
                    operator_state = own
            else:
                operator_state = redistribute(old, parallelism)[subtask]
        return snaps, operator_state, self.checkpoint_id

    def _operator_state(self, op_id: str, subtask: int) -> dict[str, Any] | None:
        snap = self._load(op_id, subtask)
        blob = snap.get("operator") if snap else None
        return pickle.loads(blob) if blob else None
