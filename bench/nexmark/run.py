"""Run the Nexmark queries on strom, check them against the batch computations, report events/s.

Usage (from the repository root)::

    .venv/bin/python bench/nexmark/run.py                       # 200 000 events, all queries
    .venv/bin/python bench/nexmark/run.py --events 50000 --queries q0,q5 --runs 3

Steps:

1. **Check on a small input** (``--check-events``, default 5 000): events at 100 events/s of
   event time with the reference's out-of-order groups of 16 (so windows close several times
   and the watermark matters); every query's strom output must equal ``batch.py``'s.
2. **Measure** on ``--events`` events of the reference configuration (10 000 events/s of event
   time, in order): each query runs ``--runs`` times as its own job (parallelism
   ``--parallelism``, default 1) from a pre-generated event list into a sink that keeps the
   rows; the wall time of ``env.execute()`` (plan building included, generation excluded) gives
   events/s (median over runs). The output of the measured run is checked against the batch
   computation too.

Writes ``bench/results/nexmark.json`` (``--json``); exit status 1 if any result was wrong.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch import comparable, expected  # noqa: E402
from generator import GeneratorConfig, generate  # noqa: E402
from queries import QUERIES, source  # noqa: E402
from strom.datastream import SinkFunction, StreamExecutionEnvironment  # noqa: E402

CHECK_CONFIG = GeneratorConfig(first_event_rate=100, out_of_order_group_size=16)
BENCH_CONFIG = GeneratorConfig()

_ROWS: dict[str, list] = {}


class KeepRows(SinkFunction):
    """Appends every row to a module-level list named by ``token`` (survives function copies)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.rows: list = []

    def open(self, runtime_context):
        self.rows = _ROWS.setdefault(self.token, [])

    def invoke(self, value, context):
        self.rows.append(value)


def run_query(query: str, events: list, parallelism: int = 1) -> tuple[list, float]:
    """Run ``query`` over ``events`` on strom; returns ``(rows, seconds of env.execute())``."""
    token = f"{query}-{time.perf_counter_ns()}"
    _ROWS[token] = []
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    QUERIES[query](env, source(env, events)).add_sink(KeepRows(token))
    t0 = time.perf_counter()
    env.execute(f"nexmark {query}")
    seconds = time.perf_counter() - t0
    return _ROWS.pop(token), seconds


def check(query: str, events: list, rows: list) -> bool:
    return comparable(query, rows) == expected(query, events)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--queries", default=",".join(QUERIES))
    ap.add_argument("--check-events", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--parallelism", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=str(HERE.parent / "results" / "nexmark.json"))
    args = ap.parse_args(argv)
    queries = [q.strip() for q in args.queries.split(",") if q.strip()]
    unknown = [q for q in queries if q not in QUERIES]
    if unknown:
        ap.error(f"unknown queries {unknown}; known: {', '.join(QUERIES)}")

    ok = True
    small = generate(args.check_events, CHECK_CONFIG, seed=args.seed)
    print(f"check on {len(small)} events (100 ev/s event time, out-of-order groups of 16):")
    small_ok = {}
    for q in queries:
        rows, _ = run_query(q, small, args.parallelism)
        small_ok[q] = check(q, small, rows)
        ok &= small_ok[q]
        print(f"  {q}: {len(rows):>6} rows  {'ok' if small_ok[q] else 'WRONG'}")

    t0 = time.perf_counter()
    events = generate(args.events, BENCH_CONFIG, seed=args.seed)
    gen_seconds = time.perf_counter() - t0
    print(f"\ngenerated {len(events)} events in {gen_seconds:.2f} s "
          f"({len(events) / gen_seconds:,.0f} events/s; not part of the figures below)")
    print(f"\n{'query':<6}{'events/s':>12}{'seconds':>10}{'rows':>9}{'batch ev/s':>13}  check")
    results = {}
    for q in queries:
        times = []
        rows: list = []
        for _ in range(args.runs):
            rows, seconds = run_query(q, events, args.parallelism)
            times.append(seconds)
        t0 = time.perf_counter()
        exp = expected(q, events)
        batch_seconds = time.perf_counter() - t0
        good = comparable(q, rows) == exp
        ok &= good
        med = statistics.median(times)
        results[q] = {
            "events": len(events), "seconds": round(med, 4), "events_per_s": round(len(events) / med),
            "runs": [round(t, 4) for t in times], "output_rows": len(rows), "correct": good,
            "correct_small": small_ok[q], "batch_events_per_s": round(len(events) / batch_seconds),
        }
        print(f"{q:<6}{len(events) / med:>12,.0f}{med:>10.2f}{len(rows):>9}"
              f"{len(events) / batch_seconds:>13,.0f}  {'ok' if good else 'WRONG'}")

    report = {
        "benchmark": "nexmark", "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "parallelism": args.parallelism, "seed": args.seed,
        "events": args.events, "check_events": args.check_events,
        "generator_events_per_s": round(len(events) / gen_seconds),
        "config": {"first_event_rate": BENCH_CONFIG.first_event_rate,
                   "out_of_order_group_size": BENCH_CONFIG.out_of_order_group_size,
                   "watermark": "bounded out-of-orderness 4 s"},
        "timing": "wall time of env.execute() from a pre-generated event list, median over runs",
        "queries": results, "all_correct": ok,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}; {'all correct' if ok else 'SOME RESULTS WRONG'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
