"""Seeded random cases for the differential conformance suite.

A case is a JSON dict that both interpreters (``strom_runner.py`` and ``java/.../Reference.java``)
run the same way::

    {"id": "s0-17", "parallelism": 1 | 2,
     "ooo": N,                       # watermark max(ts) - N - 1 after every event, none periodically
     "events": [[key, ts, value], ...],
     "op": one of
       {"kind": "window", "all": bool,            # window_all / count_window_all when true
        "assigner": {"type": "tumbling", "size", "offset"} | {"type": "sliding", "size", "slide", "offset"}
                  | {"type": "session", "gap"} | {"type": "dynamic_session", "base", "mod"}  # gap = base + value % mod
                  | {"type": "global"} | {"type": "count", "size"[, "slide" only with all]},
        "trigger": null | {"type": "count", "n"} | {"type": "continuous", "interval"}
                 | {"type": "event_time"} | {"type": "purging", "inner": trigger},
        "evictor": null | {"type": "count", "n", "after"} | {"type": "time", "ms", "after"}
                 | {"type": "delta", "threshold", "after"},          # delta = |a.value - b.value|
        "lateness": ms, "late_output": bool,
        "function": "reduce" | "aggregate" | "process" | "aggregate_process" | "reduce_process"}
     | {"kind": "rolling", "agg": "sum" | "min" | "max" | "min_by" | "max_by" | "reduce"}   # on field 2
     | {"kind": "process", "delta", "delete", "clear", "chain"}}   # KeyedProcessFunction, see Program

Not generated on purpose: keyed ``count_window(size, slide)`` (strom follows PyFlink's Python
assigner there, docs/semantics.md), a custom trigger on a count window (strom's count assigner
has its own windows, Java's has one GlobalWindow), continuous triggers on GlobalWindows (their
next timer overflows Long.MAX_VALUE in Java), ``allowed_lateness(Long.MAX_VALUE)`` (overflows in
Java), count or delta evictors on merging windows (what they keep depends on the element
order after a merge, which Flink leaves to a hash set), and two events of one key at the same
time in dynamic-gap sessions (Java Flink loses data there, see ``_distinct_times_per_key``).
"""
from __future__ import annotations

import random
from typing import Any

KEYS = "abc"
MERGING = ("session", "dynamic_session")


def generate_cases(seed: int, count: int) -> list[dict[str, Any]]:
    """``count`` cases drawn from ``random.Random(seed)``; case ``i`` is ``s<seed>-<i>``."""
    rng = random.Random(seed)
    return [generate_case(rng, f"s{seed}-{i}") for i in range(count)]


def generate_case(rng: random.Random, case_id: str) -> dict[str, Any]:
    ooo = rng.choice([0, 0, 1, 2, 3, 5, 10])
    kind = rng.choices(["window", "rolling", "process"], weights=[78, 8, 14])[0]
    op = {"window": _window_op, "rolling": _rolling_op, "process": _process_op}[kind](rng)
    events = _events(rng, ooo)
    if op.get("assigner", {}).get("type") == "dynamic_session":
        events = _distinct_times_per_key(events)
    return {
        "id": case_id,
        "parallelism": rng.choice([1, 1, 2]),
        "ooo": ooo,
        "events": events,
        "op": op,
    }


def _distinct_times_per_key(events: list[list[Any]]) -> list[list[Any]]:
    """Keep the first event of each (key, timestamp). With dynamic gaps, a later element of the
    same key and time can get a window equal to an existing merged session; Java Flink 2.3 then
    re-maps that session to a new, empty state window and loses its elements (strom keeps them;
    docs/semantics.md). Distinct times per key keep the cases to what both do the same way."""
    seen: set[tuple[Any, int]] = set()
    kept = []
    for key, ts, value in events:
        if (key, ts) not in seen:
            seen.add((key, ts))
            kept.append([key, ts, value])
    return kept


