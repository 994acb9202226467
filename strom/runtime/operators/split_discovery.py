"""Split sources whose splits appear while the job runs (continuous file monitoring).

:class:`DiscoveringSplitSourceOperator` is a :class:`SplitSourceOperator` that keeps asking
``discover()`` for the splits present now, every ``interval_ms`` of processing time, on the
task's processing-time service (never a sleep: between discoveries the task is free for other
work, and with a ``ManualClock`` the executor jumps to the next discovery). Each split is read
once: a split is *seen* from its discovery on, and the seen splits are checkpointed with the
positions of the unfinished ones, so a restore neither re-reads a finished split nor loses an
unfinished one.

Flink runs one split enumerator per source on the JobManager that hands splits to readers;
strom has no coordinator for sources, so every subtask discovers on its own and keeps the
splits it *owns*: those whose stable hash (CRC-32 of ``repr(split)``) modulo the parallelism is
its index. Seen splits are union list state, so after a restore at another parallelism every
subtask knows every split seen before and keeps the ones it now owns; unfinished splits with
their positions are split list state, spread over the new subtasks as for any split source
(a subtask may so read a split it does not own: the owner has it in its seen set and never
takes it again).
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import Any

from strom.errors import StromError
from strom.runtime.operators.sources import END, NOTHING, SplitSourceOperator
from strom.state.descriptors import ListStateDescriptor

SEEN_STATE = "source-seen-splits"
"""The union list state holding every split a discovering source has seen."""


def owner(split: Any, parallelism: int) -> int:
    """The subtask index that takes ``split`` when it is discovered (stable across runs)."""
    return zlib.crc32(repr(split).encode("utf-8")) % parallelism


class DiscoveringSplitSourceOperator(SplitSourceOperator):
    """Reads splits as they are discovered, every ``interval_ms``; never ends by itself.

    Args:
        name: the operator's name.
        discover: ``() -> the splits present now`` (picklable, hashable ids whose ``repr`` is
            stable across processes, such as paths); called on the task's thread at open and
            then every ``interval_ms``.
        read_split: ``(split, position) -> records of that split from position on``.
        interval_ms: milliseconds of processing time between two discoveries (> 0).
    """

    def __init__(self, name: str, discover: Callable[[], Iterable[Any]],
                 read_split: Callable[[Any, int], Iterable[Any]], interval_ms: int) -> None:
        super().__init__(name, lambda parallelism: (), read_split)
        self.discover = discover
        self.interval_ms = interval_ms
        self.seen: set[Any] = set()

    def open(self) -> None:
        info = self.info
        self._seen_state = self.operator_state.get_union_list_state(ListStateDescriptor(SEEN_STATE))
        super().open()  # the unfinished splits with their positions, when restored
        if self.restored_checkpoint_id is not None:
            p, me = info.parallelism, info.subtask_index
            self.seen = {split for split in self._seen_state.get() if owner(split, p) == me}
        self._discover(info.processing_time.now())

    def _discover(self, timestamp: int) -> None:
        """Take the new splits this subtask owns, then schedule the next discovery."""
        info = self.info
        try:
            found = list(self.discover())
        except StromError:
            raise
        except Exception as exc:
            raise self.fail(exc, None, "discovering the splits of") from exc
        p, me, seen = info.parallelism, info.subtask_index, self.seen
        new = [split for split in found if split not in seen and owner(split, p) == me]
        if new:
            was_idle = not self.assigned
            seen.update(new)
            self.assigned.extend([split, 0] for split in new)
            if was_idle:
                self._open_split()
        if not self._cancelled:  # from now, so a late timer does not fire again to catch up
            info.processing_time.register(info.processing_time.now() + self.interval_ms,
                                          self._discover)

    def emit_next(self, budget: int) -> int:
        status = super().emit_next(budget)
        if status == END and not self._cancelled:
            return NOTHING  # every known split is read: wait for the next discovery
        return status

    def snapshot_state(self) -> dict:
        """Positions (split state) and every split seen by this subtask (union state)."""
        self._seen_state.update(list(self.seen))
        return super().snapshot_state()
