"""One measured run in a fresh interpreter (started by bench/run.py; not meant to be run by hand).

Usage: python bench/_child.py ENGINE WORKLOAD N PARALLELISM EXPECTED_PICKLE
       python bench/_child.py expected WORKLOAD N - EXPECTED_PICKLE   (writes workloads.expected_*)
  ENGINE is ``plain``, ``strom`` (output types declared, as pyflink_bench.py does) or
  ``strom`` (no output_type/key_type declared). Prints one JSON line prefixed with ``RESULT `` on stdout:
  seconds (wall time of the run), cpu_s, maxrss_mb (this process's peak RSS, read before the
  expected result is loaded), import_s (time to import the engine), ok, error.

Peak RSS is VmHWM from /proc/self/status: the high-water mark of this process's own address
space. ``ru_maxrss`` is not used because Linux carries it across execve(): a child spawned
(vfork + exec) by a parent holding 30 MB reports at least 30 MB whatever it does itself.

The run is timed from just before the job is defined (strom: creating the environment) to just
after it returned (strom: ``env.execute()``), so interpreter start and imports are excluded
(bench/startup.py measures those). The result is checked against ``workloads.expected_*``
after timing; the expected value is computed once by the parent and loaded from a pickle.
"""
from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))  # the repository root, for ``import strom``

# W2 streaming check: windows must fire while the input is still flowing, not all at end of input.
# Bounded-out-of-orderness watermarks are emitted periodically (pipeline.auto-watermark-interval,
# 200 ms of processing time, as in Flink), so a short run legitimately sees its first watermark
# late; the check applies only to runs of at least STREAMING_CHECK_MIN_S seconds.
STREAMING_CHECK_MIN_S = 1.0
FIRST_FIRE_MAX_FRACTION = 0.5


def check(engine, workload, n, summary, info, expected):
    """None if the result is right, else a message saying what is wrong."""
    if workload == "W1":
        if summary != expected:
            return "W1: sink counted %r records, expected %d" % (summary, expected)
        return None
    if workload == "W3":
        emitted, last = summary
        exp_n, exp_final = expected
        if emitted != exp_n:
            return "W3: sink got %d records, expected %d" % (emitted, exp_n)
        if last != exp_final:
            wrong = [u for u in exp_final if last.get(u) != exp_final[u]]
            return ("W3: last count per user differs for %d of %d users (e.g. %s: got %r, expected %r)%s"
                    % (len(wrong), len(exp_final), wrong[0], last.get(wrong[0]), exp_final[wrong[0]],
                       "; users seen by two sink subtasks: %d" % info["users_in_two_subtasks"]
                       if info.get("users_in_two_subtasks") else ""))
        return None
    # W2
    if summary != expected:
        missing = len(set(expected) - set(summary))
        extra = len(set(summary) - set(expected))
        wrong = sum(1 for k in expected if k in summary and summary[k] != expected[k])
        return ("W2: %d (user, window) results, expected %d: %d missing, %d unexpected, %d wrong counts"
                % (len(summary), len(expected), missing, extra, wrong))
    if engine == "plain":
        import plain

        return plain.check_extra(workload, info, expected)
    if info.get("duplicates"):
        return "W2: %d windows fired more than once" % info["duplicates"]
    return None


def peak_rss_mb():
    """This process's peak resident set (VmHWM), in MB; ru_maxrss where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_expected(workload, n, path):
    import workloads

    fn = {"W1": workloads.expected_w1, "W2": workloads.expected_w2, "W3": workloads.expected_w3}[workload]
    with open(path, "wb") as f:
        pickle.dump(fn(n), f, protocol=pickle.HIGHEST_PROTOCOL)


def main():
    engine, workload, n, parallelism, expected_file = sys.argv[1:6]
    if engine == "expected":
        write_expected(workload, int(n), expected_file)
        return
    n, parallelism = int(n), int(parallelism)
    out = {"engine": engine, "workload": workload, "n": n, "parallelism": parallelism}
    try:
        t_imp = time.perf_counter()
        if engine == "plain":
            import plain

            runner = lambda: plain.run(workload, n)  # noqa: E731
            results = None
        elif engine in ("strom+types", "strom"):
            import strom_jobs

            typed = engine == "strom+types"
            runner = lambda: strom_jobs.execute_job(workload, n, parallelism, typed)  # noqa: E731
            results = lambda: strom_jobs.collect_results(workload)  # noqa: E731
        elif engine in ("strom-local+types", "strom-local"):  # TaskManager processes
            import strom_jobs

            typed = engine == "strom-local+types"
            strom_jobs.start_local_cluster(parallelism)  # not timed: the cluster is up
            runner = lambda: strom_jobs.execute_job(workload, n, parallelism, typed, "local")  # noqa: E731
            results = lambda: strom_jobs.collect_results(workload)  # noqa: E731
        else:
            raise SystemExit("unknown engine %r" % engine)
        out["import_s"] = time.perf_counter() - t_imp
        c0, t0 = time.process_time(), time.perf_counter()
        summary = runner()
        t1 = time.perf_counter()
        out["cpu_s"] = time.process_time() - c0
        # the sinks' results are read back (from files, for TaskManager processes) after timing
        summary, info = summary if results is None else results()
        out["seconds"] = t1 - t0
        out["maxrss_mb"] = peak_rss_mb()
        first = info.pop("first_fire_at", None)
        if first is not None:
            info["first_window_fired_at_fraction"] = round((first - t0) / (t1 - t0), 4)
        out["info"] = info
        with open(expected_file, "rb") as f:
            expected = pickle.load(f)
        error = check(engine, workload, n, summary, info, expected)
        if (error is None and engine != "plain" and workload == "W2" and out["seconds"] >= STREAMING_CHECK_MIN_S
                and (first is None or info["first_window_fired_at_fraction"] > FIRST_FIRE_MAX_FRACTION)):
            error = ("W2: the first window result reached the sink only at %.0f%% of the run: windows "
                     "must fire as the watermark passes, not at end of input"
                     % (100 * info.get("first_window_fired_at_fraction", 1.0)))
        out["ok"] = error is None
        out["error"] = error
    except Exception as exc:  # reported to the parent, which fails loudly
        name = type(exc).__name__
        out["ok"] = False
        out["not_available"] = name == "WindowsNotAvailable"
        out["error"] = "%s: %s" % (name, exc)
        out["traceback"] = traceback.format_exc()
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
