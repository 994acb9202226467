"""The benchmark workloads W1/W2/W3 as strom jobs, written the way a PyFlink user writes them.

Only the imports differ from a PyFlink job (``strom.*`` instead of ``pyflink.*``); the
pipelines mirror /work/shared/bench/peers/pyflink_bench.py:

  W1  from_source(NumberSequenceSource) -> map(make_event) -> map(enrich)
      -> filter(action != LOGOUT) -> CountingSink
  W2  ... map(make_event) -> assign_timestamps_and_watermarks(bounded out-of-orderness 5 s)
      -> key_by(user) -> window(TumblingEventTimeWindows 10 s)
      -> aggregate(count, ProcessWindowFunction emitting (user, window_start, count))
      -> WindowResultSink
  W3  ... map(make_event) -> key_by(user) -> process(KeyedProcessFunction, ValueState counter,
      yields (user, count) per event) -> LastCountSink

Sinks are ``SinkFunction``s whose ``invoke`` only increments a counter (plus, for W2/W3, a
dict write so the result can be checked). Each sink instance registers itself in ``open()`` in a
class-level registry; after the job, :func:`collect_results` merges the registered instances
(deduplicated by identity, so the result is right whether the runtime gives every subtask its
own copy of the function, as PyFlink does, or shares one instance).

Output types are declared (``output_type=Types.TUPLE(...)``, ``key_type``) as in pyflink_bench.py
unless ``typed=False`` (engine ``strom`` in bench/run.py).

``run_job(workload, n, parallelism, typed)`` builds and executes one job and returns
``(summary, info)``; ``check`` in ``bench/_child.py`` compares the summary with
``workloads.expected_*``.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import time
import types

from strom.common import Types
from strom.datastream import (
    KeyedProcessFunction,
    RuntimeContext,
    SinkFunction,
    StreamExecutionEnvironment,
)
from strom.datastream.connectors.number_seq import NumberSequenceSource
from strom.datastream.state import ValueStateDescriptor

from workloads import OUT_OF_ORDERNESS_MS, WINDOW_MS, enrich, make_event

EVENT_TYPE = Types.TUPLE([Types.STRING(), Types.STRING(), Types.LONG()])


class WindowsNotAvailable(Exception):
    """W2 needs strom's WatermarkStrategy and windows, which may not exist yet."""


# --------------------------------------------------------------------------- optional API
def _import_first(name, modules):
    """``name`` from the first of ``modules`` that has it; raises WindowsNotAvailable."""
    import importlib

    errors = []
    for mod in modules:
        try:
            return getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError) as exc:
            errors.append("%s.%s: %s: %s" % (mod, name, type(exc).__name__, exc))
    raise WindowsNotAvailable("; ".join(errors))


def watermark_strategy_class():
    return _import_first("WatermarkStrategy", ["strom.common", "strom.api.watermarks"])


def no_watermarks():
    """``WatermarkStrategy.no_watermarks()``, or None while WatermarkStrategy does not exist."""
    try:
        return watermark_strategy_class().no_watermarks()
    except WindowsNotAvailable:
        return None


def w2_api():
    """Everything W2 needs, imported by PyFlink paths first; WindowsNotAvailable if missing."""
    api = {
        "WatermarkStrategy": watermark_strategy_class(),
        "Duration": _import_first("Duration", ["strom.common"]),
        "Time": _import_first("Time", ["strom.common"]),
        "TumblingEventTimeWindows": _import_first(
            "TumblingEventTimeWindows",
            ["strom.datastream.window", "strom.window", "strom.datastream", "strom.window.assigners"]),
        "ProcessWindowFunction": _import_first(
            "ProcessWindowFunction",
            ["strom.datastream.functions", "strom.datastream", "strom.api.functions", "strom.window",
             "strom.window.functions"]),
        "AggregateFunction": _import_first(
            "AggregateFunction", ["strom.datastream.functions", "strom.datastream"]),
    }
    try:
        api["TimestampAssigner"] = _import_first(
            "TimestampAssigner", ["strom.common.watermark_strategy", "strom.common", "strom.api.watermarks"])
    except WindowsNotAvailable:
        api["TimestampAssigner"] = None  # fall back to a plain callable (e, ts) -> ts
    from strom.api.datastream import KeyedStream

    if not callable(getattr(KeyedStream, "window", None)):
        raise WindowsNotAvailable("KeyedStream.window(...) does not exist yet")
    return api


