#!/usr/bin/env python
"""Start-up latency and idle footprint of strom (the foundation issue's targets).

Usage: python bench/startup.py [--runs 7] [--json bench/results/startup.json]

1. Time to first record: wall time from spawning ``python -c "<job>"`` to the first record
   reaching the sink of a trivial job (``from_collection([1, 2, 3]) -> map -> SinkFunction``),
   written as a PyFlink user would. Target: < 0.3 s. Printed with its parts: a bare
   ``python -c pass``, ``import strom.datastream`` and job definition + execute() to the
   first record, each the median of --runs fresh processes. The sink writes
   ``time.monotonic()`` (CLOCK_MONOTONIC, system-wide) when it receives the first record; the
   parent compares it with its own ``time.monotonic()`` taken just before spawning.
2. Idle footprint: RSS (VmRSS) of a process running an unbounded job whose SourceFunction
   only sleeps, 1 s after ``execute_async()``; plus the peak (VmHWM) and the CPU the idle job
   burnt during that second. Target: < 60 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

FIRST_RECORD_TARGET_S = 0.3
IDLE_RSS_TARGET_MB = 60

# The trivial job. Everything from interpreter start counts; the sink reports the moment the
# first record reaches it, then the job runs to completion.
TRIVIAL_JOB = r"""
import time, sys
t_imp0 = time.monotonic()
from strom.datastream import StreamExecutionEnvironment, SinkFunction
t_imp1 = time.monotonic()

class FirstRecord(SinkFunction):
    first = None
    def invoke(self, value, context):
        if FirstRecord.first is None:
            FirstRecord.first = time.monotonic()

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection([1, 2, 3]).map(lambda x: x + 1).add_sink(FirstRecord())
env.execute("trivial")
print("T", t_imp0, t_imp1, FirstRecord.first, time.monotonic(), flush=True)
"""

IDLE_JOB = r"""
import json, resource, time
from strom.datastream import StreamExecutionEnvironment, SinkFunction, SourceFunction

class Sleeper(SourceFunction):
    def __init__(self):
        self.running = True
    def run(self, ctx):
        while self.running:
            time.sleep(0.05)
    def cancel(self):
        self.running = False

class Discard(SinkFunction):
    def invoke(self, value, context):
        pass

def status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    return out

before = status()
env = StreamExecutionEnvironment.get_execution_environment()
env.add_source(Sleeper(), "sleeper").map(lambda x: x).add_sink(Discard())
client = env.execute_async("idle")
time.sleep(0.2)  # let it start
c0, t0 = time.process_time(), time.monotonic()
time.sleep(1.0)
cpu = time.process_time() - c0
wall = time.monotonic() - t0
after = status()
client.cancel()
try:
    client.wait(5)
except BaseException:
    pass
print("R " + json.dumps({"rss_before_job_mb": before["VmRSS"], "rss_mb": after["VmRSS"],
                         "hwm_mb": after["VmHWM"], "idle_cpu_pct": 100.0 * cpu / wall}), flush=True)
"""


def spawn(code):
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    t_end = time.monotonic()
    if proc.returncode != 0:
        raise SystemExit("child failed (status %d):\n%s" % (proc.returncode, proc.stderr[-3000:]))
    return t0, t_end, proc.stdout


def first_record(runs):
    bare, total, imports, to_first, exit_ = [], [], [], [], []
    for _ in range(runs):
        t0, t1, _out = spawn("pass")
        bare.append(t1 - t0)
        t0, t_end, out = spawn(TRIVIAL_JOB)
        line = next(ln for ln in out.splitlines() if ln.startswith("T "))
        t_imp0, t_imp1, t_first, t_done = (float(x) for x in line.split()[1:])
        total.append(t_first - t0)
        imports.append(t_imp1 - t_imp0)
        to_first.append(t_first - t_imp1)
        exit_.append(t_end - t0)
    med = statistics.median
    return {"python_c_pass_s": med(bare), "import_strom_s": med(imports),
            "define_and_run_to_first_record_s": med(to_first), "spawn_to_first_record_s": med(total),
            "spawn_to_first_record_min_s": min(total), "spawn_to_exit_s": med(exit_), "runs": runs}


def idle_rss(runs):
    samples = []
    for _ in range(runs):
        _t0, _t1, out = spawn(IDLE_JOB)
        line = next(ln for ln in out.splitlines() if ln.startswith("R "))
        samples.append(json.loads(line[2:]))
    med = statistics.median
    return {k: med(s[k] for s in samples) for k in samples[0]} | {"runs": runs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "startup.json"))
    args = ap.parse_args(argv)

    fr = first_record(args.runs)
    idle = idle_rss(max(1, args.runs // 2))
    ok_first = fr["spawn_to_first_record_s"] < FIRST_RECORD_TARGET_S
    ok_idle = idle["rss_mb"] < IDLE_RSS_TARGET_MB
    print("time to first record (python -c start -> first record at the sink), median of %d:" % args.runs)
    print("  total                       %6.3f s   (min %.3f s; target < %.1f s: %s)" % (
        fr["spawn_to_first_record_s"], fr["spawn_to_first_record_min_s"], FIRST_RECORD_TARGET_S,
        "met" if ok_first else "MISSED"))
    print("    bare 'python -c pass'     %6.3f s   (interpreter start and exit, for reference)" % fr["python_c_pass_s"])
    print("    import strom.datastream   %6.3f s" % fr["import_strom_s"])
    print("    define + run to 1st rec   %6.3f s" % fr["define_and_run_to_first_record_s"])
    print("  process start to exit       %6.3f s" % fr["spawn_to_exit_s"])
    print("idle unbounded job (sleeping SourceFunction), 1 s after execute_async(), median of %d:" % idle["runs"])
    print("  RSS                         %6.1f MB  (target < %d MB: %s; %.1f MB before the job was defined)" % (
        idle["rss_mb"], IDLE_RSS_TARGET_MB, "met" if ok_idle else "MISSED", idle["rss_before_job_mb"]))
    print("  peak RSS (VmHWM)            %6.1f MB" % idle["hwm_mb"])
    print("  CPU while idle              %6.1f %%   of one core" % idle["idle_cpu_pct"])
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"first_record": fr, "idle": idle, "python": sys.version.split()[0],
                       "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, f, indent=1)
        print("wrote %s" % args.json)
    return 0 if ok_first and ok_idle else 1


if __name__ == "__main__":
    sys.exit(main())
