"""Snapshot and restore of the window operator, at the same and at other parallelisms.

Every test runs a script of elements, watermarks and processing-time steps twice: once
uninterrupted on one subtask, and once split: the first part on ``old_p`` subtasks, a snapshot
of each, ``WindowOperator.initialize_state`` into ``new_p`` fresh subtasks (each keeps its own key
groups), then the rest. The union of what the subtasks emit must equal the uninterrupted run:
the same records between the same watermarks, the same records per key in the same order, the
same late elements, and nothing left behind. Real operators, backends and timers throughout
(``strom.testing`` harnesses); nothing is mocked.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strom.runtime.elements import OutputTag
from strom.runtime.operators.window import WindowOperator
from strom.testing.harness import KeyedOneInputHarness, Record
from strom.time.clock import ManualClock
from strom.time.watermarks import MAX_WATERMARK, Watermark
from strom.window import (
    CountSlidingWindowAssigner,
    CountTumblingWindowAssigner,
    EventTimeSessionWindows,
    SlidingEventTimeWindows,
    TumblingEventTimeWindows,
    TumblingProcessingTimeWindows,
)
from tests.test_windows import CountAgg, KeyWindowCount, SlowEventTimeTrigger, add_pair, key0

LATE = OutputTag("late")
KEYS = [f"k{i}" for i in range(12)]


# key0, add_pair, CountAgg and SlowEventTimeTrigger are the window tests' own helpers.
KeyWindowContents = KeyWindowCount  # emits (key, start, end, sorted elements) per firing


def window_op(assigner, *, contents="reduce", function=add_pair, window_function=None,
              trigger=None, lateness=0, late_tag=LATE) -> WindowOperator:
    return WindowOperator("Window", assigner, trigger, key0, contents=contents, function=function,
                          window_function=window_function, allowed_lateness=lateness,
                          late_tag=late_tag)


FACTORIES: dict[str, Callable[[], WindowOperator]] = {
    "tumbling-fast-reduce": lambda: window_op(TumblingEventTimeWindows.of(30), lateness=20),
    "tumbling-fast-aggregate": lambda: window_op(
        TumblingEventTimeWindows.of(30), contents="aggregate", function=CountAgg(),
        window_function=KeyWindowContents(), lateness=20),
    "tumbling-general": lambda: window_op(TumblingEventTimeWindows.of(30), lateness=20,
                                          trigger=SlowEventTimeTrigger()),
    "sliding-fast": lambda: window_op(SlidingEventTimeWindows.of(30, 10), lateness=15),
    "sliding-general-list": lambda: window_op(
        SlidingEventTimeWindows.of(30, 10), contents="list", function=None,
        window_function=KeyWindowContents(), lateness=15),
    "session": lambda: window_op(EventTimeSessionWindows.with_gap(12), contents="list",
                                 function=None, window_function=KeyWindowContents(),
                                 lateness=20),
    "session-reduce": lambda: window_op(EventTimeSessionWindows.with_gap(12), lateness=0),
    "count-tumbling": lambda: window_op(CountTumblingWindowAssigner.of(3)),
    "count-sliding": lambda: window_op(CountSlidingWindowAssigner.of(4, 2)),
}


# -- scripts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcTime:
    """A script step: processing time moves to ``time``."""

    time: int


def event_script(seed: int, n: int = 80, delay: int = 10) -> list:
    """Elements ``(key, seq)`` with slightly out-of-order timestamps and some stragglers (a few
    later than any allowed lateness), a watermark ``delay`` behind the largest timestamp every
    few elements, and a final ``MAX_WATERMARK``."""
    rnd = random.Random(seed)
    script: list = []
    top = 0
    for seq in range(n):
        behind = rnd.randint(30, 110) if rnd.random() < 0.2 else rnd.randint(0, 8)
        ts = max(0, seq * 4 - behind)
        top = max(top, ts)
        script.append(((rnd.choice(KEYS), seq), ts))
        if rnd.random() < 0.25:
            script.append(Watermark(top - delay))
    script.append(Watermark(MAX_WATERMARK))
    return script


def split_after_watermark_near_middle(script: list) -> int:
    """The index just after the watermark closest to the middle (not the final one)."""
    marks = [i + 1 for i, item in enumerate(script[:-1]) if isinstance(item, Watermark)]
    return min(marks, key=lambda i: abs(i - len(script) // 2))


# -- running --------------------------------------------------------------------------------------


class Run:
    """What a set of subtasks emitted: per subtask output, side outputs and watermarks."""

    def __init__(self) -> None:
        self.main: Counter = Counter()            # (epoch, value, ts) over all subtasks
        self.per_key: dict = {}                   # key -> [(value, ts), ...] in emission order
        self.late_per_key: dict = {}              # key -> [(value, ts), ...]

    def collect(self, harnesses: list[KeyedOneInputHarness], epoch0: int) -> None:
        for h in harnesses:
            epoch = epoch0
            for item in h.output:
                if isinstance(item, Watermark):
                    epoch += 1
                    continue
                self.main[(epoch, repr(item.value), item.timestamp)] += 1
                self.per_key.setdefault(key0(item.value), []).append(item)
            for rec in h.side_output_records(LATE):
                self.late_per_key.setdefault(key0(rec.value), []).append(rec)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Run) and self.main == other.main
                and self.per_key == other.per_key and self.late_per_key == other.late_per_key)

    def __repr__(self) -> str:
        return f"Run(main={sorted(self.main.items())}, late={self.late_per_key})"


def make(factory, p: int, state=None, *, clock_at: int = 0) -> list[KeyedOneInputHarness]:
    return [KeyedOneInputHarness(factory(), key0, parallelism=p, subtask_index=i,
                                 clock=ManualClock(clock_at), initial_state=state)
            for i in range(p)]


def drive(harnesses: list[KeyedOneInputHarness], script: list) -> None:
    """Feed ``script``: each element to the subtask owning its key, time to all of them."""
    for item in script:
        if isinstance(item, Watermark):
            for h in harnesses:
                h.process_watermark(item)
        elif isinstance(item, ProcTime):
            for h in harnesses:
                h.set_processing_time(item.time)
        else:
            value, ts = item
            owner = [h for h in harnesses if h.owns(key0(value))]
            assert len(owner) == 1
            owner[0].process_element(value, ts)


def uninterrupted(factory, script: list) -> Run:
    run = Run()
    hs = make(factory, 1)
    drive(hs, script)
    run.collect(hs, 0)
    assert_clean(hs)
    return run


def restored(factory, script: list, split: int, old_p: int, new_p: int) -> tuple[Run, list]:
    """Run ``script[:split]`` on ``old_p`` subtasks, snapshot, restore into ``new_p``, run the rest."""
    run = Run()
    old = make(factory, old_p)
    drive(old, script[:split])
    snapshots = [h.snapshot() for h in old]
    run.collect(old, 0)
    now = max([0, *(s.time for s in script[:split] if isinstance(s, ProcTime))])
    new = make(factory, new_p, snapshots, clock_at=now)
    for h in new:  # each subtask took over only its own keys' state and timers
        timers = h.snapshot()["timers"]
        assert all(h.owns(k) for k in h.keys())
        assert all(h.owns(k) for domain in timers.values() for k, _w, _t in domain)
    drive(new, script[split:])
    epochs = sum(isinstance(s, Watermark) for s in script[:split])
    run.collect(new, epochs)
    later = [s.timestamp for s in script[split:] if isinstance(s, Watermark)]
    for h in new:
        assert h.watermarks() == later
    assert_clean(new)
    return run, new


def assert_clean(harnesses: list[KeyedOneInputHarness]) -> None:
    """After the final watermark no window state or timer is left (count windows keep their
    per-key counters and the panes that never filled, as in Flink)."""
    for h in harnesses:
        op = h.operator
        if op.event_time:
            assert h.backend.num_entries() == 0, h.backend
        assert op.num_event_time_timers() == 0
        assert h.num_processing_time_timers() == 0


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_p", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_restore_mid_stream_equals_an_uninterrupted_run(name, new_p):
    factory = FACTORIES[name]
    for seed in range(4):
        script = event_script(seed)
        split = split_after_watermark_near_middle(script)
        got, _ = restored(factory, script, split, 1, new_p)
        assert got == uninterrupted(factory, script), (name, seed)


@pytest.mark.parametrize("name", ["tumbling-fast-reduce", "sliding-general-list", "session",
                                  "count-sliding"])
def test_restore_from_two_subtasks_into_three_and_into_one(name):
    factory = FACTORIES[name]
    script = event_script(7)
    split = split_after_watermark_near_middle(script)
    expected = uninterrupted(factory, script)
    for new_p in (1, 3):
        got, _ = restored(factory, script, split, 2, new_p)
        assert got == expected


def test_scripts_exercise_late_data_and_lateness():
    """The scripts above are worth something: they drop late elements and re-fire panes."""
    run = uninterrupted(FACTORIES["tumbling-fast-reduce"], event_script(0))
    assert sum(map(len, run.late_per_key.values())) > 0
    fired = Counter((v[0], ts) for recs in run.per_key.values() for v, ts in
                    ((r.value, r.timestamp) for r in recs))
    assert max(fired.values()) > 1  # a pane fired again for an element within the lateness


def test_snapshot_holds_per_pane_timers_and_watermark_on_both_paths():
    script = [(("k1", 0), 5), (("k2", 1), 40), Watermark(29), (("k1", 2), 12)]
    snaps = {}
    for name in ("tumbling-fast-reduce", "tumbling-general"):
        (h,) = make(FACTORIES[name], 1)
        drive([h], script)
        snaps[name] = h.snapshot()
    fast, general = snaps["tumbling-fast-reduce"], snaps["tumbling-general"]
    assert fast["watermark"] == general["watermark"] == 29
    assert sorted(fast["timers"]["event"], key=repr) == sorted(general["timers"]["event"], key=repr)
    assert fast["timers"]["processing"] == general["timers"]["processing"] == []


@pytest.mark.parametrize("source,target", [("tumbling-fast-reduce", "tumbling-general"),
                                           ("tumbling-general", "tumbling-fast-reduce")])
def test_a_snapshot_of_either_path_restores_into_the_other(source, target):
    script = event_script(3)
    split = split_after_watermark_near_middle(script)
    old = make(FACTORIES[source], 1)
    drive(old, script[:split])
    new = make(FACTORIES[target], 2, [h.snapshot() for h in old])
    assert all((h.operator.fast is not None) == (target == "tumbling-fast-reduce") for h in new)
    drive(new, script[split:])
    run = Run()
    run.collect(old, 0)
    run.collect(new, sum(isinstance(s, Watermark) for s in script[:split]))
    assert run == uninterrupted(FACTORIES[source], script)


def test_old_subtasks_at_different_watermarks_restore_on_the_general_path():
    """Panes of one window that fired in one old subtask but not yet in the other cannot share
    the fast path's per-window bookkeeping: the restored subtask runs the general path, with
    every pane's own timers, and loses or repeats nothing."""
    factory = FACTORIES["tumbling-fast-reduce"]
    old = make(factory, 2)
    elements = [((k, i), 10 + i) for i, k in enumerate(KEYS)]
    drive(old, elements)
    old[0].process_watermark(35)      # window [0, 30) fired here, awaits cleanup (lateness 20)
    old[1].process_watermark(20)      # ... but not here
    snapshots = [h.snapshot() for h in old]
    (new,) = make(factory, 1, snapshots)
    assert new.operator.fast is None
    assert new.operator.current_watermark == 20
    rest = [Watermark(40), (("k1", 99), 25), Watermark(MAX_WATERMARK)]
    drive([new], rest)
    # the uninterrupted continuation of each old subtask, for its own keys
    expected = make(factory, 2)
    drive(expected, elements)
    expected[0].process_watermark(35)
    expected[1].process_watermark(20)
    for h in expected:
        h.clear_output()
    drive(expected, rest)
    want = Counter((r.value, r.timestamp) for h in expected for r in h.output
                   if isinstance(r, Record))
    got = Counter((r.value, r.timestamp) for r in new.output if isinstance(r, Record))
    assert got == want
    assert_clean([new])


