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

``--exchange`` measures what parallelism adds per record instead (strom+types, inline executor
with a ManualClock, so W2 is not inflated; every exchange kept as a task boundary, as on
TaskManager processes): ``p1`` (the key_by an in-process exchange to the one subtask), ``p2``
(two subtasks in one process: routing by key) and ``p2-cross`` (as ``p2``, with the channels
between subtasks of different index made of the network's two channel ends joined in this
process: every record that would cross between two one-slot TaskManagers is serialized and
deserialized by the same code, without the sockets). ``2 x p1 / p2-cross`` is the p=2 speedup
that this work allows before memory effects, system time and idle time. Both p=2 subtasks run
in one interpreter here, so the call sites they share see two functions (a few dozen
instructions per record more than on two TaskManagers), and ``--cache`` (data misses in
callgrind's cache model, 512 KiB last level) puts both subtasks' data in one cache: it shows
the direction of a change, not its size on a real machine.

    .venv/bin/python bench/instructions.py                  # W1, W3: plain, strom, strom+types
    .venv/bin/python bench/instructions.py --workloads W3 --engines plain,strom
    .venv/bin/python bench/instructions.py --exchange --workloads W1,W2,W3 [--cache]

Needs ``valgrind`` on the PATH; about 1 minute for the defaults, 2 per workload with
``--exchange`` (5 with ``--cache``).
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

EXCHANGE_CHILD = """
import sys
sys.path[:0] = [%(here)r, %(root)r]
config, workload, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
import strom_jobs
from strom.datastream import StreamExecutionEnvironment
from strom.runtime import deploy
from strom.runtime.channels import Channel, LocalChannel
from strom.runtime.executors.inline import InlineExecutor
from strom.runtime.network.channels import RemoteInputChannel, RemoteOutputChannel
from strom.time.clock import ManualClock

InlineExecutor.chains_single_subtask_exchanges = False  # task boundaries as on TaskManagers


class Joined(Channel):
    # the two ends of a channel between processes, joined here: what is pushed is serialized
    # by the producer's end and delivered as a frame to the consumer's end
    flush_each_step = RemoteOutputChannel.flush_each_step
    keeps_batches = RemoteOutputChannel.keeps_batches

    def __init__(self, name):
        self.inp = RemoteInputChannel(0, name)
        self.out = RemoteOutputChannel(0, self._frame, name)

    def _frame(self, channel, kind, payload):
        self.inp.deliver(kind, payload, self._grant)
        if self.on_push is not None:
            self.on_push()

    def _grant(self, channel, n):
        self.out.add_credit(n)
        if self.on_credit is not None:
            self.on_credit()

    def push(self, item):
        self.out.push(item)

    def poll(self):
        return self.inp.poll()

    def unread(self, item):
        self.inp.unread(item)

    def has_credit(self):
        return self.out.has_credit()


def make_channel(spec, side):
    if config == "p2-cross" and spec.producer[1] != spec.consumer[1]:
        return Joined(spec.name)
    return LocalChannel(name=spec.name)


deploy.build_tasks.__kwdefaults__["make_channel"] = make_channel
make_env = StreamExecutionEnvironment.get_execution_environment


def manual_clock_env(*args):
    env = make_env(*args)
    env.clock = ManualClock()
    return env


strom_jobs.StreamExecutionEnvironment.get_execution_environment = staticmethod(manual_clock_env)
strom_jobs.execute_job(workload, n, 1 if config == "p1" else 2, True, "inline")
"""
EXCHANGE_CONFIGS = ("p1", "p2", "p2-cross")


# callgrind's cache model for --cache: 32 KiB L1 data, and a 512 KiB last level standing for
# the per-core L2 (what a record read long after it was made misses on this machine)
CACHE_MODEL = ["--cache-sim=yes", "--D1=32768,8,64", "--LL=524288,8,64"]


def counts(engine, workload, n, cache=False):
    """Instructions (and with ``cache`` last-level data misses) of one run of ``workload`` with
    ``n`` records on ``engine`` (or exchange configuration)."""
    child = EXCHANGE_CHILD if engine in EXCHANGE_CONFIGS else CHILD
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           *(CACHE_MODEL if cache else []), sys.executable, "-c",
           child % {"here": HERE, "root": ROOT}, engine, workload, str(n)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    match = re.search(r"Collected\s*:\s*([\d,]+)", proc.stderr) or re.search(r"refs:\s*([\d,]+)", proc.stderr)
    misses = re.search(r"LLd misses:\s*([\d,]+)", proc.stderr)
    if proc.returncode != 0 or match is None or (cache and misses is None):
        raise SystemExit("valgrind run failed (%s %s n=%d):\n%s" % (engine, workload, n, proc.stderr[-2000:]))
    out = {"instructions": int(match.group(1).replace(",", ""))}
    if cache:
        out["misses"] = int(misses.group(1).replace(",", ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="W1,W3")
    ap.add_argument("--engines", default="plain,strom,strom+types")
    ap.add_argument("--n", type=int, default=20000, help="smaller size; the larger one is 3n")
    ap.add_argument("--exchange", action="store_true",
                    help="p1 / p2 / p2-cross (what parallelism adds per record) instead of engines")
    ap.add_argument("--cache", action="store_true",
                    help="with --exchange: also last-level data misses per record (callgrind's "
                         "cache model, 512 KiB last level; slower)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    if args.exchange:
        exchange(args.workloads.split(","), args.n, args.cache)
        return
    engines = args.engines.split(",")
    print("%-8s %-12s %14s %9s" % ("workload", "engine", "instr/record", "vs plain"))
    for workload in args.workloads.split(","):
        per = {}
        for engine in engines:
            per[engine] = per_record(engine, workload, args.n)["instructions"]
            base = per.get("plain")
            ratio = "%.3fx" % (base / per[engine]) if base else "-"
            print("%-8s %-12s %14.0f %9s" % (workload, engine, per[engine], ratio), flush=True)


def per_record(engine, workload, n, cache=False):
    """Counts per record (:func:`counts`): (run at 3n - run at n) / 2n."""
    small, large = counts(engine, workload, n, cache), counts(engine, workload, 3 * n, cache)
    return {k: (large[k] - small[k]) / (2 * n) for k in small}


def exchange(workloads, n, cache):
    print("%-8s %10s %10s %10s %12s %14s" % ("workload", "p1", "p2", "p2-cross", "p2-cross/p1",
                                             "2 x p1/p2-cross"))
    for workload in workloads:
        per = {c: per_record(c, workload, n, cache) for c in EXCHANGE_CONFIGS}
        ir = {c: per[c]["instructions"] for c in EXCHANGE_CONFIGS}
        print("%-8s %10.0f %10.0f %10.0f %11.3fx %13.2fx" % (
            workload, ir["p1"], ir["p2"], ir["p2-cross"], ir["p2-cross"] / ir["p1"],
            2 * ir["p1"] / ir["p2-cross"]), flush=True)
        if cache:
            print("%-8s %10.1f %10.1f %10.1f   (last-level data misses per record)" % (
                "", *(per[c]["misses"] for c in EXCHANGE_CONFIGS)), flush=True)


if __name__ == "__main__":
    main()