# --------------------------------------------------------------------------- sinks
class _RegisteredSink(SinkFunction):
    """Registers every opened instance so the results can be merged after the job."""

    registry: list = []

    def open(self, runtime_context: RuntimeContext):
        self.subtask = runtime_context.get_index_of_this_subtask()
        self.reset()
        _RegisteredSink.registry.append(self)

    def reset(self):
        self.n = 0

    def close(self):
        """In a TaskManager process: leave what this instance saw in a file for the client."""
        out = os.environ.get(SINK_DIR)
        if out:
            with open(os.path.join(out, "%s-%d.pkl" % (type(self).__name__, self.subtask)), "wb") as f:
                pickle.dump(vars(self), f)


SINK_DIR = "STROM_BENCH_SINK_DIR"


class CountingSink(_RegisteredSink):
    """W1: counts records."""

    def invoke(self, value, context):
        self.n += 1


class LastCountSink(_RegisteredSink):
    """W3: counts records and keeps the last (user, count) seen per user."""

    def reset(self):
        self.n = 0
        self.last = {}

    def invoke(self, value, context):
        self.n += 1
        self.last[value[0]] = value[1]


class WindowResultSink(_RegisteredSink):
    """W2: collects {(user, window_start): count}; notes when the first window fired."""

    def reset(self):
        self.n = 0
        self.results = {}
        self.first_at = None

    def invoke(self, value, context):
        if self.first_at is None:
            self.first_at = time.perf_counter()
        self.n += 1
        user, start, count = value
        key = (user, start)
        if key in self.results:  # a window fired twice: keep the evidence for the check
            self.duplicates = getattr(self, "duplicates", 0) + 1
        self.results[key] = count


def _instances():
    out_dir = os.environ.get(SINK_DIR)
    if out_dir:  # the sinks ran in TaskManager processes
        found = []
        for name in sorted(os.listdir(out_dir)):
            with open(os.path.join(out_dir, name), "rb") as f:
                found.append(types.SimpleNamespace(**pickle.load(f)))
        return found
    seen, out = set(), []
    for sink in _RegisteredSink.registry:
        if id(sink) not in seen:
            seen.add(id(sink))
            out.append(sink)
    return out


# --------------------------------------------------------------------------- user functions
class CountPerUser(KeyedProcessFunction):
    """W3: ValueState counter per user, emitting (user, count) for every event."""

    def open(self, runtime_context: RuntimeContext):
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, value, ctx):
        c = (self.count.value() or 0) + 1
        self.count.update(c)
        yield value[0], c


def _w2_functions(api):
    class CountAgg(api["AggregateFunction"]):
        def create_accumulator(self):
            return 0

        def add(self, value, accumulator):
            return accumulator + 1

        def get_result(self, accumulator):
            return accumulator

        def merge(self, a, b):
            return a + b

    class EmitWindowCount(api["ProcessWindowFunction"]):
        def process(self, key, context, elements):
            for c in elements:  # exactly one pre-aggregated value
                yield key, context.window().start, c

    assigner_base = api["TimestampAssigner"]
    if assigner_base is not None:
        class EventTimestampAssigner(assigner_base):
            def extract_timestamp(self, value, record_timestamp):
                return value[2]

        assigner = EventTimestampAssigner()
    else:
        assigner = lambda e, ts: e[2]  # noqa: E731
    return CountAgg(), EmitWindowCount(), assigner


def _tumbling(api, ms):
    windows = api["TumblingEventTimeWindows"]
    try:
        return windows.of(api["Time"].milliseconds(ms))   # PyFlink 1.x
    except Exception:
        return windows.of(api["Duration"].of_millis(ms))  # PyFlink 2.x


