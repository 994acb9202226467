"""Instructions per record under callgrind: a noise-free A/B measure for hot-path work.

Wall-clock rates on a shared 2-core VM move by 20-50 % between runs, which hides the 2-5 %
changes that hot-path work is made of. Valgrind's callgrind counts the machine instructions
executed instead: the same program gives the same count on a busy or an idle machine (hash
randomisation is pinned with PYTHONHASHSEED=0). Each configuration runs at two sizes and the
difference is divided by the difference in records, so start-up and job building cancel out.

Instructions are a proxy, not time: cache misses and branch mispredictions are not in them,
and anything driven by wall-clock time (periodic watermarks, buffer timeouts, adaptive step
lengths) runs ~50x more often per record under valgrind, which inflates W2. Use it to compare
two versions of the code on W1/W3; report speed with ``run.py``.

    .venv/bin/python bench/instructions.py                  # W1, W3: plain, strom, strom+types
    .venv/bin/python bench/instructions.py --workloads W3 --engines plain,strom

Needs ``valgrind`` on the PATH; about 1 minute for the defaults.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = """
import sys
sys.path[:0] = [%(here)r, %(root)r]
engine, workload, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if engine == "plain":
    import plain
    plain.run(workload, n)
else:
    import strom_jobs
    strom_jobs.run_job(workload, n, 1, engine == "strom+types")
"""


def instructions(engine, workload, n):
    """Total instructions of one run of ``workload`` with ``n`` records on ``engine``."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
           CHILD % {"here": HERE, "root": ROOT}, engine, workload, str(n)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    match = re.search(r"Collected\s*:\s*([\d,]+)", proc.stderr) or re.search(r"refs:\s*([\d,]+)", proc.stderr)
    if proc.returncode != 0 or match is None:
        raise SystemExit("valgrind run failed (%s %s n=%d):\n%s" % (engine, workload, n, proc.stderr[-2000:]))
    return int(match.group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="W1,W3")
    ap.add_argument("--engines", default="plain,strom,strom+types")
    ap.add_argument("--n", type=int, default=20000, help="smaller size; the larger one is 3n")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    engines = args.engines.split(",")
    print("%-8s %-12s %14s %9s" % ("workload", "engine", "instr/record", "vs plain"))
    for workload in args.workloads.split(","):
        per = {}
        for engine in engines:
            small, large = instructions(engine, workload, args.n), instructions(engine, workload, 3 * args.n)
            per[engine] = (large - small) / (2 * args.n)
            base = per.get("plain")
            ratio = "%.3fx" % (base / per[engine]) if base else "-"
            print("%-8s %-12s %14.0f %9s" % (workload, engine, per[engine], ratio), flush=True)


if __name__ == "__main__":
    main()
