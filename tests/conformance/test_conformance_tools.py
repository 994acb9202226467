"""The conformance suite's own pieces, without Java: generator, comparison, shrinker, strom runner."""
from __future__ import annotations

import json

from compare import compare, normalise
from generate import generate_cases
from shrink import shrink
from strom_runner import run_case


def test_generation_is_seeded_and_json() -> None:
    a, b = generate_cases(7, 50), generate_cases(7, 50)
    assert a == b
    assert generate_cases(8, 50) != a
    assert json.loads(json.dumps(a)) == a


def test_generator_covers_every_window_kind_trigger_and_evictor() -> None:
    cases = generate_cases(0, 500)
    ops = [c["op"] for c in cases]
    windows = [op for op in ops if op["kind"] == "window"]
    assert {op["assigner"]["type"] for op in windows} == {
        "tumbling", "sliding", "session", "dynamic_session", "global", "count"}
    triggers = {op["trigger"]["type"] for op in windows if op["trigger"]}
    assert triggers == {"count", "continuous", "event_time", "purging"}
    assert {op["evictor"]["type"] for op in windows if op["evictor"]} == {"count", "time", "delta"}
    assert any(op["assigner"].get("slide", 0) > op["assigner"].get("size", 10**9) for op in windows)
    assert any(e[1] < 0 for c in cases for e in c["events"])
    assert {op["kind"] for op in ops} == {"window", "rolling", "process"}
    assert {c["parallelism"] for c in cases} == {1, 2}
    assert any(op.get("all") for op in windows)


def _session_case() -> dict:
    return {"id": "t", "events": [], "op": {"kind": "window", "assigner": {"type": "session", "gap": 3},
                                           "trigger": None, "function": "process"}}


def test_session_element_order_is_normalised_but_contents_are_not() -> None:
    case = _session_case()
    java = {"out": ["M|5|9|a|0,10,[a:1@1 a:2@3]"]}
    assert compare(case, java, {"out": ["M|5|9|a|0,10,[a:2@3 a:1@1]"]}) is None
    assert compare(case, java, {"out": ["M|5|9|a|0,10,[a:2@3 a:2@1]"]}) is not None
    tumbling = dict(case, op=dict(case["op"], assigner={"type": "tumbling", "size": 10}))
    assert compare(tumbling, java, {"out": ["M|5|9|a|0,10,[a:2@3 a:1@1]"]}) is not None


def test_order_is_compared_per_key_and_late_output_as_multiset() -> None:
    case = {"id": "t", "events": [], "op": {"kind": "rolling", "agg": "sum"}}
    java = {"out": ["M|0|1|a|1,1", "M|0|2|b|2,2", "M|1|3|a|3,4", "L|1|0|a|0,1", "L|1|0|b|0,1"]}
    assert compare(case, java, {"out": ["M|0|2|b|2,2", "L|1|0|b|0,1", "M|0|1|a|1,1", "L|1|0|a|0,1",
                                        "M|1|3|a|3,4"]}) is None
    assert "key 'a'" in compare(case, java, {"out": ["M|1|3|a|3,4", "M|0|1|a|1,1", "M|0|2|b|2,2",
                                                     "L|1|0|a|0,1", "L|1|0|b|0,1"]})
    assert "late" in compare(case, java, {"out": java["out"][:4]})
    assert "only one side failed" in compare(case, java, {"error": "X: y"})
    assert compare(case, {"error": "A: b"}, {"error": "X: y"}) is None


def test_continuous_trigger_ties_across_windows_are_normalised() -> None:
    case = {"id": "t", "events": [], "op": {"kind": "window", "assigner": {"type": "sliding", "size": 10, "slide": 5},
                                           "trigger": {"type": "continuous", "interval": 2}, "function": "reduce"}}
    java = {"out": ["M|3|9|a|a|4,1", "M|3|4|a|a|4,1", "M|5|9|a|a|6,2"]}
    assert compare(case, java, {"out": ["M|3|4|a|a|4,1", "M|3|9|a|a|4,1", "M|5|9|a|a|6,2"]}) is None
    # one window's own firings keep their order
    assert compare(case, java, {"out": ["M|5|9|a|a|6,2", "M|3|4|a|a|4,1", "M|3|9|a|a|4,1"]}) is not None
    assert normalise(case, java["out"])["main"]["a"][0]["9"] == [("3", "9", "a|4,1"), ("5", "9", "a|6,2")]


def test_shrinker_finds_the_minimal_failing_case() -> None:
    case = generate_cases(3, 1)[0]
    case["events"] = [["a", t, v] for t, v in [(1, 5), (2, 7), (3, 9), (4, 2), (5, 8), (6, 3)]]
    # "fails" while an event with value 9 and one with value 8 are both present
    def fails(c: dict) -> bool:
        values = [e[2] for e in c["events"]]
        return 9 in values and 8 in values

    minimal, tried = shrink(case, fails)
    assert sorted(e[2] for e in minimal["events"]) == [8, 9]
    assert minimal["parallelism"] == 1 and minimal["ooo"] == 0
    assert 0 < tried < 400


def test_strom_runner_formats_window_output() -> None:
    case = {"id": "w", "parallelism": 1, "ooo": 0,
            "events": [["a", 1, 1], ["a", 3, 2], ["b", 4, 5], ["a", 12, 1]],
            "op": {"kind": "window", "assigner": {"type": "tumbling", "size": 10, "offset": 0},
                   "trigger": None, "evictor": None, "lateness": 0, "late_output": False, "function": "process"}}
    # the same lines Java Flink 2.3 printed for this case
    assert run_case(case)["out"] == ["M|3|9|a|0,10,[a:1@1 a:2@3]", "M|3|9|b|0,10,[b:5@4]",
                                     "M|11|19|a|10,20,[a:1@12]"]
