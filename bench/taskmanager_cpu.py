#!/usr/bin/env python
"""Where a parallel job's time goes: TaskManager CPU per record and how busy the TaskManagers were.

Wall-clock ratios on this shared 2-core VM swing by ±10 % between runs (a neighbour slows one
vCPU, and a run's two TaskManagers then finish apart); the CPU the TaskManager processes spend
per record (``/proc/<pid>/task/*/schedstat``, nanosecond resolution) moves far less, and it
separates the two things a p2/p1 ratio mixes: the extra work of parallelism (routing records
to key groups, crossing processes) and idle time (one TaskManager waiting for the other).

For each configuration, one client starts the TaskManagers once, runs a warm-up job and then
``--runs`` timed jobs (bench/strom_jobs.py, results not checked here: processes.py does that):

  p=1        one TaskManager, one slot (the key_by is still an in-process exchange)
  p=2 / 1 TM both subtasks in one TaskManager (two slots): the cost of routing, no crossing
  p=2 / 2 TM one subtask per TaskManager: half the records cross processes

Usage:
    python bench/taskmanager_cpu.py [--workloads W2,W3] [--n 2000000] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONFIGS = ((1, 1), (2, 1), (2, 2))  # (parallelism, TaskManagers)

CHILD = r'''
import os, sys, time
sys.path[:0] = [{here!r}, {root!r}]
workload, n, p, tms, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
import strom_jobs
from strom.common import Configuration
from strom.datastream import StreamExecutionEnvironment

conf = Configuration()
conf.set_string("taskmanager.numberOfTaskSlots", str(p // tms))
conf.set_string("local.number-taskmanager", str(tms))
make_env = StreamExecutionEnvironment.get_execution_environment
strom_jobs.StreamExecutionEnvironment.get_execution_environment = staticmethod(lambda *a: make_env(conf))
strom_jobs.start_local_cluster(p)


def taskmanagers():
    me = str(os.getpid())
    rows = [line.split(None, 2) for line in os.popen("ps -eo pid,ppid,args").read().splitlines()[1:]]
    zygotes = {{r[0] for r in rows if r[1] == me and "launcher" in r[2]}}
    return [r[0] for r in rows if r[1] in zygotes]


def cpu(pid):
    total = 0
    for tid in os.listdir(f"/proc/{{pid}}/task"):
        try:
            with open(f"/proc/{{pid}}/task/{{tid}}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total / 1e9


pids = taskmanagers()
for _ in range(runs):
    before = [cpu(p) for p in pids]
    started = time.perf_counter()
    strom_jobs.execute_job(workload, n, p, True, "local")
    wall = time.perf_counter() - started
    used = [cpu(p) - b for p, b in zip(pids, before)]
    print("RUN", wall, *used, flush=True)
'''


def measure(workload: str, n: int, p: int, tms: int, runs: int) -> list[tuple[float, list[float]]]:
    out = subprocess.run([sys.executable, "-c", CHILD.format(here=HERE, root=ROOT), workload, str(n),
                          str(p), str(tms), str(runs)], capture_output=True, text=True, timeout=900)
    rows = [line.split()[1:] for line in out.stdout.splitlines() if line.startswith("RUN ")]
    if len(rows) != runs:
        raise SystemExit(f"{workload} p={p} on {tms} TaskManager(s) failed:\n{out.stderr[-3000:]}")
    return [(float(r[0]), [float(x) for x in r[1:]]) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default="W2,W3")
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not os.path.exists("/proc/self/task"):
        raise SystemExit("needs Linux's /proc")
    print(f"{'workload':8} {'config':10} {'records/s':>11} {'TM CPU ns/rec':>14} {'busy':>6}  per TaskManager (s)")
    for w in args.workloads.split(","):
        for p, tms in CONFIGS:
            runs = measure(w, args.n, p, tms, args.runs)
            wall = statistics.median(r[0] for r in runs)
            per_record = statistics.median(sum(r[1]) * 1e9 / args.n for r in runs)
            busy = statistics.median(sum(r[1]) / (r[0] * tms) for r in runs)
            split = " / ".join(f"{statistics.median(r[1][i] for r in runs):.2f}" for i in range(tms))
            print(f"{w:8} p={p} {tms} TM   {args.n / wall:>11,.0f} {per_record:>14,.0f} {busy:>6.0%}  {split}",
                  flush=True)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
