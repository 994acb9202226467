"""What the web dashboard costs a running job: throughput with the job's page open and polling in
a headless browser vs with no page open, in the same run.

One job runs under ``strom run --web`` (the embedded runtime: the REST API and the dashboard
share the job's interpreter, so this is the costly case; a session cluster's TaskManager
processes never serve a request): an unbounded number source with event-time watermarks ->
map -> key_by -> 1 s tumbling event-time windows -> a sink that drops its input, checkpointing
every second, in three vertices (chains broken where Flink would break them), so the page polls
four API paths a second. Once it is warm, the script alternates phases of ``--seconds`` each in ABBA order
(cancelling a drift of the machine's speed): A = the browser shows ``about:blank``, B = it shows
the job's page (graph, vertex table, three charts; one poll a second: the job, one metrics
request per vertex). Each phase's rate is the difference of the map's ``records`` counter over
the phase (read through the REST API at the phase's ends, both phases alike). Reported: every
phase's rate, the median rate of each side, the median over adjacent (A, B) pairs of the ratio
B/A (each pair saw the same load on a shared machine), the API requests the page made and the
time they took from request to response (the browser's resource timings, GIL waits included),
and the CPU time of the job process's threads besides the job's own (Linux /proc; the REST
server's thread among them) with the page open vs closed: what serving the page takes from the
job's interpreter, a figure steadier than the rates on a busy machine.

The browser is Debian's chromium driven by playwright (``scripts/browsers`` installs both).

Usage::

    .venv/bin/python bench/dashboard.py                  # 10 rounds ABBA of 4 s (~3 min)
    .venv/bin/python bench/dashboard.py --rounds 2 --seconds 5 --json /tmp/dashboard.json
    .venv/bin/python bench/dashboard.py --refresh-ms 1000    # the page polling every second
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("STROM_CHROMIUM", "/usr/bin/chromium")
BUDGET = 0.03  # the dashboard may cost a running job at most this share of its throughput

JOB = '''
from strom.api.functions import MapFunction, SinkFunction
from strom.api.sources import NumberSequenceSource
from strom.common import Time, WatermarkStrategy
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.window import TumblingEventTimeWindows


class Triple(MapFunction):
    """Counts what it maps in a user metric ("records"): the rate of the job."""

    def open(self, runtime_context):
        self.records = runtime_context.get_metrics_group().counter("records")

    def map(self, value):
        self.records.inc()
        return value * 3


class Drop(SinkFunction):
    def invoke(self, value, context):
        pass


def event_time(value, record_timestamp):
    return value  # one event per ms of event time: a 1 s window holds 1000 events


env = StreamExecutionEnvironment.get_execution_environment()
env.enable_checkpointing(1000)
env.get_checkpoint_config().set_checkpoint_storage_dir({checkpoints!r})
strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(event_time)
env.from_source(NumberSequenceSource(0, 10**15), strategy, "numbers") \\
    .map(Triple()).name("triple") \\
    .key_by(lambda v: v % 100).window(TumblingEventTimeWindows.of(Time.seconds(1))) \\
    .reduce(lambda a, b: a + b).name("sum per key and second").start_new_chain() \\
    .add_sink(Drop()).name("drop").disable_chaining()
env.execute("dashboard bench")
'''


CLEAR_TIMINGS = """() => { performance.setResourceTimingBufferSize(100000);
                           performance.clearResourceTimings(); }"""
API_TIME_MS = """(base) => performance.getEntriesByType('resource')
    .filter((e) => e.name.startsWith(base) && !e.name.startsWith(base + '/web/'))
    .reduce((total, e) => total + (e.responseEnd - e.requestStart), 0)"""
"""From request sent to response read, summed over the page's API requests: an upper bound of
the time the job's interpreter spent serving them (it includes waiting for the job to yield)."""


