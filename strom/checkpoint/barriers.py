"""Checkpoint barriers and the per-task barrier handlers (Flink's CheckpointBarrierHandler).

A :class:`CheckpointBarrier` travels in-band through every channel behind the records that
belong before the checkpoint. A task with several input channels runs one handler over all of
them (both inputs of a two-input task included) that decides when the task takes its snapshot:

* :class:`BarrierAligner` (EXACTLY_ONCE, Flink's aligned ``SingleCheckpointBarrierHandler``):
  a channel that delivered barrier *n* is *blocked* (the task stops polling it) until every
  other open channel has delivered *n* too; then the task snapshots and every channel is
  unblocked. So no record after the barrier is processed before the snapshot.
* :class:`BarrierTracker` (AT_LEAST_ONCE, Flink's ``CheckpointBarrierTracker``): never blocks;
  the task snapshots once barrier *n* has arrived on every open channel, so records after the
  barrier on fast channels may be in the snapshot (and replayed after a restore).

A channel that ended (``EndOfPartition``) has delivered everything it ever will, so it counts
as having delivered every barrier. A barrier of a newer checkpoint arriving while an older one
is still aligning aborts the older one (as in Flink); barriers of checkpoints older than the
newest one seen are ignored.

Both handlers are pure state machines (no I/O, no clock): the task feeds them channel events
and acts on what they return. Example:

    >>> h = BarrierAligner(2)
    >>> h.on_barrier(0, CheckpointBarrier(1, 0)).trigger is None, h.blocked
    (True, [True, False])
    >>> h.on_barrier(1, CheckpointBarrier(1, 0)).trigger, h.blocked
    (CheckpointBarrier(checkpoint_id=1, timestamp=0, savepoint=False), [False, False])
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BarrierAligner", "BarrierResult", "BarrierTracker", "CheckpointBarrier", "barrier_handler"]


@dataclass(frozen=True, slots=True)
class CheckpointBarrier:
    """Checkpoint ``checkpoint_id`` (triggered at processing time ``timestamp``) passes here."""

    checkpoint_id: int
    timestamp: int
    savepoint: bool = False
    stop: str | None = None
    """Stop-with-savepoint (Flink's ``SavepointType``): ``"suspend"`` (every task pauses after
    its snapshot and ends when the savepoint completes) or ``"terminate"`` (``--drain``: sources
    emit MAX_WATERMARK before the barrier and end after it); None for any other checkpoint."""


@dataclass(frozen=True, slots=True)
class BarrierResult:
    """What a handler tells the task: snapshot now (``trigger``) and/or checkpoints given up."""

    trigger: CheckpointBarrier | None = None
    aborted: tuple[int, ...] = ()
    alignment_started: bool = False


_NOTHING = BarrierResult()


class BarrierAligner:
    """Exactly-once alignment over ``num_channels`` input channels.

    Attributes:
        blocked: per channel, True while the task must not poll it.
        aligning: the barrier being aligned, None when no alignment is in progress.
    """

    def __init__(self, num_channels: int) -> None:
        self.num_channels = num_channels
        self.blocked = [False] * num_channels
        self.ended = [False] * num_channels
        self.aligning: CheckpointBarrier | None = None
        self.latest = -1  # highest checkpoint id seen (aligned, aborted or in progress)
        self._arrived = [False] * num_channels

    def on_barrier(self, channel: int, barrier: CheckpointBarrier) -> BarrierResult:
        """Barrier ``barrier`` arrived on ``channel``."""
        cid = barrier.checkpoint_id
        aborted: tuple[int, ...] = ()
        started = False
        if self.aligning is not None and cid > self.aligning.checkpoint_id:
            aborted = (self.aligning.checkpoint_id,)
            self._reset()
        if cid < self.latest or (cid == self.latest and self.aligning is None):
            return BarrierResult(aborted=aborted)  # an old or already-handled checkpoint
        if self.aligning is None:
            self.aligning = barrier
            self.latest = cid
            started = True
        self._arrived[channel] = True
        self.blocked[channel] = True
        return self._maybe_complete(aborted, started)

    def on_end_of_partition(self, channel: int) -> BarrierResult:
        """``channel`` ended; it holds back no alignment from now on."""
        self.ended[channel] = True
        self.blocked[channel] = False
        if self.aligning is None:
            return _NOTHING
        return self._maybe_complete((), False)

    def _maybe_complete(self, aborted: tuple[int, ...], started: bool) -> BarrierResult:
        arrived, ended = self._arrived, self.ended
        if all(arrived[c] or ended[c] for c in range(self.num_channels)):
            barrier = self.aligning
            self._reset()
            return BarrierResult(barrier, aborted, started)
        return BarrierResult(None, aborted, started)

    def abort(self, checkpoint_id: int) -> bool:
        """Give up aligning ``checkpoint_id`` (it was declined elsewhere); True if it was aligning."""
        if self.aligning is not None and self.aligning.checkpoint_id == checkpoint_id:
            self._reset()
            return True
        return False

    def _reset(self) -> None:
        self.aligning = None
        n = self.num_channels
        self._arrived = [False] * n
        self.blocked[:] = [False] * n


@dataclass(slots=True)
class _Pending:
    barrier: CheckpointBarrier
    arrived: set[int] = field(default_factory=set)


class BarrierTracker:
    """At-least-once barrier tracking over ``num_channels`` channels: never blocks a channel."""

    def __init__(self, num_channels: int) -> None:
        self.num_channels = num_channels
        self.blocked = [False] * num_channels  # always all False
        self.ended = [False] * num_channels
        self.latest = -1  # highest checkpoint id triggered
        self._pending: dict[int, _Pending] = {}

    @property
    def aligning(self) -> CheckpointBarrier | None:
        """The oldest checkpoint still waiting for barriers, if any."""
        if not self._pending:
            return None
        return self._pending[min(self._pending)].barrier

    def on_barrier(self, channel: int, barrier: CheckpointBarrier) -> BarrierResult:
        cid = barrier.checkpoint_id
        if cid <= self.latest:
            return _NOTHING
        pending = self._pending.get(cid)
        started = pending is None
        if pending is None:
            pending = self._pending[cid] = _Pending(barrier)
        pending.arrived.add(channel)
        return self._maybe_complete(cid, started)

    def on_end_of_partition(self, channel: int) -> BarrierResult:
        """``channel`` ended: it counts as having delivered every pending barrier. When that
        completes several pending checkpoints at once, the newest triggers and the older ones
        are given up (one result carries one trigger; taking the oldest left the newer ones
        pending with no event left to complete them)."""
        self.ended[channel] = True
        for cid in sorted(self._pending, reverse=True):
            result = self._maybe_complete(cid, False)
            if result.trigger is not None:
                return result
        return _NOTHING

    def _maybe_complete(self, cid: int, started: bool) -> BarrierResult:
        pending = self._pending[cid]
        if all(c in pending.arrived or self.ended[c] for c in range(self.num_channels)):
            # Older checkpoints still pending can no longer complete here: drop them (Flink's rule).
            older = tuple(sorted(i for i in self._pending if i < cid))
            for i in (*older, cid):
                del self._pending[i]
            self.latest = cid
            return BarrierResult(pending.barrier, older, started)
        return BarrierResult(None, (), started)

    def abort(self, checkpoint_id: int) -> bool:
        return self._pending.pop(checkpoint_id, None) is not None


def barrier_handler(exactly_once: bool, num_channels: int) -> BarrierAligner | BarrierTracker:
    """The handler for a task with ``num_channels`` input channels in the given mode."""
    return BarrierAligner(num_channels) if exactly_once else BarrierTracker(num_channels)
