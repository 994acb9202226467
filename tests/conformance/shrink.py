"""Reduce a failing case to a small one that still fails.

Greedy, to a fixed point: drop runs of events (halves, quarters, ... single events), then simplify
the operation (no evictor, no trigger or its inner trigger, no lateness, no late output, parallelism
1, watermark bound 0, offset 0, a simpler function, keyed instead of all) and the events (one key,
value 0 or 1, timestamps closer to 0). A step is kept only when ``still_fails`` says the simpler case
still differs; at most ``budget`` candidates are tried.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

Case = dict[str, Any]


def _event_removals(case: Case) -> Iterator[Case]:
    events = case["events"]
    n = len(events)
    size = max(n // 2, 1)
    while size >= 1:
        for start in range(0, n, size):
            if n - size < 1:
                break
            candidate = copy.deepcopy(case)
            candidate["events"] = events[:start] + events[start + size:]
            yield candidate
        if size == 1:
            break
        size //= 2


def _op_simplifications(case: Case) -> Iterator[Case]:
    def variant(edit: Callable[[Case], None]) -> Case:
        c = copy.deepcopy(case)
        edit(c)
        return c

    op = case["op"]
    if case.get("parallelism", 1) != 1:
        yield variant(lambda c: c.update(parallelism=1))
    if case.get("ooo", 0) != 0:
        yield variant(lambda c: c.update(ooo=0))
    if op.get("kind") != "window":
        return
    if op.get("evictor") is not None:
        yield variant(lambda c: c["op"].update(evictor=None))
    trigger = op.get("trigger")
    if trigger is not None:
        if op["assigner"]["type"] != "global":
            yield variant(lambda c: c["op"].update(trigger=None))
        if trigger.get("inner") is not None:
            yield variant(lambda c: c["op"].update(trigger=copy.deepcopy(trigger["inner"])))
    if op.get("lateness", 0):
        yield variant(lambda c: c["op"].update(lateness=0))
    if op.get("late_output"):
        yield variant(lambda c: c["op"].update(late_output=False))
    if op["assigner"].get("offset", 0):
        yield variant(lambda c: c["op"]["assigner"].update(offset=0))
    if op.get("all") and op["assigner"]["type"] != "count":
        yield variant(lambda c: c["op"].update(all=False))
    for simpler in ("process", "reduce"):
        if op["function"] != simpler and not (simpler == "reduce" and op["function"] == "process"):
            yield variant(lambda c, f=simpler: c["op"].update(function=f))


def _event_simplifications(case: Case) -> Iterator[Case]:
    for i, (key, ts, value) in enumerate(case["events"]):
        for new in ([("a", ts, value)] if key != "a" else []) + ([(key, ts, 0)] if value not in (0, 1) else []) \
                + ([(key, ts // 2, value)] if abs(ts) > 1 else []):
            candidate = copy.deepcopy(case)
            candidate["events"][i] = list(new)
            yield candidate


def shrink(case: Case, still_fails: Callable[[Case], bool], budget: int = 400) -> tuple[Case, int]:
    """The smallest failing case found and the number of candidates tried."""
    best = copy.deepcopy(case)
    tried = 0
    progress = True
    while progress and tried < budget:
        progress = False
        for candidates in (_event_removals, _op_simplifications, _event_simplifications):
            for candidate in candidates(best):
                if tried >= budget:
                    break
                tried += 1
                if still_fails(candidate):
                    best = candidate
                    progress = True
                    break  # regenerate candidates from the smaller case
            if progress:
                break
    best["id"] = f"{case['id']}-min"
    return best, tried