def test_same_watermark_restore_keeps_the_fast_path():
    factory = FACTORIES["sliding-fast"]
    script = event_script(1)
    split = split_after_watermark_near_middle(script)
    _, new = restored(factory, script, split, 2, 3)
    assert all(h.operator.fast is not None for h in new)


def test_processing_time_windows_restore_their_timers():
    factory: Callable[[], WindowOperator] = lambda: window_op(  # noqa: E731
        TumblingProcessingTimeWindows.of(100), late_tag=None)
    script: list = []
    for step in range(12):
        script.append(ProcTime(step * 37))
        for j in range(3):
            script.append(((KEYS[(step * 3 + j) % len(KEYS)], step * 3 + j), None))
    script.append(ProcTime(10_000))
    split = next(i for i, s in enumerate(script) if isinstance(s, ProcTime) and s.time >= 200)
    expected = uninterrupted(factory, script)
    assert sum(map(len, expected.per_key.values())) > 0
    for new_p in (1, 2, 3):
        got, new = restored(factory, script, split, 1, new_p)
        assert sum(h.num_processing_time_timers() for h in new) == 0
        assert got == expected


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), where=st.floats(0, 1), old_p=st.integers(1, 2),
       new_p=st.integers(1, 3), fast=st.booleans())
def test_tumbling_restore_at_any_split_point_equals_an_uninterrupted_run(seed, where, old_p,
                                                                         new_p, fast):
    """Snapshot anywhere (between elements, not only after a watermark), at any parallelism."""
    factory = FACTORIES["tumbling-fast-reduce" if fast else "tumbling-general"]
    script = event_script(seed, n=40)
    split = int(where * (len(script) - 1))
    got, _ = restored(factory, script, split, old_p, new_p)
    assert got == uninterrupted(factory, script)
