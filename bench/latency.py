"""End-to-end latency (source emit -> sink) of a keyed-state job at a fixed input rate.

The job is W3 with a timestamp riding along in every event:

    source (paced, stamps time.perf_counter_ns() at emit)
      -> map(make_event + the stamp) -> key_by(user)
      -> KeyedProcessFunction (ValueState counter, yields (user, count, stamp))
      -> sink (latency = time.perf_counter_ns() - stamp, per record)

Two sources:

- ``function``: a ``SourceFunction`` (runs on its own feeder thread, ``ThreadedSourceOperator``)
  that holds the rate by sleeping until each record's scheduled time, then stamps and emits every
  record that is due (at high rates that is a small burst per wake-up: ``time.sleep`` resolution is
  ~50-100 us). It never spins: a spinning feeder thread would hold the GIL for up to the switch
  interval (5 ms) and starve the task thread.
- ``sequence``: ``from_source(NumberSequenceSource)`` followed by a pacing ``map`` that sleeps
  until the record's scheduled time and stamps it. The pacing runs inside the source task (as a
  slow source or a slow chained operator would), so records wait in the source task's output
  buffers until the task's step ends.

Source and pacing run at parallelism 1 (a ``SourceFunction`` is non-parallel, as in Flink);
``--parallelism`` applies to the rest. At p = 1 the embedded executor chains the whole job into
one task (no channels); at p = 2 the key_by is a real exchange through record writers and channels.

For every (source, parallelism) the same pipeline's peak rate is measured first in the same run
(unpaced, ``--peak-n`` records), then the paced job runs for ``--duration`` s at
``--fraction`` x peak (and at each ``--rates`` fixed rate), once with ``env.set_buffer_timeout(0)``
and once with the default (100 ms), interleaved. The first ``--warmup`` fraction of the records of
each run is dropped. Reported: p50 / p99 / p99.9 / max latency in ms, the achieved rate, and how far
the source fell behind its schedule (max lag, ms: a large lag means the rate was not held and the
latency figures are optimistic, since the stamp is the actual emit time).

    .venv/bin/python bench/latency.py                 # ~1 min
    .venv/bin/python bench/latency.py --duration 2 --parallelism 1 --sources function

Writes bench/results/latency.json (``--json``).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from strom.common import Types  # noqa: E402
from strom.datastream import (  # noqa: E402
    KeyedProcessFunction,
    MapFunction,
    SinkFunction,
    SourceFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.connectors.number_seq import NumberSequenceSource  # noqa: E402
from strom.datastream.state import ValueStateDescriptor  # noqa: E402

from workloads import make_event  # noqa: E402

now_ns = time.perf_counter_ns
SLEEP_SLACK_NS = 0  # sleep right up to the schedule; time.sleep overshoots by ~50-100 us anyway


# --------------------------------------------------------------------------- functions
class PacedSource(SourceFunction):
    """Emits (i, emit_ns) for i in range(n) at ``rate`` records/s (rate None: as fast as possible)."""

    def __init__(self, n, rate):
        self.n, self.rate = n, rate
        self.running = True
        self.max_lag_ns = 0
        self.started_ns = None

    def run(self, ctx):
        collect, n = ctx.collect, self.n
        start = self.started_ns = now_ns()
        if self.rate is None:
            for i in range(n):
                if not self.running:
                    return
                collect((i, now_ns()))
            return
        interval = 1e9 / self.rate
        i, max_lag, sleep = 0, 0, time.sleep
        while i < n and self.running:
            t = now_ns()
            due = start + int(i * interval)
            if t < due:
                sleep((due - t - SLEEP_SLACK_NS) / 1e9)
                continue
            if t - due > max_lag:
                max_lag = t - due
            # everything due by now goes out in this wake-up, each with its own stamp
            while i < n and start + int(i * interval) <= t:
                collect((i, now_ns()))
                i += 1
        self.max_lag_ns = max_lag

    def cancel(self):
        self.running = False


class Pace(MapFunction):
    """map(i) -> (i, emit_ns), sleeping until i's scheduled time (rate None: no pacing)."""

    registry: list = []

    def __init__(self, rate):
        self.rate = rate
        self.max_lag_ns = 0

    def open(self, runtime_context):
        self.start = None
        self.k = 0
        self.interval = 1e9 / self.rate if self.rate else 0.0
        Pace.registry.append(self)

    def map(self, i):
        if self.rate:
            t = now_ns()
            if self.start is None:
                self.start = t
            due = self.start + int(self.k * self.interval)
            self.k += 1
            if t < due:
                time.sleep((due - t - SLEEP_SLACK_NS) / 1e9)
            elif t - due > self.max_lag_ns:
                self.max_lag_ns = t - due
        return i, now_ns()


def to_event(rec):
    """map(make_event) with the emit stamp carried along: (user, action, ts_ms, emit_ns)."""
    return (*make_event(rec[0]), rec[1])


class CountPerUser(KeyedProcessFunction):
    """W3's ValueState counter; yields (user, count, emit_ns)."""

    def open(self, runtime_context):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, value, ctx):
        c = (self.count.value() or 0) + 1
        self.count.update(c)
        yield value[0], c, value[3]


class LatencySink(SinkFunction):
    """Records now - emit_ns per record; every opened instance registers itself."""

    registry: list = []

    def open(self, runtime_context):
        self.lat = []
        LatencySink.registry.append(self)

    def invoke(self, value, context):
        self.lat.append(now_ns() - value[2])


