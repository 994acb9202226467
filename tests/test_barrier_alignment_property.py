"""The barrier handlers (strom.checkpoint.barriers) against a model, for any interleaving.

Each input channel carries records and the barriers of an increasing subset of checkpoints
1..K (a channel may miss one: declined upstream), and may end with an end of partition. The
task polls only unblocked channels; Hypothesis picks which one delivers next.

Checkpoint *n* is *deliverable* when some channel carries it and every channel carries it or
ends having carried only older barriers. Then:

* aligner (EXACTLY_ONCE): every deliverable checkpoint triggers exactly once, in id order;
  no record behind barrier *n* on a channel is processed before *n* was triggered or given
  up; at the end nothing is blocked, unless alignment waits for a barrier that a channel
  that has not ended may still bring;
* tracker (AT_LEAST_ONCE): never blocks; every deliverable checkpoint triggers exactly once
  (or is given up because a newer one triggered first), none triggers twice or out of order.
"""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from strom.checkpoint.barriers import BarrierAligner, BarrierTracker, CheckpointBarrier

K = 5


@st.composite
def channels(draw: Any) -> list[list[tuple[str, int]]]:
    """Per channel: its items in order, ("rec", seq), ("bar", id) or ("end", 0)."""
    n = draw(st.integers(1, 4))
    result = []
    for _ in range(n):
        ids = sorted(draw(st.sets(st.integers(1, K), max_size=K)))
        items: list[tuple[str, int]] = []
        for cid in ids:
            items += [("rec", 0)] * draw(st.integers(0, 2)) + [("bar", cid)]
        items += [("rec", 0)] * draw(st.integers(0, 2))
        if draw(st.booleans()):
            items.append(("end", 0))
        result.append(items)
    return result


def deliverable(chs: list[list[tuple[str, int]]]) -> list[int]:
    out = []
    for n in range(1, K + 1):
        carried = [n in [v for k, v in ch if k == "bar"] for ch in chs]
        ended_before = [ch and ch[-1][0] == "end" and all(v < n for k, v in ch if k == "bar")
                        for ch in chs]
        if any(carried) and all(c or e for c, e in zip(carried, ended_before)):
            out.append(n)
    return out


def drive(handler: Any, chs: list[list[tuple[str, int]]], data: Any, check_records: bool
          ) -> tuple[list[int], set[int]]:
    pos = [0] * len(chs)
    behind = [0] * len(chs)  # the newest barrier id each channel delivered
    triggered: list[int] = []
    given_up: set[int] = set()
    while True:
        ready = [c for c in range(len(chs)) if pos[c] < len(chs[c]) and not handler.blocked[c]]
        if not ready:
            break
        c = data.draw(st.sampled_from(ready))
        kind, value = chs[c][pos[c]]
        pos[c] += 1
        if kind == "rec":
            if check_records and behind[c]:
                n = behind[c]
                # snapshotted, given up, or subsumed by a newer checkpoint already under way
                assert n in triggered or n in given_up or n < handler.latest, (
                    f"a record behind barrier {n} on channel {c} was processed before its snapshot")
            continue
        if kind == "bar":
            behind[c] = value
            result = handler.on_barrier(c, CheckpointBarrier(value, 0))
        else:
            result = handler.on_end_of_partition(c)
        given_up.update(result.aborted)
        if result.trigger is not None:
            triggered.append(result.trigger.checkpoint_id)
    if any(handler.blocked):  # only while waiting for a barrier a live channel may still bring
        assert handler.aligning is not None
        assert handler.aligning.checkpoint_id not in deliverable(chs)
        assert any(not ch or ch[-1][0] != "end" for ch in chs)
    else:
        assert all(pos[c] == len(chs[c]) for c in range(len(chs)))
    return triggered, given_up


@settings(max_examples=300)
@given(chs=channels(), data=st.data())
def test_aligner_triggers_each_deliverable_checkpoint_once_and_holds_records_back(
        chs: list[list[tuple[str, int]]], data: Any) -> None:
    handler = BarrierAligner(len(chs))
    triggered, _ = drive(handler, chs, data, check_records=True)
    assert triggered == sorted(set(triggered))
    assert set(deliverable(chs)) <= set(triggered)
    assert handler.aligning is None or handler.aligning.checkpoint_id not in triggered


@settings(max_examples=300)
@given(chs=channels(), data=st.data())
def test_tracker_never_blocks_and_triggers_when_all_open_channels_delivered(
        chs: list[list[tuple[str, int]]], data: Any) -> None:
    handler = BarrierTracker(len(chs))
    triggered, given_up = drive(handler, chs, data, check_records=False)
    assert triggered == sorted(set(triggered))
    for n in deliverable(chs):
        assert n in triggered or (n in given_up and any(t > n for t in triggered)), (n, triggered)
