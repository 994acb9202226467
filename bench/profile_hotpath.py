#!/usr/bin/env python
"""Where strom spends its time per record on W1 and W3 (parallelism 1), vs the plain loop.

Usage: python bench/profile_hotpath.py [--n 200000] [--repeat 5] [--cprofile] [--no-fusion-compare]

Prints (input for bench/PROFILE.md):
  1. the cost of the user functions alone (make_event, enrich, the filter lambda, the sinks'
     invoke, the W3 process_element) in a bare loop, ns per record;
  2. a "stage ladder": strom jobs that add one operator at a time (source -> sink, + map(make_event),
     + map(enrich), + filter, ...; for W3: + key_by, + process ...), ns per source record, the
     minimum of --repeat runs, in this process (first run of each is a warm-up of nothing: every
     job is built fresh). The difference between two rungs is what that stage costs in strom;
     subtracting the bare user-function cost gives the framework's own overhead per stage;
  3. with --cprofile, the top functions by own time for W1 and W3 (untyped), and W3 with its
     output types declared (as bench/run.py's ``strom`` engine runs it).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))

from strom.common import Types  # noqa: E402
from strom.datastream import KeyedProcessFunction, StreamExecutionEnvironment  # noqa: E402
from strom.datastream.connectors.number_seq import NumberSequenceSource  # noqa: E402

import strom_jobs  # noqa: E402
from strom_jobs import CountingSink, CountPerUser, LastCountSink, _RegisteredSink  # noqa: E402
from workloads import enrich, make_event  # noqa: E402


def best_ns(fn, n, repeat):
    """Minimum CPU time of ``repeat`` calls, in ns per record (CPU time: robust to a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best * 1e9 / n


def best_ns_interleaved(named_fns, n, repeat):
    """Like best_ns for several functions, taking turns so load bursts hit all of them alike."""
    best = {name: float("inf") for name, _ in named_fns}
    for _ in range(repeat):
        for name, fn in named_fns:
            t0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t0)
    return [(name, best[name] * 1e9 / n) for name, _ in named_fns]


# --------------------------------------------------------------------------- user functions alone
def user_costs(n, repeat):
    events = [make_event(i) for i in range(n)]
    enriched = [enrich(e) for e in events]
    pred = lambda e: e[1] != "LOGOUT"  # noqa: E731
    sink = CountingSink()
    sink.reset()
    last = LastCountSink()
    last.reset()
    pairs = [(e[0], 1) for e in events]

    class _Ctx:
        pass

    def loop_empty():
        for _i in range(n):
            pass

    def loop_make():
        for i in range(n):
            make_event(i)

    def loop_enrich():
        for e in events:
            enrich(e)

    def loop_filter():
        for e in enriched:
            pred(e)

    def loop_sink():
        inv = sink.invoke
        for e in enriched:
            inv(e, None)

    def loop_last():
        inv = last.invoke
        for p in pairs:
            inv(p, None)

    def loop_state_dict():  # what plain W3 does for its state: the lower bound of a ValueState
        state = {}
        for e in events:
            u = e[0]
            c = state.get(u, 0) + 1
            state[u] = c

    rows = [
        ("for i in range(n): pass", loop_empty),
        ("make_event(i)", loop_make),
        ("enrich(e)", loop_enrich),
        ("filter lambda e: e[1] != 'LOGOUT'", loop_filter),
        ("CountingSink.invoke(v, ctx)", loop_sink),
        ("LastCountSink.invoke(v, ctx) (W3 sink)", loop_last),
        ("plain W3 state: d[u] = d.get(u, 0) + 1", loop_state_dict),
    ]
    return best_ns_interleaved(rows, n, repeat)


def plain_ladder(n, repeat):
    import plain

    def w1_make():
        out = 0
        for i in range(n):
            make_event(i)
            out += 1
        return out

    def w1_enrich():
        out = 0
        for i in range(n):
            enrich(make_event(i))
            out += 1
        return out

    return best_ns_interleaved([("plain: make_event + count", w1_make),
                                ("plain: + enrich", w1_enrich),
                                ("plain: + filter (= plain W1)", lambda: plain.run_w1(n)),
                                ("plain W3", lambda: plain.run_w3(n))], n, repeat)


# --------------------------------------------------------------------------- strom ladder
class PassThrough(KeyedProcessFunction):
    """process_element that only yields its input (no state)."""

    def process_element(self, value, ctx):
        yield value


