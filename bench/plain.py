"""The plain-Python baseline for W1/W2/W3: every operator fused into one loop.

Ported from /work/shared/bench/peers/plain_bench.py (the loops are unchanged). This is the
practical per-core ceiling for any Python stream engine: no framework dispatch, no batching,
no serialisation, state in plain dicts, but still streaming semantics:

  W1  make_event -> enrich -> filter(action != LOGOUT) -> sink counter
  W2  make_event -> bounded-out-of-orderness watermark (max_ts - 5000) -> key_by(user) ->
      tumbling 10 s event-time window, fired as soon as the watermark passes its end; late
      elements dropped and counted; end of input fires the rest (MAX_WATERMARK).
  W3  make_event -> key_by(user) -> ValueState counter -> emit (user, count) per event -> sink

``run(workload, n)`` returns a summary that ``check(workload, n, summary, expected)`` compares
with ``workloads.expected_*`` (see ``bench/run.py``).
"""
from __future__ import annotations

from workloads import OUT_OF_ORDERNESS_MS, WINDOW_MS, enrich, make_event

INF = float("inf")


def run_w1(n):
    me = make_event
    en = enrich
    out = 0  # sink counter
    for i in range(n):
        e = en(me(i))
        if e[1] != "LOGOUT":  # action != 'logout' (upper-cased by enrich)
            out += 1
    return out


def run_w2(n):
    me = make_event
    W = WINDOW_MS
    B = OUT_OF_ORDERNESS_MS
    windows = {}  # window_end -> {user: count}   (keyed window state)
    results = {}  # sink: {(user, window_start): count}
    fired = 0
    late = 0
    max_ts = -INF
    wm = -INF  # current watermark = max_ts - B
    next_fire = INF  # smallest pending window end (event-time timer)
    max_open = 0  # most windows (event-time panes) open at once

    for i in range(n):
        user, _action, ts = me(i)
        if ts > max_ts:
            max_ts = ts
            wm = ts - B
            if wm >= next_fire:  # watermark passed >=1 window end: fire them
                for end in sorted([e for e in windows if e <= wm]):
                    start = end - W
                    for u, c in windows.pop(end).items():
                        results[(u, start)] = c
                        fired += 1
                next_fire = min(windows) if windows else INF
        end = ts - ts % W + W
        if end <= wm:  # late element: window already fired
            late += 1
            continue
        d = windows.get(end)
        if d is None:
            d = windows[end] = {}
            if end < next_fire:
                next_fire = end
            if len(windows) > max_open:
                max_open = len(windows)
        d[user] = d.get(user, 0) + 1

    # end of input -> watermark = +inf: fire everything still open
    for end in sorted(windows):
        start = end - W
        for u, c in windows[end].items():
            results[(u, start)] = c
            fired += 1
    windows.clear()
    run_w2.max_open = max_open
    return results, fired, late


def run_w3(n):
    me = make_event
    state = {}  # ValueState<Long> per user
    emitted = 0  # sink counter
    last = {}  # sink: last (user, count) seen per user, for verification
    for i in range(n):
        user = me(i)[0]
        c = state.get(user, 0) + 1
        state[user] = c
        # emit (user, c) -> sink
        emitted += 1
        last[user] = c
    return emitted, last


RUNNERS = {"W1": run_w1, "W2": run_w2, "W3": run_w3}


def run(workload, n):
    """Run one workload; returns (summary for the check, extra info)."""
    if workload == "W1":
        return run_w1(n), {}
    if workload == "W2":
        results, fired, late = run_w2(n)
        return results, {"fired": fired, "late": late, "max_open_panes": run_w2.max_open}
    if workload == "W3":
        emitted, last = run_w3(n)
        return (emitted, last), {}
    raise SystemExit("unknown workload %r" % workload)


def check_extra(workload, info, expected):
    """The plain loop's own streaming checks (W2: windows fire as the watermark passes)."""
    if workload != "W2":
        return None
    if info["fired"] != len(expected) or info["late"] != 0 or info["max_open_panes"] > 2:
        return ("W2 plain: fired=%d (expected %d) late=%d max_open_panes=%d (expected <= 2)"
                % (info["fired"], len(expected), info["late"], info["max_open_panes"]))
    return None
