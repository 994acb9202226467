#!/usr/bin/env python
"""Every core: W1-W3 on TaskManager processes at parallelism 1 and 2, the cost of a keyed
exchange across processes, and the time to the first record of a 2-process job.

Usage:
    python bench/processes.py [--n 1000000] [--runs 3] [--workloads W1,W2,W3]
                              [--json bench/results/processes.json]

1. W1/W2/W3 (bench/workloads.py, checked results) on the plain loop, strom inline at p=1 and
   strom's ``local`` executor at p=1 and p=2, each run in a fresh interpreter (bench/_child.py;
   the TaskManagers are started before timing, their start is measured in 3.), runs
   interleaved; reported: records/s (median) and the paired ratios p2/p1 and vs plain.
2. Exchange cost: N integers source -> map -> sink, chained (no exchange), with a keyed
   exchange inside one process (one slot), and with the map and sink in another TaskManager
   (another slot-sharing group, so every record crosses processes); cost per record in ns =
   (run time - chained run time) / N.
3. First record: wall time from starting ``strom run`` on a 2-process job script to the first
   line it prints (TaskManager processes started by the job itself).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable


def child(engine: str, workload: str, n: int, p: int, expected: str) -> dict:
    out = subprocess.run([PY, os.path.join(HERE, "_child.py"), engine, workload, str(n), str(p),
                          expected], capture_output=True, text=True, timeout=900, cwd=HERE)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"{engine} {workload} p={p} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")


def workloads(n: int, runs: int, names: tuple[str, ...] = ("W1", "W2", "W3")) -> list[dict]:
    configs = [("plain", 1), ("strom+types", 1), ("strom-local+types", 1), ("strom-local+types", 2)]
    rows = []
    for w in names:
        expected = os.path.join(tempfile.gettempdir(), f"strom-expected-{w}-{n}.pkl")
        if not os.path.exists(expected):
            subprocess.run([PY, os.path.join(HERE, "_child.py"), "expected", w, str(n), "1", expected],
                           check=True, cwd=HERE)
        secs: dict[tuple, list[float]] = {c: [] for c in configs}
        for r in range(runs):
            for c in configs:
                res = child(c[0], w, n, c[1], expected)
                if not res.get("ok"):
                    raise SystemExit(f"{w} {c}: wrong result: {res.get('error')}")
                secs[c].append(res["seconds"])
                print(f"  {w} {c[0]} p={c[1]} run {r + 1}: {n / res['seconds']:,.0f} rec/s", flush=True)
        plain = secs[("plain", 1)]
        for c in configs:
            rate = n / statistics.median(secs[c])
            vs_plain = statistics.median(p / s for p, s in zip(plain, secs[c]))
            rows.append({"workload": w, "engine": c[0], "parallelism": c[1], "records_per_s": rate,
                         "vs_plain": vs_plain})
        p1, p2 = secs[("strom-local+types", 1)], secs[("strom-local+types", 2)]
        rows.append({"workload": w, "engine": "local p2 / p1", "speedup":
                     statistics.median(a / b for a, b in zip(p1, p2))})
    return rows


EXCHANGE_JOB = r'''
import sys, time
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.connectors.number_seq import NumberSequenceSource
from strom.datastream.functions import SinkFunction
n, mode = int(sys.argv[1]), sys.argv[2]
class Noop(SinkFunction):
    def invoke(self, value, context):
        pass
def build(env):
    src = env.from_source(NumberSequenceSource(0, n - 1), None, "seq")
    if mode == "chained":
        src.map(lambda v: v).add_sink(Noop())
    elif mode == "in-process":
        src.key_by(lambda v: v).map(lambda v: v).add_sink(Noop())
    else:
        src.key_by(lambda v: v).map(lambda v: v).slot_sharing_group("other").add_sink(Noop()).slot_sharing_group("other")
env = StreamExecutionEnvironment.get_execution_environment()
env.executor = "local"
env.set_parallelism(1)
build(env); env.execute("warm-up")  # TaskManagers up
n_real = n
env = StreamExecutionEnvironment.get_execution_environment()
env.executor = "local"
env.set_parallelism(1)
build(env)
t = time.perf_counter(); env.execute(mode); print("SECONDS", time.perf_counter() - t)
'''


def exchange(n: int, runs: int) -> dict:
    path = os.path.join(tempfile.gettempdir(), "strom_bench_exchange.py")
    with open(path, "w") as f:
        f.write(EXCHANGE_JOB)
    modes = ("chained", "in-process", "cross-process")
    secs: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(runs):
        for m in modes:
            out = subprocess.run([PY, path, str(n), m], capture_output=True, text=True, timeout=600)
            line = [x for x in out.stdout.splitlines() if x.startswith("SECONDS")]
            if not line:
                raise SystemExit(f"exchange {m} failed: {out.stderr[-2000:]}")
            secs[m].append(float(line[0].split()[1]))
    base = secs["chained"]
    return {m: statistics.median((s - b) * 1e9 / n for s, b in zip(secs[m], base))
            for m in ("in-process", "cross-process")}


FIRST_JOB = r'''
from strom.datastream import StreamExecutionEnvironment
env = StreamExecutionEnvironment.get_execution_environment()
env.set_parallelism(2)
env.from_collection(list(range(1000))).rebalance().map(lambda v: v).print()
env.execute("first record")
'''


def first_record(runs: int) -> float:
    path = os.path.join(tempfile.gettempdir(), "strom_bench_first.py")
    with open(path, "w") as f:
        f.write(FIRST_JOB)
    strom = os.path.join(os.path.dirname(PY), "strom")
    times = []
    for _ in range(runs):
        env = {k: v for k, v in os.environ.items() if k != "STROM_EXECUTION_TARGET"}
        t = time.perf_counter()
        proc = subprocess.Popen([strom, "run", path], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        proc.stdout.readline()
        times.append(time.perf_counter() - t)
        proc.stdout.read()
        proc.wait()
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "processes.json"))
    ap.add_argument("--workloads", default="W1,W2,W3", help="comma-separated, of W1,W2,W3")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}")
    rows = workloads(args.n, args.runs, tuple(args.workloads.split(",")))
    ex = exchange(args.n, args.runs)
    first = first_record(args.runs)
    print("\nworkload  engine               p  records/s     vs plain / speedup")
    for r in rows:
        if "speedup" in r:
            print(f"{r['workload']:8}  {r['engine']:19}     {'':12}  {r['speedup']:.2f}x")
        else:
            print(f"{r['workload']:8}  {r['engine']:19}  {r['parallelism']}  "
                  f"{r['records_per_s']:>12,.0f}  {r['vs_plain']:.2f}")
    print(f"\nkeyed exchange per record: in one process {ex['in-process']:.0f} ns, "
          f"across processes {ex['cross-process']:.0f} ns")
    print(f"2-process job, `strom run` to first record: {first:.2f} s")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"n": args.n, "runs": args.runs, "cores": os.cpu_count(), "workloads": rows,
                   "exchange_ns": ex, "first_record_s": first}, f, indent=2)


if __name__ == "__main__":
    main()