class ReturnList(KeyedProcessFunction):
    """W3's function, returning a one-element list instead of yielding (same result)."""

    def open(self, runtime_context):
        from strom.datastream.state import ValueStateDescriptor

        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, value, ctx):
        c = (self.count.value() or 0) + 1
        self.count.update(c)
        return [(value[0], c)]


def job(n, build, fusion=True):
    def run():
        _RegisteredSink.registry.clear()
        env = StreamExecutionEnvironment.get_execution_environment()
        if not fusion:
            orig = env._executor

            def no_fusion():
                ex = orig()
                ex.config["fusion"] = False
                return ex

            env._executor = no_fusion
        src = env.from_source(NumberSequenceSource(0, n - 1), strom_jobs.no_watermarks(), "seq")
        build(src)
        env.execute("ladder")
    return run


def strom_ladder(n, repeat, fusion_compare=True):
    key = lambda e: e[0]  # noqa: E731
    not_logout = lambda e: e[1] != "LOGOUT"  # noqa: E731
    ident = lambda e: e  # noqa: E731
    rungs = [
        ("source -> sink", lambda s: s.add_sink(CountingSink())),
        ("source -> map(make_event) -> sink", lambda s: s.map(make_event).add_sink(CountingSink())),
        ("  + map(enrich)", lambda s: s.map(make_event).map(enrich).add_sink(CountingSink())),
        ("  + filter (= W1)", lambda s: s.map(make_event).map(enrich).filter(not_logout).add_sink(CountingSink())),
        ("source -> map(make_event) -> map(identity) -> sink",
         lambda s: s.map(make_event).map(ident).add_sink(CountingSink())),
        ("map(make_event) -> rebalance -> sink (channel, no key)",
         lambda s: s.map(make_event).rebalance().add_sink(CountingSink())),
        ("map(make_event) -> key_by -> sink (channel + key routing)",
         lambda s: s.map(make_event).key_by(key).add_sink(CountingSink())),
        ("map(make_event) -> key_by -> map(identity) -> sink (keyed map)",
         lambda s: s.map(make_event).key_by(key).map(ident).add_sink(CountingSink())),
        ("map(make_event) -> key_by -> process(yield value) -> sink",
         lambda s: s.map(make_event).key_by(key).process(PassThrough()).add_sink(CountingSink())),
        ("map(make_event) -> key_by -> process(W3, yields) -> sink(count)",
         lambda s: s.map(make_event).key_by(key).process(CountPerUser()).add_sink(CountingSink())),
        ("  W3 but process returns [(u, c)] instead of yield",
         lambda s: s.map(make_event).key_by(key).process(ReturnList()).add_sink(LastCountSink())),
        ("W3 (process yields, sink keeps last per user)",
         lambda s: s.map(make_event).key_by(key).process(CountPerUser()).add_sink(LastCountSink())),
    ]
    fns = [(name, job(n, b)) for name, b in rungs]
    if fusion_compare:
        fns.append(("W1 with fusion disabled (config fusion=False)", job(n, rungs[3][1], fusion=False)))
    return best_ns_interleaved(fns, n, repeat)


def cprofile(workload, n, typed, top=16):
    pr = cProfile.Profile()
    pr.enable()
    strom_jobs.run_job(workload, n, 1, typed)
    pr.disable()
    buf = io.StringIO()
    st = pstats.Stats(pr, stream=buf)
    st.sort_stats("tottime").print_stats(top)
    text = buf.getvalue()
    root = os.path.dirname(HERE) + "/"
    return text.replace(root, "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--no-fusion-compare", action="store_true")
    args = ap.parse_args()
    n = args.n
    print("N = %d, best of %d (CPU time, interleaved), ns per source record\n" % (n, args.repeat))
    print("## user functions alone (bare loop)")
    for name, ns in user_costs(n, args.repeat):
        print("  %-60s %7.0f ns" % (name, ns))
    print("\n## plain loop")
    for name, ns in plain_ladder(n, args.repeat):
        print("  %-60s %7.0f ns" % (name, ns))
    print("\n## strom, parallelism 1 (inline executor)")
    prev = None
    for name, ns in strom_ladder(n, args.repeat, not args.no_fusion_compare):
        delta = "" if prev is None or not name.startswith("  +") else "  (+%.0f)" % (ns - prev)
        print("  %-60s %7.0f ns%s" % (name, ns, delta))
        prev = ns
    if args.cprofile:
        for w, typed in (("W1", False), ("W3", False), ("W3", True)):
            print("\n## cProfile %s %s (p=1, N=%d), by own time" % (w, "typed (output_type declared)" if typed
                                                                   else "untyped", n))
            print(cprofile(w, n, typed))


if __name__ == "__main__":
    main()
