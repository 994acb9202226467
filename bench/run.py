#!/usr/bin/env python
"""strom's benchmark: W1/W2/W3 on the plain-Python loop and on strom, in one command.

Usage:
    python bench/run.py [--n 1000000] [--runs 3] [--workloads W1,W2,W3] [--parallelism 1,2]
                        [--json bench/results/latest.json] [--variants typed,untyped]
                        [--no-peers] [--timeout 900]
    python bench/run.py --report bench/results/latest.json   # the table of an earlier run

For every workload, every engine configuration (the plain loop; strom at each parallelism, as
``strom+types`` with output types declared as pyflink_bench.py does and as ``strom`` without
them; Bytewax / PyFlink when they are importable) runs ``--runs`` times, each run in a fresh
interpreter (bench/_child.py) so that its peak RSS is its own. Runs are interleaved (run 1 of
every configuration, then run 2, ...) so that drift in machine load hits all of them alike.
Every result is checked against ``workloads.expected_*``; a wrong result is reported as FAIL
with the reason, no figure is printed for it, and the command exits with status 1.

Figures (see bench/README.md): records/s = N / median wall seconds of the run (job definition
+ execution, interpreter start and imports excluded); "vs plain" = the median over rounds of
the run's rate / the plain loop's rate in the same round (a paired ratio: both saw the same
machine load); peak RSS = the highest peak RSS of the configuration's runs.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS_DIR = os.path.join(HERE, "peers")
sys.path.insert(0, HERE)

WORKLOADS = ("W1", "W2", "W3")


# --------------------------------------------------------------------------- running children
def run_process(cmd, timeout, env=None):
    """Run ``cmd`` (with ``env`` if given); returns (stdout, stderr, returncode, peak RSS MB of the process tree).

    The RSS comes from wait4(), i.e. the child's ru_maxrss (and its reaped descendants'). Linux
    carries ru_maxrss across execve, so it is at least this parent's own RSS (kept small: the
    expected results are computed in a child); our children report VmHWM themselves instead.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=ROOT, env=env)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            stdout = proc.stdout.read()
            proc.stdout.close()
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    return stdout.decode(errors="replace"), stderr.decode(errors="replace"), proc.returncode, usage.ru_maxrss / 1024.0


def run_ours(engine, workload, n, parallelism, expected_file, timeout):
    cmd = [sys.executable, os.path.join(HERE, "_child.py"), engine, workload, str(n),
           str(parallelism), expected_file]
    stdout, stderr, rc, tree_rss = run_process(cmd, timeout)
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            res["tree_maxrss_mb"] = tree_rss
            if res.get("traceback") and not res.get("not_available"):
                res["stderr"] = res.pop("traceback")
            return res
    return {"ok": False, "error": "child exited with status %d and no result (timeout %ss?)" % (rc, timeout),
            "stderr": stderr[-3000:]}


PEERS = {
    # name: (module to detect, script, extra args, parallelism label)
    "bytewax": ("bytewax", "bytewax_bench.py", [], "1w"),
    "pyflink": ("pyflink", "pyflink_bench.py", ["-p", "1", "--mode", "thread"], "1"),
}


def available_peers():
    found = []
    for name, (module, script, _args, _p) in PEERS.items():
        if importlib.util.find_spec(module) is not None and os.path.exists(os.path.join(PEERS_DIR, script)):
            found.append(name)
    return found


