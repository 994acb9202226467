#!/usr/bin/env python
"""What checkpointing costs: throughput with vs without, and the pause, duration and size per checkpoint.

Usage:
    python bench/checkpoint.py [--rounds 5] [--interval-ms 1000] [--parts cost,keys]
                               [--cost-workloads W3,W1,W2] [--keys 10000,1000000]
                               [--json bench/results/checkpoint.json] [--quick]

Two parts, every run in a fresh interpreter (this script started again with ``--child``):

cost  W1/W2/W3 exactly as bench/run.py defines them (``strom_jobs.build``, engine "strom": no
      declared output types; W3's ValueState is declared ``Types.LONG()`` by the job itself), at
      parallelism 1, without checkpoints and with ``env.enable_checkpointing(interval)``, storage
      in a local temp directory (``set_checkpoint_storage_dir``) and, for W3, also the default
      in-memory storage. Rounds alternate the order of the variants; "ratio" is the median over
      rounds of (seconds without) / (seconds with) of the same round, "cost" = 1 - ratio. N is
      large enough that a run lasts several seconds; the number of completed checkpoints per run
      is printed. Results are checked as bench/run.py checks them (bench/_child.check).

keys  a W3-like job over K distinct keys: ``NumberSequenceSource(0, n-1) -> map(i -> ("user%d" % (i
      % K), action, ts)) -> key_by(user) -> KeyedProcessFunction`` (ValueState counter, yields
      (user, count)) -> counting sink, with checkpoints every interval to a local temp directory.
      n = K + enough records for several more checkpoints, so the state holds all K keys for most
      of them ("full": triggered after the first pass over all keys ended). Two state declarations:
      ``ValueStateDescriptor("count", Types.LONG())`` (immutable values: the snapshot copies the
      dicts at the barrier and pickles them later on the coordinator's writer thread) and
      ``ValueStateDescriptor("count", None)`` (undeclared: its int values are found immutable by a
      scan of their types and copied too; values of other types are pickled at the barrier).
      Per checkpoint: pause = CheckpointStats.sync_ms (the task's synchronous part: pre-barrier
      hooks, barrier emission, the state copy), duration = trigger to completion (metadata
      written), size = bytes of state written (CheckpointStats.size). Medians and max over the
      "full" checkpoints. The same job (Types.LONG()) also runs once without checkpoints: "ratio" =
      t(without) / t(with), a single pair (noisy; the cost part is the careful throughput figure).

The checkpoint statistics come from the job's coordinator (``client._control.coordinator``,
``completed``/``history``); the job runs with ``execute_async`` and is waited for.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(1, ROOT)  # the repository root, for ``import strom``

# events per run: a run should last several seconds (several 1 s checkpoints)
COST_N = {"W1": 8_000_000, "W2": 5_000_000, "W3": 5_000_000}
QUICK_COST_N = {"W1": 2_000_000, "W2": 1_000_000, "W3": 1_000_000}
# keys part: records after the first pass over all K keys
KEYS_EXTRA = 6_000_000
QUICK_KEYS_EXTRA = 1_000_000


# =========================================================================== child side
def _coordinator_stats(coordinator):
    if coordinator is None:
        return []
    return [{"id": s.checkpoint_id, "status": s.status, "trigger_ms": s.trigger_timestamp,
             "duration_ms": s.duration_ms, "size": s.size, "sync_ms": s.sync_ms,
             "alignment_ms": s.alignment_ms, "failure": s.failure}
            for s in list(coordinator.history)]


def _env(checkpoint, interval_ms, tmp):
    from strom.datastream import StreamExecutionEnvironment

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    if checkpoint != "off":
        env.enable_checkpointing(interval_ms)
        if checkpoint == "local":
            env.get_checkpoint_config().set_checkpoint_storage_dir(tmp)
    return env


def child_cost(spec, tmp):
    import _child
    import strom_jobs

    workload, n = spec["workload"], spec["n"]
    strom_jobs._RegisteredSink.registry.clear()
    c0, t0 = time.process_time(), time.perf_counter()
    env = _env(spec["checkpoint"], spec["interval_ms"], tmp)
    strom_jobs.build(env, workload, n, typed=False)
    client = env.execute_async("ckpt-bench-%s" % workload)
    client.wait()
    t1 = time.perf_counter()
    out = {"seconds": t1 - t0, "cpu_s": time.process_time() - c0,
           "checkpoints": _coordinator_stats(client._control.coordinator)}
    summary, info = strom_jobs.collect_results(workload)
    with open(spec["expected"], "rb") as f:
        expected = pickle.load(f)
    out["error"] = _child.check("strom", workload, n, summary, info, expected)
    out["ok"] = out["error"] is None
    return out


FIRST_PASS_DONE_MS = [None]  # wall-clock ms at which the map emitted the last new key


def child_keys(spec, tmp):
    from strom.common import Types
    from strom.datastream.connectors.number_seq import NumberSequenceSource
    from strom.datastream.state import ValueStateDescriptor

    import strom_jobs
    from workloads import ACTIONS, BASE_MS

    k, n = spec["keys"], spec["n"]
    last_new = k - 1
    state_type = Types.LONG() if spec["state"] == "long" else None

    class CountPerKey(strom_jobs.CountPerUser):
        def open(self, runtime_context):
            self.count = runtime_context.get_state(ValueStateDescriptor("count", state_type))

    def event(i):
        if i == last_new:
            FIRST_PASS_DONE_MS[0] = time.time_ns() // 1_000_000
        return "user%d" % (i % k), ACTIONS[(i * 31) % 6], BASE_MS + i

    strom_jobs._RegisteredSink.registry.clear()
    t0 = time.perf_counter()
    env = _env(spec.get("checkpoint", "local"), spec["interval_ms"], tmp)
    sink = strom_jobs.CountingSink()
    (env.from_source(NumberSequenceSource(0, n - 1), strom_jobs.no_watermarks(), "seq")
        .map(event)
        .key_by(lambda e: e[0])
        .process(CountPerKey())
        .add_sink(sink))
    client = env.execute_async("ckpt-keys-%d" % k)
    client.wait()
    out = {"seconds": time.perf_counter() - t0,
           "checkpoints": _coordinator_stats(client._control.coordinator),
           "first_pass_done_ms": FIRST_PASS_DONE_MS[0]}
    got = sum(s.n for s in strom_jobs._instances())
    out["error"] = None if got == n else "sink got %d records, expected %d" % (got, n)
    out["ok"] = out["error"] is None
    return out


def child_main(spec_json):
    spec = json.loads(spec_json)
    tmp = tempfile.mkdtemp(prefix="strom_ckpt_")
    try:
        out = child_cost(spec, tmp) if spec["part"] == "cost" else child_keys(spec, tmp)
    except Exception as exc:  # reported, not raised: the parent prints it as FAIL
        import traceback

        out = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("RESULT " + json.dumps(out), flush=True)


# =========================================================================== parent side
def run_child(spec, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "timeout after %ss" % timeout}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"ok": False, "error": "child exited with status %d" % proc.returncode, "stderr": proc.stderr[-3000:]}


def completed(run):
    return [c for c in run.get("checkpoints", ()) if c["status"] == "COMPLETED"]


def fmt_ms(x):
    return "-" if x is None else ("%.1f" % x if x < 100 else "%.0f" % x)


def fmt_size(b):
    return "-" if b is None else ("%.1f MB" % (b / 1e6) if b >= 1e6 else "%.1f kB" % (b / 1e3))


def med(xs):
    return statistics.median(xs) if xs else None


def part_cost(args, tmp, out):
    ns = QUICK_COST_N if args.quick else COST_N
    wls = [w.strip().upper() for w in args.cost_workloads.split(",") if w.strip()]
    expected = {}
    for w in wls:
        path = os.path.join(tmp, "expected_%s.pickle" % w)
        subprocess.run([sys.executable, os.path.join(HERE, "_child.py"), "expected", w, str(ns[w]), "-", path],
                       check=True, cwd=ROOT)
        expected[w] = path
    variants = {w: (["off", "local", "memory"] if w == "W3" else ["off", "local"]) for w in wls}
    runs = {(w, v): [] for w in wls for v in variants[w]}
    for r in range(args.rounds):
        for w in wls:
            order = variants[w] if r % 2 == 0 else variants[w][::-1]  # alternate the order
            for v in order:
                spec = {"part": "cost", "workload": w, "n": ns[w], "checkpoint": v,
                        "interval_ms": args.interval_ms, "expected": expected[w]}
                res = run_child(spec, args.timeout)
                res["round"] = r
                runs[(w, v)].append(res)
                print("  round %d %s %-6s %s" % (r + 1, w, v, "%.2f s, %d checkpoints" % (
                    res["seconds"], len(completed(res))) if res.get("ok") else "FAIL " + str(res.get("error"))),
                    flush=True)
    rows = []
    for w in wls:
        base = runs[(w, "off")]
        for v in variants[w]:
            rs = runs[(w, v)]
            row = {"workload": w, "n": ns[w], "checkpoint": v, "runs": rs}
            if not all(x.get("ok") for x in rs + base):
                row["status"] = "FAIL"
                row["reason"] = next(x.get("error") for x in rs + base if not x.get("ok"))
                rows.append(row)
                continue
            row["status"] = "ok"
            row["records_per_s"] = ns[w] / med([x["seconds"] for x in rs])
            row["ratio"] = med([b["seconds"] / x["seconds"] for x, b in zip(rs, base)])
            row["cost"] = 1 - row["ratio"]
            row["ratio_min"] = min(b["seconds"] / x["seconds"] for x, b in zip(rs, base))
            row["ratio_max"] = max(b["seconds"] / x["seconds"] for x, b in zip(rs, base))
            cks = [c for x in rs for c in completed(x)]
            row["checkpoints_per_run"] = med([len(completed(x)) for x in rs])
            row["failed_checkpoints"] = sum(1 for x in rs for c in x.get("checkpoints", ()) if c["status"] == "FAILED")
            row["pause_ms_median"] = med([c["sync_ms"] for c in cks])
            row["pause_ms_max"] = max((c["sync_ms"] for c in cks), default=None)
            row["duration_ms_median"] = med([c["duration_ms"] for c in cks])
            row["size_median"] = med([c["size"] for c in cks])
            rows.append(row)
    out["cost"] = rows
    print()
    print("Throughput cost of checkpoints every %d ms (p=1, engine 'strom', %d rounds; ratio = median over "
          "rounds of t(off)/t(with), paired)" % (args.interval_ms, args.rounds))
    hdr = ("workload", "N", "checkpoints", "records/s", "ratio", "cost", "ratio min-max", "ckpts/run",
           "pause med/max ms", "duration med ms", "size med")
    lines = []
    for row in rows:
        if row["status"] != "ok":
            lines.append((row["workload"], str(row["n"]), row["checkpoint"], "FAIL", "-", "-",
                          str(row["reason"])[:40], "-", "-", "-", "-"))
            continue
        on = row["checkpoint"] != "off"
        lines.append((row["workload"], str(row["n"]), {"off": "none", "local": "1s local dir",
                      "memory": "1s memory"}[row["checkpoint"]].replace("1s", "%gs" % (args.interval_ms / 1000)),
                      "%.0fk" % (row["records_per_s"] / 1e3), "%.3f" % row["ratio"],
                      "%+.1f %%" % (100 * row["cost"]) if on else "-",
                      "%.3f-%.3f" % (row["ratio_min"], row["ratio_max"]) if on else "-",
                      "%g" % row["checkpoints_per_run"] if on else "-",
                      "%s / %s" % (fmt_ms(row["pause_ms_median"]), fmt_ms(row["pause_ms_max"])) if on else "-",
                      fmt_ms(row["duration_ms_median"]) if on else "-",
                      fmt_size(row["size_median"]) if on else "-"))
    print_table(hdr, lines)


def part_keys(args, out):
    extra = QUICK_KEYS_EXTRA if args.quick else KEYS_EXTRA
    rows = []
    for k in [int(x) for x in args.keys.split(",") if x.strip()]:
        # the same job without checkpoints (state Types.LONG()), for the throughput ratio (one pair)
        off = run_child({"part": "keys", "keys": k, "n": k + extra, "state": "long", "checkpoint": "off",
                         "interval_ms": args.interval_ms}, args.timeout)
        print("  %d keys, no checkpoints: %s" % (k, "%.1f s" % off["seconds"] if off.get("ok") else
                                                 "FAIL %s" % off.get("error")), flush=True)
        for state in ("long", "none"):
            spec = {"part": "keys", "keys": k, "n": k + extra, "state": state, "interval_ms": args.interval_ms}
            res = run_child(spec, args.timeout)
            row = {"keys": k, "n": spec["n"], "state": state, "run": res}
            if not res.get("ok"):
                row["status"] = "FAIL"
                row["reason"] = res.get("error")
                print("  %d keys, state %s: FAIL %s" % (k, state, res.get("error")), flush=True)
                rows.append(row)
                continue
            done = res["first_pass_done_ms"]
            cks = completed(res)
            full = [c for c in cks if done is not None and c["trigger_ms"] >= done]
            row.update({
                "status": "ok", "seconds": res["seconds"],
                "seconds_without_checkpoints": off.get("seconds") if off.get("ok") else None,
                "ratio": off["seconds"] / res["seconds"] if off.get("ok") else None,
                "checkpoints": len(cks), "full_checkpoints": len(full),
                "failed_checkpoints": sum(1 for c in res["checkpoints"] if c["status"] == "FAILED"),
                "pause_ms_median": med([c["sync_ms"] for c in full]),
                "pause_ms_max": max((c["sync_ms"] for c in full), default=None),
                "pause_ms_max_all": max((c["sync_ms"] for c in cks), default=None),
                "duration_ms_median": med([c["duration_ms"] for c in full]),
                "duration_ms_max": max((c["duration_ms"] for c in full), default=None),
                "size_median": med([c["size"] for c in full]),
                "size_max": max((c["size"] for c in full), default=None),
            })
            print("  %d keys, state %s: %.1f s, %d checkpoints (%d with all keys), pauses %s ms" % (
                k, state, res["seconds"], len(cks), len(full),
                ", ".join(fmt_ms(c["sync_ms"]) for c in cks)), flush=True)
            rows.append(row)
    out["keys"] = rows
    print()
    print("Per checkpoint, W3-like job over K keys, checkpoints every %d ms to a local dir (medians/max over "
          "the checkpoints taken with all K keys in state; ratio = t(no checkpoints) / t(this), one pair)" % args.interval_ms)
    hdr = ("keys", "state type", "N", "ratio", "ckpts (all keys)", "pause med ms", "pause max ms", "duration med ms",
           "duration max ms", "size med")
    lines = []
    for row in rows:
        label = "Types.LONG() (copy)" if row["state"] == "long" else "None (undeclared)"
        if row["status"] != "ok":
            lines.append((str(row["keys"]), label, str(row["n"]), "-", "FAIL", str(row["reason"])[:40], "-", "-", "-", "-"))
            continue
        lines.append((str(row["keys"]), label, str(row["n"]),
                      "-" if row["ratio"] is None else "%.2f" % row["ratio"], "%d (%d)" % (row["checkpoints"], row["full_checkpoints"]),
                      fmt_ms(row["pause_ms_median"]), fmt_ms(row["pause_ms_max"]), fmt_ms(row["duration_ms_median"]),
                      fmt_ms(row["duration_ms_max"]), fmt_size(row["size_median"])))
    print_table(hdr, lines)


def print_table(hdr, lines):
    widths = [max(len(h), *(len(ln[i]) for ln in lines)) if lines else len(h) for i, h in enumerate(hdr)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    print(fmt % hdr)
    print(fmt % tuple("-" * w for w in widths))
    for ln in lines:
        print(fmt % ln)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=5, help="rounds of the cost part (default 5)")
    ap.add_argument("--interval-ms", type=int, default=1000, help="checkpoint interval (default 1000)")
    ap.add_argument("--parts", default="cost,keys", help="cost and/or keys")
    ap.add_argument("--cost-workloads", default="W3,W1,W2")
    ap.add_argument("--keys", default="10000,1000000", help="key-space sizes of the keys part")
    ap.add_argument("--quick", action="store_true", help="smaller N (runs of ~2 s: fewer checkpoints)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "checkpoint.json"))
    args = ap.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    from run import machine_info

    info = machine_info()
    print("strom checkpoint bench: interval %d ms | %s, Python %s, %s CPUs, load %s, commit %s" % (
        args.interval_ms, info.get("cpu", info["machine"]), info["python"], info["nproc"],
        "/".join("%.2f" % x for x in info["loadavg_at_start"]), info.get("strom_commit")), flush=True)
    out = {"machine": info, "args": vars(args)}
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    tmp = tempfile.mkdtemp(prefix="strom_ckpt_bench_")
    try:
        if "cost" in parts:
            part_cost(args, tmp, out)
        if "keys" in parts:
            print()
            part_keys(args, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print("\nwritten to %s" % args.json)
    bad = [r for r in out.get("cost", []) + out.get("keys", []) if r.get("status") != "ok"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
