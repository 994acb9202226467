"""Throughput and peak memory of ``strom demo`` (the log-analytics pipeline end to end).

Each run is ``strom demo --events N --json --parallelism P`` in a fresh interpreter, JSON lines
to /dev/null, with its own empty checkpoint directory (the demo checkpoints every 2 s). Reported
per run: events/s as the demo measures it (job start to end, what its summary prints), the wall
time of the whole process (interpreter start included), and the child's peak resident memory
(``ru_maxrss`` from ``os.wait4`` on that child alone).

Usage::

    .venv/bin/python bench/demo.py                         # N = 1 000 000, p = 1 and 2
    .venv/bin/python bench/demo.py --n 100000 --parallelism 1 --json /tmp/demo.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(n: int, parallelism: int, timeout: float) -> dict[str, object]:
    """One demo run of ``n`` events at ``parallelism``: rates, wall time, peak RSS (MiB)."""
    with tempfile.TemporaryDirectory(prefix="strom-bench-demo-") as cp, \
            open(os.devnull, "w") as devnull, tempfile.TemporaryFile("w+") as err:
        cmd = [sys.executable, "-m", "strom", "demo", "--events", str(n), "--json",
               "--parallelism", str(parallelism), "--checkpoint-dir", cp]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=err, env=env, cwd=ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                raise SystemExit(f"bench/demo.py: the run of {n} events at p={parallelism} "
                                 f"took longer than {timeout:.0f} s (--timeout)")
            time.sleep(0.05)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read()
    if proc.returncode != 0:
        raise SystemExit(f"bench/demo.py: {' '.join(cmd)} exited {proc.returncode}:\n{text}")
    done = re.search(r"done: ([\d,]+) events in ([\d.]+) s \(([\d,]+) events/s\)", text)
    if done is None or int(done[1].replace(",", "")) != n:
        raise SystemExit(f"bench/demo.py: unexpected summary from {' '.join(cmd)}:\n{text}")
    checkpoints = re.search(r"checkpoints completed: (\d+)", text)
    return {"n": n, "parallelism": parallelism,
            "events_per_s": int(done[3].replace(",", "")), "job_s": float(done[2]),
            "wall_s": round(wall, 2), "events_per_s_wall": round(n / wall),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
            "checkpoints": int(checkpoints[1]) if checkpoints else None}


def table(rows: list[dict[str, object]]) -> str:
    """The results as a plain-text table."""
    head = f"{'N':>10} {'p':>2} {'events/s':>10} {'job s':>7} {'wall s':>7} {'events/s wall':>14} " \
           f"{'peak RSS MiB':>13} {'checkpoints':>11}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['n']:>10,} {r['parallelism']:>2} {r['events_per_s']:>10,} "
                     f"{r['job_s']:>7.1f} {r['wall_s']:>7.1f} {r['events_per_s_wall']:>14,} "
                     f"{r['peak_rss_mib']:>13.1f} {r['checkpoints']!s:>11}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="events per run (default 1M)")
    parser.add_argument("--parallelism", default="1,2", help="comma-separated (default 1,2)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run (1800)")
    args = parser.parse_args(argv)
    rows = []
    for p in (int(x) for x in args.parallelism.split(",")):
        rows.append(measure(args.n, p, args.timeout))
        print(f"  p={p}: {rows[-1]['events_per_s']:,} events/s", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "benchmark": "bench/demo.py", "when": time.strftime("%Y-%m-%d %H:%M"),
            "python": platform.python_version(), "cpus": os.cpu_count(), "runs": rows},
            indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