# --------------------------------------------------------------------------- one job
def run_job(source, parallelism, n, rate, buffer_timeout):
    """Run one job; returns (latencies_ns in arrival order per sink, seconds, source max lag ns)."""
    LatencySink.registry.clear()
    Pace.registry.clear()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    if buffer_timeout is not None:
        env.set_buffer_timeout(buffer_timeout)
    src_fn = None
    if source == "function":
        src_fn = PacedSource(n, rate)
        stamped = env.add_source(src_fn, "paced")
    else:
        stamped = (env.from_source(NumberSequenceSource(0, n - 1), None, "seq").set_parallelism(1)
                      .map(Pace(rate)).set_parallelism(1))
    (stamped.map(to_event)
            .key_by(lambda e: e[0])
            .process(CountPerUser())
            .add_sink(LatencySink()))
    gc.collect()
    t0 = time.perf_counter()
    if source == "function":
        # A SourceFunction is unbounded: end the job once every record reached the sink.
        client = env.execute_async("latency")
        while True:
            time.sleep(0.01)
            got = sum(len(s.lat) for s in LatencySink.registry)
            if got >= n:
                break
            if client.get_job_status().result().is_globally_terminal_state():
                break
        elapsed = time.perf_counter() - t0
        client.cancel()
        try:
            client.get_job_execution_result()
        except Exception:
            pass
        lag = src_fn.max_lag_ns
    else:
        env.execute("latency")
        elapsed = time.perf_counter() - t0
        lag = max((p.max_lag_ns for p in Pace.registry), default=0)
    lats = [x for s in LatencySink.registry for x in s.lat]
    return lats, elapsed, lag


def percentiles(lats_ns, warmup):
    lats = sorted(lats_ns[int(len(lats_ns) * warmup):])
    if not lats:
        return {}
    def q(p):
        return lats[min(len(lats) - 1, int(p * len(lats)))] / 1e6
    return {"p50_ms": q(0.50), "p99_ms": q(0.99), "p999_ms": q(0.999), "max_ms": lats[-1] / 1e6,
            "mean_ms": sum(lats) / len(lats) / 1e6, "records": len(lats)}


# --------------------------------------------------------------------------- main
def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent,
                                capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "strom"], cwd=HERE.parent,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = "", None
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "nproc": os.cpu_count(), "cpu": model,
            "python": platform.python_version(), "loadavg": os.getloadavg(),
            "strom_root": str(HERE.parent), "strom_commit": commit, "strom_dirty": dirty,
            "switchinterval_s": sys.getswitchinterval()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per paced run (default 3)")
    ap.add_argument("--fraction", type=float, default=0.5, help="paced rate as a fraction of peak")
    ap.add_argument("--rates", default="1000", help="extra fixed rates, records/s, comma-separated ('' for none)")
    ap.add_argument("--peak-n", type=int, default=200_000, help="records for the peak measurement")
    ap.add_argument("--parallelism", default="1,2")
    ap.add_argument("--sources", default="function,sequence")
    ap.add_argument("--warmup", type=float, default=0.1, help="fraction of each run's records dropped")
    ap.add_argument("--json", default=str(HERE / "results" / "latency.json"))
    args = ap.parse_args(argv)
    pars = [int(p) for p in args.parallelism.split(",")]
    sources = args.sources.split(",")
    fixed = [int(r) for r in args.rates.split(",") if r.strip()]
    rows = []
    info = machine()
    print("machine: %s, %s cores, Python %s, load %s" % (
        info["cpu"], info["nproc"], info["python"], " ".join("%.2f" % x for x in info["loadavg"])))
    for source in sources:
        for p in pars:
            _, secs, _ = run_job(source, p, args.peak_n, None, None)
            peak = args.peak_n / secs
            _, secs0, _ = run_job(source, p, args.peak_n, None, 0)
            peak0 = args.peak_n / secs0
            print("\n%s source, p=%d: peak %.0f rec/s with the default buffer timeout, %.0f with 0 "
                  "(%d records unpaced)" % (source, p, peak, peak0, args.peak_n))
            for label, rate in [("%.0f%% of peak" % (args.fraction * 100), int(peak * args.fraction))] + [
                    ("fixed", r) for r in fixed]:
                n = max(1000, int(rate * args.duration))
                for bt in (0, None):
                    lats, secs, lag = run_job(source, p, n, rate, bt)
                    st = percentiles(lats, args.warmup)
                    row = {"source": source, "parallelism": p, "peak_rps": round(peak), "peak_rps_timeout0": round(peak0), "load": label,
                           "target_rps": rate, "achieved_rps": round(n / secs),
                           "buffer_timeout": "0" if bt == 0 else "default (100)",
                           "source_max_lag_ms": round(lag / 1e6, 3), **st}
                    rows.append(row)
                    print("  %-13s %7d rec/s  buffer timeout %-13s p50 %8.3f  p99 %8.3f  p99.9 %8.3f  "
                          "max %8.3f ms  (achieved %d rec/s, source lag max %.1f ms)" % (
                              label, rate, row["buffer_timeout"], st["p50_ms"], st["p99_ms"],
                              st["p999_ms"], st["max_ms"], row["achieved_rps"], row["source_max_lag_ms"]))
    print()
    print("| source | p | load | rate rec/s | buffer timeout | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %d | %s | %.3f | %.3f | %.3f | %.3f |" % (
            r["source"], r["parallelism"], r["load"], r["target_rps"], r["buffer_timeout"],
            r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"]))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "args": vars(args), "rows": rows}, indent=1) + "\n")
    print("\nwrote %s" % out)


if __name__ == "__main__":
    main()