def run_peer(name, workload, n, timeout):
    _module, script, extra, _p = PEERS[name]
    cmd = [sys.executable, os.path.join(PEERS_DIR, script), workload, str(n), *extra]
    # PyFlink's thread mode embeds CPython in the JVM (pemja), which does not see a venv's
    # packages unless they are on PYTHONPATH
    site = sysconfig.get_paths()["purelib"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH")) if p))
    stdout, stderr, rc, tree_rss = run_process(cmd, timeout, env)
    res = {"engine": name, "workload": workload, "n": n, "maxrss_mb": tree_rss}
    bad = [ln for ln in stdout.splitlines() if ln.startswith(("FAIL", "timed-run check: MISMATCH"))]
    for line in stdout.splitlines():
        if line.startswith("engine=") and "seconds=" in line:
            fields = dict(kv.split("=", 1) for kv in line.split())
            res["seconds"] = float(fields["seconds"])
    if rc != 0 or bad or "seconds" not in res:
        res["ok"] = False
        res["error"] = "; ".join(bad) or "peer exited with status %d" % rc
        res["stderr"] = stderr[-3000:]
    else:
        res["ok"] = True
    return res


# --------------------------------------------------------------------------- reporting
def machine_info():
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "loadavg_at_start": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_mb"] = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "strom"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["strom_commit"] = rev + ("+uncommitted changes in strom/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def fmt_rate(r):
    if r >= 1e6:
        return "%.2fM" % (r / 1e6)
    if r >= 1e3:
        return "%.0fk" % (r / 1e3)
    return "%.0f" % r


def summarise(cfg, runs, n, unavailable_reason=None):
    """Median figures of one configuration (only when every run passed)."""
    out = {"workload": cfg["workload"], "engine": cfg["engine"], "parallelism": cfg["parallelism"],
           "phase": cfg.get("phase", "main"), "n": n, "runs": runs}
    failed = [r for r in runs if not r.get("ok")]
    if not runs and unavailable_reason:
        out["status"] = "not available"
        out["reason"] = unavailable_reason
    elif not runs:
        out["status"] = "skipped"
    elif any(r.get("not_available") for r in runs):
        out["status"] = "not available"
        out["reason"] = runs[0]["error"]
    elif failed:
        out["status"] = "FAIL"
        out["reason"] = failed[0]["error"]
    else:
        secs = [r["seconds"] for r in runs]
        med = statistics.median(secs)
        out["status"] = "ok"
        out["seconds_median"] = med
        out["records_per_s"] = n / med
        out["records_per_s_min"] = n / max(secs)
        out["records_per_s_max"] = n / min(secs)
        cpus = [r["cpu_s"] for r in runs if r.get("cpu_s")]
        if cpus:
            out["cpu_records_per_s"] = n / statistics.median(cpus)
        out["peak_rss_mb"] = max(r["maxrss_mb"] for r in runs)
    return out


def add_ratios(rows):
    """Set ``ratio_vs_plain`` on every ok row: the median over rounds of its rate / the plain
    loop's rate in the same round and phase (runs of one round are seconds apart, so the pair
    sees the same machine load), and ``ratio_of_medians`` (median rate / plain's median rate)."""
    plain = {(r["workload"], r.get("phase", "main")): r for r in rows
             if r["engine"] == "plain" and r["status"] == "ok"}
    for row in rows:
        base = plain.get((row["workload"], row.get("phase", "main")))
        if row["status"] != "ok" or base is None:
            continue
        row["ratio_of_medians"] = row["records_per_s"] / base["records_per_s"]
        row["ratio_vs_plain"] = statistics.median(
            b["seconds"] / r["seconds"] for r, b in zip(row["runs"], base["runs"]))


def print_table(rows):
    header = ("workload", "engine", "p", "records/s", "vs plain", "peak RSS MB", "spread (min-max rec/s)")
    lines = []
    for row in rows:
        engine = row["engine"] + (" (2)" if row["engine"] == "plain" and row.get("phase") == "peers" else "")
        if row["status"] == "ok":
            ratio = row.get("ratio_vs_plain")
            lines.append((row["workload"], engine, str(row["parallelism"]), fmt_rate(row["records_per_s"]),
                          ("%.2fx" if ratio >= 0.1 else "%.3fx") % ratio if ratio is not None else "-", "%.1f" % row["peak_rss_mb"],
                          "%s-%s" % (fmt_rate(row["records_per_s_min"]), fmt_rate(row["records_per_s_max"]))))
        else:
            lines.append((row["workload"], engine, str(row["parallelism"]), row["status"], "-", "-",
                          (row.get("reason") or "")[:60] + ("..." if len(row.get("reason") or "") > 60 else "")))
    widths = [max(len(h), *(len(ln[i]) for ln in lines)) if lines else len(h) for i, h in enumerate(header)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    print(fmt % header)
    print(fmt % tuple("-" * w for w in widths))
    for ln in lines:
        print(fmt % ln)
    if any(row.get("phase") == "peers" for row in rows):
        print("plain (2): the plain loop measured again among the peers' runs; the peers' ratios are "
              "against it")


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="events per run (default 1000000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per configuration; the median is reported")
    ap.add_argument("--workloads", default="W1,W2,W3")
    ap.add_argument("--parallelism", default="1,2", help="strom parallelisms, comma-separated")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"),
                    help="where to write the results (default bench/results/latest.json)")
    ap.add_argument("--variants", default="typed,untyped",
                    help="strom variants: 'typed' (output_type/key_type declared, as pyflink_bench.py "
                         "does; engine 'strom+types') and/or 'untyped' (none declared; engine 'strom')")
    ap.add_argument("--no-peers", action="store_true", help="skip Bytewax/PyFlink even if importable")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run before it is killed")
    ap.add_argument("--report", metavar="JSON", help="print the table of an earlier run's JSON; run nothing")
    args = ap.parse_args(argv)
    if args.report:
        with open(args.report) as f:
            rows = json.load(f)["results"]
        add_ratios(rows)
        print_table(rows)
        return 0

    wls = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    for w in wls:
        if w not in WORKLOADS:
            ap.error("unknown workload %r (expected W1, W2, W3)" % w)
    pars = [int(p) for p in args.parallelism.split(",") if p.strip()]
    variant_engines = {"typed": "strom+types", "untyped": "strom"}
    try:
        strom_engines = [variant_engines[v.strip()] for v in args.variants.split(",") if v.strip()]
    except KeyError as exc:
        ap.error("unknown variant %s (expected typed, untyped)" % exc)
    peers = [] if args.no_peers else available_peers()
    n = args.n

    info = machine_info()
    print("strom bench: n=%d runs=%d workloads=%s parallelism=%s | %s, Python %s, %s CPUs, load %s"
          % (n, args.runs, ",".join(wls), ",".join(map(str, pars)), info.get("cpu", info["machine"]),
             info["python"], info["nproc"], "/".join("%.2f" % x for x in info["loadavg_at_start"])), flush=True)
    print("peers: %s" % (", ".join(peers) if peers else "none importable (bytewax, pyflink) - skipped"), flush=True)

    tmp = tempfile.mkdtemp(prefix="strom_bench_")
    expected_files = {}
    for w in wls:
        t0 = time.perf_counter()
        path = os.path.join(tmp, "expected_%s_%d.pickle" % (w, n))
        # in a child, so that this process stays small (children inherit nothing of it then)
        subprocess.run([sys.executable, os.path.join(HERE, "_child.py"), "expected", w, str(n), "-", path],
                       check=True, cwd=ROOT)
        expected_files[w] = path
        print("expected result of %s computed in %.1f s" % (w, time.perf_counter() - t0), flush=True)

    configs = []
    for w in wls:
        configs.append({"workload": w, "engine": "plain", "parallelism": 1})
        for engine in strom_engines:
            for p in pars:
                configs.append({"workload": w, "engine": engine, "parallelism": p})
    for w in wls:  # the peers' phase, with its own plain-loop runs for their ratios
        if peers:
            configs.append({"workload": w, "engine": "plain", "parallelism": 1, "phase": "peers"})
        for peer in peers:
            configs.append({"workload": w, "engine": peer, "parallelism": PEERS[peer][3], "phase": "peers"})
    results = {id(c): [] for c in configs}
    unavailable = {}  # (workload, engine) -> reason

    # Peers run after all of ours: a PyFlink run leaves a JVM winding down for a while, which would
    # slow whichever of our runs came next and skew the plain/strom ratios measured together. The
    # plain loop runs again among the peers, and their ratios are against that measurement.
    phases = [[c for c in configs if c.get("phase", "main") == name] for name in ("main", "peers")]
    t_start = time.perf_counter()
    for phase, r in ((phase, r) for phase in phases for r in range(args.runs)):
        for c in phase:
            key = (c["workload"], c["engine"])
            if key in unavailable:
                continue
            if c["engine"] in ("plain", "strom+types", "strom"):
                res = run_ours(c["engine"], c["workload"], n, c["parallelism"], expected_files[c["workload"]],
                               args.timeout)
            else:
                res = run_peer(c["engine"], c["workload"], n, args.timeout)
            results[id(c)].append(res)
            label = "%s %s p=%s run %d/%d" % (c["workload"], c["engine"], c["parallelism"], r + 1, args.runs)
            if res.get("ok"):
                print("  %-28s %8.3f s  %9s rec/s  rss %6.1f MB" % (
                    label, res["seconds"], fmt_rate(n / res["seconds"]), res["maxrss_mb"]), flush=True)
            elif res.get("not_available"):
                unavailable[key] = res["error"]
                print("  %-28s not available: %s" % (label, res["error"]), flush=True)
            else:
                print("  %-28s FAIL: %s" % (label, res["error"]), file=sys.stderr, flush=True)
                if res.get("stderr"):
                    print("    " + res["stderr"].strip().replace("\n", "\n    "), file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t_start

    rows = [summarise(c, results[id(c)], n, unavailable.get((c["workload"], c["engine"]))) for c in configs]
    add_ratios(rows)
    print()
    print("N = %d events, median of %d runs, each in a fresh process (%.0f s in all)" % (n, args.runs, elapsed))
    print_table(rows)
    for row in rows:
        if row["status"] == "FAIL" or (row["status"] == "not available" and row["runs"]):
            print("  %s %s p=%s %s: %s" % (row["workload"], row["engine"], row["parallelism"], row["status"],
                                           row.get("reason")))

    report = {"machine": info, "args": vars(args), "elapsed_s": elapsed, "results": rows}
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
        print("\nwrote %s" % args.json)
    for path in expected_files.values():
        os.unlink(path)
    os.rmdir(tmp)

    failed = [row for row in rows if row["status"] == "FAIL"]
    if failed:
        print("\nFAILED (wrong or missing results, no figure reported):", file=sys.stderr)
        for row in failed:
            print("  %s %s p=%s: %s" % (row["workload"], row["engine"], row["parallelism"], row["reason"]),
                  file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