def _events(rng: random.Random, ooo: int) -> list[list[Any]]:
    keys = KEYS[: rng.randint(1, len(KEYS))]
    cursor = rng.randint(-40, 10)
    events = []
    for _ in range(rng.randint(1, 14)):
        cursor += rng.choice([0, 1, 1, 2, 3, 5, 8])
        roll = rng.random()
        if roll < 0.12:
            ts = cursor - rng.randint(15, 50)  # very late
        elif roll < 0.45:
            ts = cursor - rng.randint(0, ooo + 3)  # out of order, maybe beyond the bound
        else:
            ts = cursor
        events.append([rng.choice(keys), ts, rng.randint(0, 9)])
    return events


def _trigger(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kind = rng.choice(["count", "count", "continuous", "continuous", "event_time", "purging"])
    if kind == "purging" and depth == 0:
        return {"type": "purging", "inner": _trigger(rng, 1)}
    if kind == "count" or kind == "purging":
        return {"type": "count", "n": rng.randint(1, 3)}
    if kind == "continuous":
        return {"type": "continuous", "interval": rng.randint(1, 8)}
    return {"type": "event_time"}


def _evictor(rng: random.Random, merging: bool) -> dict[str, Any]:
    kind = "time" if merging else rng.choice(["count", "time", "delta"])
    after = rng.random() < 0.5
    if kind == "count":
        return {"type": "count", "n": rng.randint(1, 3), "after": after}
    if kind == "time":
        return {"type": "time", "ms": rng.randint(1, 10), "after": after}
    return {"type": "delta", "threshold": rng.randint(1, 5), "after": after}


def _assigner(rng: random.Random, all_: bool) -> dict[str, Any]:
    kind = rng.choices(["tumbling", "sliding", "session", "dynamic_session", "global", "count"],
                       weights=[22, 26, 16, 12, 10, 14])[0]
    if kind == "tumbling":
        size = rng.randint(2, 15)
        offset = rng.randint(-size + 1, size - 1) if rng.random() < 0.35 else 0
        return {"type": "tumbling", "size": size, "offset": offset}
    if kind == "sliding":
        size = rng.randint(2, 15)
        slide = rng.randint(1, 20)  # slide > size leaves gaps between windows
        offset = rng.randint(-slide + 1, slide - 1) if rng.random() < 0.35 else 0
        return {"type": "sliding", "size": size, "slide": slide, "offset": offset}
    if kind == "session":
        return {"type": "session", "gap": rng.randint(1, 8)}
    if kind == "dynamic_session":
        return {"type": "dynamic_session", "base": rng.randint(1, 5), "mod": rng.randint(1, 5)}
    if kind == "global":
        return {"type": "global"}
    a: dict[str, Any] = {"type": "count", "size": rng.randint(1, 4)}
    if all_ and rng.random() < 0.6:
        a["slide"] = rng.randint(1, 4)
    return a


def _window_op(rng: random.Random) -> dict[str, Any]:
    all_ = rng.random() < 0.12
    a = _assigner(rng, all_)
    kind = a["type"]
    trigger: dict[str, Any] | None = None
    evictor: dict[str, Any] | None = None
    if kind == "global":
        n = rng.randint(1, 3)
        trigger = {"type": "count", "n": n}
        if rng.random() < 0.5:
            trigger = {"type": "purging", "inner": trigger}
    elif kind != "count" and rng.random() < 0.5:
        trigger = _trigger(rng)
    if not (all_ and kind == "count") and rng.random() < 0.35:
        evictor = _evictor(rng, kind in MERGING)
    functions = ["reduce", "aggregate", "process"] if all_ else [
        "reduce", "aggregate", "process", "process", "aggregate_process", "reduce_process"]
    return {
        "kind": "window",
        "all": all_,
        "assigner": a,
        "trigger": trigger,
        "evictor": evictor,
        "lateness": rng.choice([0, 0, 0, 1, 3, 5, 10, 20]),
        "late_output": rng.random() < 0.5,
        "function": rng.choice(functions),
    }


def _rolling_op(rng: random.Random) -> dict[str, Any]:
    return {"kind": "rolling", "agg": rng.choice(["sum", "min", "max", "min_by", "max_by", "reduce"])}


def _process_op(rng: random.Random) -> dict[str, Any]:
    return {"kind": "process", "delta": rng.randint(0, 10), "delete": rng.random() < 0.4,
            "clear": rng.random() < 0.4, "chain": rng.choice([0, 0, 1, 2])}
