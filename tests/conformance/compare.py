"""Compare a case's Java and strom outputs, up to the orders Flink leaves unspecified.

Each output line is ``STREAM|watermark|timestamp|key|rest``: ``M`` (main output) or ``L`` (late
side output), the watermark the last operator had seen when the line reached it, the record's
timestamp, its key and the formatted value. Compared:

- the main output per key, in order (across keys there is no order, at parallelism 2 least of all);
- the late side output as a multiset;
- a failure against a failure counts as agreement (both refuse the job); a failure on one side only
  is a difference.

Normalised (unspecified in Flink, so neither order is wrong):

- the elements a ``process`` function lists for a merging (session) window are sorted: after a merge
  Java's order follows the iteration order of a hash set of windows;
- with a ``ContinuousEventTimeTrigger`` several windows of one key can have timers at the same
  time, and Java fires those in its heap's order; for such cases each key's output is compared per
  window (its record timestamp, the window's max timestamp, names the window) in order, and across
  that key's windows as a multiset.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

Line = tuple[str, str, str, str, str]  # stream, watermark, timestamp, key, rest
_LIST = re.compile(r"\[([^\]]*)\]")


def parse(line: str) -> Line:
    parts = line.split("|", 4)
    if len(parts) != 5:
        raise ValueError(f"malformed output line {line!r}")
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def _merging(op: dict[str, Any]) -> bool:
    return op.get("kind") == "window" and op["assigner"]["type"] in ("session", "dynamic_session")


def _continuous(trigger: dict[str, Any] | None) -> bool:
    while trigger is not None:
        if trigger["type"] == "continuous":
            return True
        trigger = trigger.get("inner")
    return False


def _sort_lists(rest: str) -> str:
    return _LIST.sub(lambda m: "[" + " ".join(sorted(m.group(1).split())) + "]", rest)


def normalise(case: dict[str, Any], lines: list[str]) -> dict[str, Any]:
    """The comparable form of one side's output lines."""
    op = case["op"]
    sort_lists = _merging(op) and op.get("function") == "process"
    per_window = op.get("kind") == "window" and _continuous(op.get("trigger"))
    main: dict[str, list[Any]] = defaultdict(list)
    late: Counter[Line] = Counter()
    for raw in lines:
        stream, wm, ts, key, rest = parse(raw)
        if sort_lists:
            rest = _sort_lists(rest)
        if stream == "L":
            late[(stream, wm, ts, key, rest)] += 1
        else:
            main[key].append((wm, ts, rest))
    if per_window:
        normal: dict[str, Any] = {}
        for key, rows in main.items():
            windows: dict[str, list[Any]] = defaultdict(list)
            for row in rows:
                windows[row[1]].append(row)
            normal[key] = (dict(windows), Counter(rows))
        return {"main": normal, "late": late}
    return {"main": dict(main), "late": late}


def compare(case: dict[str, Any], java: dict[str, Any], strom: dict[str, Any]) -> str | None:
    """``None`` when the outputs agree (up to the unspecified orders), else what differs."""
    if "error" in java or "error" in strom:
        if "error" in java and "error" in strom:
            return None
        return (f"only one side failed: java={java.get('error', 'ok')!r} "
                f"strom={strom.get('error', 'ok')!r}")
    j, s = normalise(case, java["out"]), normalise(case, strom["out"])
    problems = []
    for key in sorted(set(j["main"]) | set(s["main"])):
        if j["main"].get(key) != s["main"].get(key):
            problems.append(f"main output of key {key!r} differs")
    if j["late"] != s["late"]:
        missing = j["late"] - s["late"]
        extra = s["late"] - j["late"]
        problems.append(f"late side output differs: only java {sorted(missing)}, only strom {sorted(extra)}")
    return "; ".join(problems) or None


def describe(case: dict[str, Any], java: dict[str, Any], strom: dict[str, Any]) -> str:
    """A failing case for a person: the case, both outputs side by side, and the difference."""
    import json

    def side(result: dict[str, Any]) -> str:
        if "error" in result:
            return "  ERROR " + result["error"]
        return "\n".join("  " + line for line in result["out"]) or "  (nothing)"

    return (f"case {case['id']}: {compare(case, java, strom)}\n{json.dumps(case)}\n"
            f"java:\n{side(java)}\nstrom:\n{side(strom)}")