# --------------------------------------------------------------------------- jobs
def build(env, workload, n, typed=True):
    """Define the job for ``workload`` on ``env``; returns the sink function.

    ``typed``: declare ``output_type``/``key_type`` as pyflink_bench.py does (PyFlink users
    usually do); strom then validates every record against the declared type. ``typed=False``
    leaves them out (PyFlink's pickled default).
    """
    if workload == "W2":
        api = w2_api()  # before anything is added to the plan

    def t(type_info):
        return type_info if typed else None

    src = env.from_source(NumberSequenceSource(0, n - 1), no_watermarks(), "seq")
    events = src.map(make_event, output_type=t(EVENT_TYPE))
    if workload == "W1":
        sink = CountingSink()
        (events.map(enrich, output_type=t(EVENT_TYPE))
               .filter(lambda e: e[1] != "LOGOUT")   # enrich upper-cases the action
               .add_sink(sink))
    elif workload == "W2":
        agg, window_fn, assigner = _w2_functions(api)
        wms = (api["WatermarkStrategy"]
               .for_bounded_out_of_orderness(api["Duration"].of_millis(OUT_OF_ORDERNESS_MS))
               .with_timestamp_assigner(assigner))
        sink = WindowResultSink()
        out_type = t(Types.TUPLE([Types.STRING(), Types.LONG(), Types.LONG()]))
        (events.assign_timestamps_and_watermarks(wms)
               .key_by(lambda e: e[0], key_type=t(Types.STRING()))
               .window(_tumbling(api, WINDOW_MS))
               .aggregate(agg, window_function=window_fn,
                          accumulator_type=t(Types.LONG()), output_type=out_type)
               .add_sink(sink))
    elif workload == "W3":
        sink = LastCountSink()
        (events.key_by(lambda e: e[0], key_type=t(Types.STRING()))
               .process(CountPerUser(), output_type=t(Types.TUPLE([Types.STRING(), Types.LONG()])))
               .add_sink(sink))
    else:
        raise SystemExit("unknown workload %r" % workload)
    return sink


def collect_results(workload):
    """Merge what the sink instances saw: the summary to check, plus info."""
    sinks = _instances()
    info = {"sink_instances": len(sinks),
            "per_subtask_records": {str(s.subtask): s.n for s in sinks}}
    n = sum(s.n for s in sinks)
    if workload == "W1":
        return n, info
    if workload == "W3":
        last = {}
        for s in sinks:
            for user, c in s.last.items():
                if user in last:  # a user's records reached two subtasks: keying is broken
                    info["users_in_two_subtasks"] = info.get("users_in_two_subtasks", 0) + 1
                last[user] = c
        return (n, last), info
    results = {}
    for s in sinks:
        for k, c in s.results.items():
            if k in results:
                info["duplicates"] = info.get("duplicates", 0) + 1
            results[k] = c
        info["duplicates"] = info.get("duplicates", 0) + getattr(s, "duplicates", 0)
    firsts = [s.first_at for s in sinks if s.first_at is not None]
    info["first_fire_at"] = min(firsts) if firsts else None
    info["emitted"] = n
    return results, info


def start_local_cluster(parallelism):
    """Start the process executor's TaskManagers before timing (run a tiny job on them), and
    make the sinks of later jobs leave their results in a fresh directory."""
    os.environ[SINK_DIR] = tempfile.mkdtemp(prefix="strom-bench-")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "local"
    env.set_parallelism(parallelism)
    env.from_collection(list(range(parallelism * 4))).rebalance().map(lambda v: v).add_sink(CountingSink())
    env.execute("warm-up")
    for name in os.listdir(os.environ[SINK_DIR]):
        os.remove(os.path.join(os.environ[SINK_DIR], name))


def execute_job(workload, n, parallelism, typed=True, executor=None):
    """Build and execute one job (what a benchmark times); its sinks keep what they saw."""
    _RegisteredSink.registry.clear()
    env = StreamExecutionEnvironment.get_execution_environment()
    if executor:
        env.executor = executor
    env.set_parallelism(parallelism)
    build(env, workload, n, typed)
    env.execute("bench-%s" % workload)


def run_job(workload, n, parallelism, typed=True, executor=None):
    """Build and execute one job; returns (summary, info) from :func:`collect_results`."""
    execute_job(workload, n, parallelism, typed, executor)
    return collect_results(workload)
