"""Kafka transactions of an EXACTLY_ONCE sink subtask, tied to checkpoints.

librdkafka runs one transaction at a time per producer, and a transaction pre-committed at
checkpoint *n* is committed only when *n* completes, while records after the barrier already
go into the next one. So a subtask keeps a small pool of transactional producers, ids
``<prefix>-<subtask>-<slot>``: the open transaction takes a free slot, pre-committed ones
keep theirs until committed.

Recovery (Flink's, within what librdkafka allows):

* A transaction of the restored checkpoint (pre-committed, maybe not committed yet) is
  committed. librdkafka cannot resume another producer's transaction (Java's client can,
  through internals Flink uses), so the producers of pre-committed transactions stay alive in
  a process-wide registry after their sink closes, and the restored subtask commits through
  them. A restore in *another* process cannot do that: if the failure fell exactly between a
  checkpoint's completion and its commit and took the process down, that transaction is
  aborted; a warning names the transactional id and the checkpoint.
* Every other slot of the subtask (and of removed old subtasks whose state it takes over) is fenced
  and aborted: a producer is created with the same transactional id and ``init_transactions``
  runs, which aborts whatever an earlier attempt left open, so ``read_committed`` readers are
  not blocked until the transaction timeout.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from strom.connectors.kafka._common import KafkaConnectorError, creation_error

_LOG = logging.getLogger("strom.connectors.kafka")
TIMEOUT_S = 60.0
SPARE_SLOTS = 2  # fenced beyond the slots a checkpoint knew (an attempt may have used more)


@dataclass
class _Live:
    """A transactional producer alive in this process."""

    producer: Any
    open: bool = False                   # a transaction is in progress (not pre-committed)
    pre_committed: int | None = None     # checkpoint id whose barrier pre-committed it
    committed_up_to: int = -1            # the newest checkpoint whose transaction it committed


@dataclass
class _Registry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: dict[tuple[str, str], _Live] = field(default_factory=dict)  # (servers, txn id) -> producer


REGISTRY = _Registry()


class TransactionPool:
    """The transactional producers of one sink subtask (see the module doc)."""

    def __init__(self, ck: Any, conf: dict[str, Any], prefix: str, subtask: int, servers: str) -> None:
        self.ck = ck
        self.conf = conf
        self.prefix = prefix
        self.subtask = subtask
        self.servers = servers
        self.slots = 0                  # slots used so far (ids 0 .. slots-1)
        self.current: str | None = None
        self.pending: list[tuple[int, str]] = []   # (checkpoint id, transactional id)
        self.finishing = False

    def txn_id(self, slot: int, subtask: int | None = None) -> str:
        return f"{self.prefix}-{self.subtask if subtask is None else subtask}-{slot}"

    def _live(self, txn_id: str, fresh: bool = False) -> _Live:
        """The producer of ``txn_id``: reused from the registry, or created (``init_transactions``
        fences earlier producers of that id and aborts their open transaction)."""
        key = (self.servers, txn_id)
        with REGISTRY.lock:
            live = REGISTRY.live.get(key)
        if live is not None and not fresh:
            return live
        if live is not None:
            _discard(live)
        conf = dict(self.conf, **{"transactional.id": txn_id})
        try:
            producer = self.ck.Producer(conf)
        except Exception as exc:
            raise creation_error(exc, "transactional producer", self.servers) from exc
        try:
            producer.init_transactions(TIMEOUT_S)
        except Exception as exc:
            raise KafkaConnectorError(
                f"KafkaSink: init_transactions for transactional id {txn_id!r} at {self.servers!r} "
                f"failed: {exc}; hint: is the broker up, and does it allow transactions "
                "(transaction.state.log.replication.factor <= number of brokers)?") from exc
        live = _Live(producer)
        with REGISTRY.lock:
            REGISTRY.live[key] = live
        return live

    # -- recovery --------------------------------------------------------------------------------
    def recover(self, restored: list[dict], parallelism: int) -> None:
        """Commit the restored checkpoint's transactions; fence and abort every other one.

        ``restored`` holds the entries of every old subtask (union state): this subtask takes
        over its own old index's, and those of old subtasks that no longer exist (``index %
        parallelism``), so no two subtasks ever touch the same transactional ids."""
        restored = [e for e in restored if e["subtask"] == self.subtask
                    or (e["subtask"] >= parallelism and e["subtask"] % parallelism == self.subtask)]
        committed: set[str] = set()  # committed by this restore: their producers are idle
        for entry in restored:
            for checkpoint_id, txn_id in entry["pending"]:
                if self._recover_commit(checkpoint_id, txn_id):
                    committed.add(txn_id)
        to_fence: set[str] = set()
        subtasks = {self.subtask} | {entry["subtask"] for entry in restored}
        known = max([entry["slots"] for entry in restored] + [0])
        for subtask in subtasks:
            to_fence.update(self.txn_id(s, subtask) for s in range(known + SPARE_SLOTS))
        with REGISTRY.lock:  # whatever an earlier attempt in this process used
            for servers, txn_id in REGISTRY.live:
                owner = txn_id.rsplit("-", 2)
                if servers == self.servers and len(owner) == 3 and owner[0] == self.prefix \
                        and owner[1].isdigit() and int(owner[1]) in subtasks:
                    to_fence.add(txn_id)
        for txn_id in sorted(to_fence):
            live = self._live(txn_id, fresh=txn_id not in committed)
            live.open, live.pre_committed = False, None
        own = [int(t.rsplit("-", 1)[1]) for t in to_fence if t.startswith(f"{self.prefix}-{self.subtask}-")]
        self.slots = max(own, default=-1) + 1

    def _recover_commit(self, checkpoint_id: int, txn_id: str) -> bool:
        """Commit a restored transaction if this process holds it; True if committed here (the
        producer is then idle and is reused). A transaction committed before the failure returns
        False: its producer may since have begun (or pre-committed) a newer transaction of the
        failed attempt, which the fencing must abort."""
        with REGISTRY.lock:
            live = REGISTRY.live.get((self.servers, txn_id))
        if live is not None and live.committed_up_to >= checkpoint_id:
            return False  # committed before the failure
        if live is not None and live.pre_committed == checkpoint_id:
            self._commit(live, txn_id, checkpoint_id)
            return True
        _LOG.warning("KafkaSink: transaction %r of checkpoint %d was pre-committed by a producer "
                     "this process does not hold (another TaskManager process, or one that "
                     "ended). If that producer committed it after the checkpoint completed (the "
                     "usual case) nothing is lost; if its process ended between the checkpoint's "
                     "completion and the commit, librdkafka cannot resume the transaction and its "
                     "records are aborted by the fencing that follows", txn_id, checkpoint_id)
        return False

    # -- the cycle -------------------------------------------------------------------------------
    def begin(self) -> Any:
        """Open a transaction in a free slot; returns its producer."""
        busy = {txn for _, txn in self.pending}
        slot = 0
        while self.txn_id(slot) in busy:
            slot += 1
        txn_id = self.txn_id(slot)
        self.slots = max(self.slots, slot + 1)
        live = self._live(txn_id)
        try:
            live.producer.begin_transaction()
        except Exception as exc:
            raise KafkaConnectorError(f"KafkaSink: begin_transaction on {txn_id!r} failed: {exc}") from exc
        live.open = True
        self.current = txn_id
        return live.producer

    def pre_commit(self, checkpoint_id: int) -> Any:
        """At the barrier: flush the open transaction and keep it for the commit; begin the next
        one unless the input ended. Returns the producer to write to next (or None)."""
        if self.current is not None:
            with REGISTRY.lock:
                live = REGISTRY.live[(self.servers, self.current)]
            left = live.producer.flush(TIMEOUT_S)
            if left:
                raise KafkaConnectorError(
                    f"KafkaSink: {left} record(s) of transaction {self.current!r} were not "
                    f"acknowledged by {self.servers!r} within {TIMEOUT_S:.0f} s (checkpoint "
                    f"{checkpoint_id})")
            live.open, live.pre_committed = False, checkpoint_id
            self.pending.append((checkpoint_id, self.current))
            self.current = None
        return None if self.finishing else self.begin()

    def state(self) -> dict:
        """What the checkpoint keeps: the pre-committed transactions and the slots used."""
        return {"subtask": self.subtask, "pending": list(self.pending), "slots": self.slots}

    def commit_up_to(self, checkpoint_id: int) -> None:
        """Checkpoint ``checkpoint_id`` completed: commit its transaction and earlier ones."""
        done = [(cid, txn) for cid, txn in self.pending if cid <= checkpoint_id]
        for cid, txn in done:
            with REGISTRY.lock:
                live = REGISTRY.live[(self.servers, txn)]
            self._commit(live, txn, cid)
        self.pending = [(cid, txn) for cid, txn in self.pending if cid > checkpoint_id]
        if self.finishing and not self.pending and self.current is None:
            self.release()

    def _commit(self, live: _Live, txn_id: str, checkpoint_id: int) -> None:
        try:
            live.producer.commit_transaction(TIMEOUT_S)
        except Exception as exc:
            raise KafkaConnectorError(
                f"KafkaSink: committing transaction {txn_id!r} of checkpoint {checkpoint_id} at "
                f"{self.servers!r} failed: {exc}") from exc
        live.pre_committed = None
        live.committed_up_to = max(live.committed_up_to, checkpoint_id)

    def close(self) -> None:
        """Abort the open transaction; pre-committed ones stay in the registry for the restore."""
        if self.current is None:
            return
        with REGISTRY.lock:
            live = REGISTRY.live.get((self.servers, self.current))
        self.current = None
        if live is None:
            return
        try:
            live.producer.abort_transaction(10)
            live.open = False
        except Exception as exc:  # the restore fences this id anyway
            _LOG.warning("KafkaSink: aborting a transaction on close failed (%s); the next "
                         "attempt fences it", exc)

    def release(self) -> None:
        """The job finished and everything is committed: drop this subtask's producers."""
        prefix = f"{self.prefix}-{self.subtask}-"
        with REGISTRY.lock:
            mine = [k for k in REGISTRY.live if k[0] == self.servers and k[1].startswith(prefix)]
            lives = [REGISTRY.live.pop(k) for k in mine]
        for live in lives:
            _discard(live)


def _discard(live: _Live) -> None:
    """Drop a producer without waiting on it (its transaction is fenced by whoever replaces it)."""
    try:
        live.producer.purge()
    except Exception as exc:  # already fenced or failed: nothing left to purge
        _LOG.debug("KafkaSink: purging a replaced producer: %s", exc)