def _thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of process ``pid`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def _browser_cpu(job_pid: int) -> float:
    """CPU seconds of this process's descendants but the job's: the browser and its driver."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid in cpu:
        ancestor = pid
        while ancestor > 1 and ancestor not in (os.getpid(), job_pid):
            ancestor = parents.get(ancestor, 1)
        if ancestor == os.getpid() and pid != job_pid:
            total += cpu[pid]
    return total


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_job(url: str, proc: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    """(job id, source vertex id) once the job runs."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"bench/dashboard.py: the job exited {proc.returncode}:\n"
                             f"{proc.stderr.read() if proc.stderr else ''}")
        try:
            jobs = _get(f"{url}/jobs/overview")["jobs"]
            if jobs and jobs[0]["state"] == "RUNNING":
                job = _get(f"{url}/jobs/{jobs[0]['jid']}")
                return job["jid"], job["vertices"][0]["id"]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("bench/dashboard.py: the job did not start running within "
                             f"{timeout:.0f} s")
        time.sleep(0.2)


def _emitted(url: str, jid: str, source: str) -> int:
    rows = _get(f"{url}/jobs/{jid}/vertices/{source}/subtasks/metrics?get=triple.records")
    if not rows:
        raise SystemExit("bench/dashboard.py: the job has no metric triple.records")
    return int(rows[0]["sum"])


def measure(rounds: int, seconds: float, warmup: float,
            refresh_ms: int | None = None) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="strom-bench-dashboard-") as tmp:
        script = Path(tmp) / "job.py"
        script.write_text(JOB.format(checkpoints=f"file://{tmp}/checkpoints"))
        proc = subprocess.Popen([sys.executable, "-m", "strom", "run", "--web", "-D",
                                 f"rest.port={port}", str(script)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            jid, source = _wait_for_job(url, proc)
            time.sleep(warmup)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                requests = {"n": 0}
                page.on("request", lambda r: requests.__setitem__(
                    "n", requests["n"] + (not r.url.startswith(f"{url}/web/"))))
                phases: list[dict[str, object]] = []
                order = "ABBA" * rounds
                for side in order:
                    if side == "A":
                        page.goto("about:blank")
                    else:
                        query = f"?refresh={refresh_ms}" if refresh_ms else ""
                        page.goto(f"{url}/{query}#/jobs/{jid}")
                        page.wait_for_selector("#job-graph g.vertex", timeout=30_000)
                    before_requests = requests["n"]
                    page.evaluate(CLEAR_TIMINGS)
                    start, t0 = _emitted(url, jid, source), time.monotonic()
                    cpu0, browser0 = _thread_cpu(proc.pid), _browser_cpu(proc.pid)
                    page.wait_for_timeout(seconds * 1000)  # the page polls meanwhile
                    cpu1, browser1 = _thread_cpu(proc.pid), _browser_cpu(proc.pid)
                    end, t1 = _emitted(url, jid, source), time.monotonic()
                    used = sorted((cpu1[t] - cpu0.get(t, 0.0) for t in cpu1), reverse=True)
                    served_ms = page.evaluate(API_TIME_MS, url) if side == "B" else 0.0
                    phases.append({"page": "open" if side == "B" else "closed",
                                   "records_per_s": (end - start) / (t1 - t0),
                                   "api_requests": requests["n"] - before_requests,
                                   "api_ms_per_s": served_ms / (t1 - t0),
                                   "job_thread_cpu_ms_per_s": 1000 * used[0] / (t1 - t0),
                                   "other_threads_cpu_ms_per_s": 1000 * sum(used[1:]) / (t1 - t0),
                                   "browser_cpu_ms_per_s": 1000 * (browser1 - browser0) / (t1 - t0)})
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    closed = [ph["records_per_s"] for ph in phases if ph["page"] == "closed"]
    open_ = [ph["records_per_s"] for ph in phases if ph["page"] == "open"]
    polled = [ph["api_requests"] for ph in phases if ph["page"] == "open"]
    served = [ph["api_ms_per_s"] for ph in phases if ph["page"] == "open"]
    others = {side: statistics.mean(ph["other_threads_cpu_ms_per_s"] for ph in phases
                                    if ph["page"] == side) for side in ("open", "closed")}
    browser = {side: statistics.mean(ph["browser_cpu_ms_per_s"] for ph in phases
                                     if ph["page"] == side) for side in ("open", "closed")}
    # adjacent phases pair up (A B | B A per round): each pair's ratio sees the same machine
    pairs = [phases[i:i + 2] for i in range(0, len(phases), 2)]
    ratios = [next(p["records_per_s"] for p in pair if p["page"] == "open")
              / next(p["records_per_s"] for p in pair if p["page"] == "closed") for pair in pairs]
    ratio = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratio, ratio, ratio]
    return {"rounds": rounds, "seconds_per_phase": seconds, "phases": phases,
            "refresh_ms": refresh_ms or "the server's (GET /config)",
            "pair_ratio_quartiles": [quartiles[0], quartiles[2]],
            "median_closed": statistics.median(closed), "median_open": statistics.median(open_),
            "pair_ratios": ratios, "ratio_open_vs_closed": ratio, "cost": 1 - ratio,
            "api_requests_per_s_open": sum(polled) / (len(polled) * seconds),
            "api_ms_per_s_open": statistics.median(served),
            "other_threads_cpu_ms_per_s": others, "browser_cpu_ms_per_s": browser,
            "serving_cpu_share": (others["open"] - others["closed"]) / 1000,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "platform": platform.platform()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="ABBA rounds (default 10)")
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="length of one phase in seconds (default 4)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds the job runs before the first phase (default 5)")
    parser.add_argument("--refresh-ms", type=int, default=None, metavar="MS",
                        help="the page's poll interval (default: the server's, 3 s)")
    parser.add_argument("--json", metavar="PATH", default=str(ROOT / "bench" / "results" /
                                                              "dashboard.json"),
                        help="where to write the results (default bench/results/dashboard.json)")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"bench/dashboard.py: no chromium at {CHROMIUM}; run scripts/browsers")
    result = measure(args.rounds, args.seconds, args.warmup, args.refresh_ms)
    for i, ph in enumerate(result["phases"]):
        print(f"phase {i + 1:2d}  page {ph['page']:<6}  {ph['records_per_s']:>10,.0f} records/s"
              f"  {ph['api_requests']:>4} API requests  other threads "
              f"{ph['other_threads_cpu_ms_per_s']:5.1f} ms/s CPU, browser "
              f"{ph['browser_cpu_ms_per_s']:5.1f} ms/s")
    print(f"median records/s: page closed {result['median_closed']:,.0f}, page open and polling "
          f"{result['median_open']:,.0f}")
    print(f"open/closed, median of {len(result['pair_ratios'])} adjacent pairs: "
          f"{result['ratio_open_vs_closed']:.3f} (quartiles "
          f"{result['pair_ratio_quartiles'][0]:.3f}-{result['pair_ratio_quartiles'][1]:.3f}; "
          f"cost {result['cost']:+.1%}, budget {BUDGET:.0%}), polling every "
          f"{result['refresh_ms']}{' ms' if args.refresh_ms else ''}")
    others = result["other_threads_cpu_ms_per_s"]
    print(f"while open: {result['api_requests_per_s_open']:.1f} API requests/s, "
          f"{result['api_ms_per_s_open']:.1f} ms/s from request to response (GIL waits "
          f"included); CPU of the job process's threads besides the job's: "
          f"{others['open']:.1f} ms/s open vs {others['closed']:.1f} ms/s closed: serving the "
          f"page takes {result['serving_cpu_share']:.2%} of a core; the browser (on this machine) "
          f"used {result['browser_cpu_ms_per_s']['open']:.0f} ms/s of CPU open, "
          f"{result['browser_cpu_ms_per_s']['closed']:.0f} ms/s closed")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
