"""``GET /metrics`` (strom.cluster.prometheus): parsed by prometheus-client's own parser, with
Flink's metric names and labels, user metrics (counter, gauge, meter, distribution) included,
and every value equal to what the REST API reports for the same running job, on each executor
(on TaskManager processes the values travel with the heartbeats)."""
from __future__ import annotations

import time
import warnings

import pytest
from prometheus_client.parser import text_string_to_metric_families

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the test extra has
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from strom.api.functions import MapFunction, SourceFunction
from strom.cluster.dispatcher import Dispatcher
from strom.cluster.prometheus import metric_name
from strom.cluster.rest import create_app

N = 500


class _ThenIdle(SourceFunction):
    """Emits 0..N-1, then stays idle until cancelled: the job runs on with stable counts."""

    def __init__(self) -> None:
        self.cancelled = False

    def run(self, ctx) -> None:
        for i in range(N):
            ctx.collect(i)
        while not self.cancelled:
            time.sleep(0.02)

    def cancel(self) -> None:
        self.cancelled = True


class _Measured(MapFunction):
    """Uses every kind of user metric."""

    def open(self, runtime_context) -> None:
        group = runtime_context.get_metrics_group().add_group("mine")
        self.seen = group.counter("seen")
        group.gauge("answer", lambda: 42)
        self.events = group.meter("events")
        self.sizes = group.distribution("sizes")

    def map(self, value: int) -> int:
        self.seen.inc()
        self.events.mark_event()
        self.sizes.update(value % 10)
        return value


def _until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name  # Flink's reporter: every value a gauge
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


@pytest.fixture
def running(env):
    """(test client, job id) of a running job whose counts no longer change."""
    dispatcher = Dispatcher()
    dispatcher.listen()
    env.disable_operator_chaining()  # a vertex an operator: records cross the network
    env.add_source(_ThenIdle(), "numbers").map(_Measured()).name("measured") \
        .key_by(lambda v: v % 2).map(lambda v: v + 1).name("plus one") \
        .filter(lambda v: False).print()
    client = env.execute_async("scraped")
    jid = client.get_job_id()
    rest = TestClient(create_app(dispatcher))
    try:
        yield rest, jid
    finally:
        client.cancel()
        dispatcher.shutdown()


def _vertex_metrics(rest: TestClient, jid: str) -> dict[str, dict[str, object]]:
    """Each vertex's per-subtask metrics from the REST API, by vertex name."""
    out = {}
    for v in rest.get(f"/jobs/{jid}").json()["vertices"]:
        deadline = time.monotonic() + 30  # TaskManager processes report with their heartbeat
        while not (listed := rest.get(f"/jobs/{jid}/vertices/{v['id']}/metrics").json()):
            assert time.monotonic() < deadline, f"vertex {v['name']} lists no metrics"
            time.sleep(0.05)
        ids = ",".join(m["id"] for m in listed)
        values = rest.get(f"/jobs/{jid}/vertices/{v['id']}/metrics", params={"get": ids}).json()
        out[v["name"]] = {"id": v["id"], **{m["id"]: m["value"] for m in values}}
    return out


def test_metrics_parse_and_match_the_rest_api(running) -> None:
    rest, jid = running

    def settled() -> bool:
        state = rest.get(f"/jobs/{jid}").json()["state"]
        assert state in ("CREATED", "RUNNING"), rest.get(f"/jobs/{jid}/exceptions").json()
        vertices = _vertex_metrics(rest, jid)
        return (vertices["plus one"].get("0.numRecordsIn") == str(N)
                and vertices["measured"].get("0.measured.mine.seen") == str(N))

    _until(settled)
    time.sleep(0.5)  # a last heartbeat from TaskManager processes
    vertices = _vertex_metrics(rest, jid)
    response = rest.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    job_name = "scraped"

    def sample(name: str, task: str, operator: str | None = None) -> float:
        labels = {"job_id": jid, "job_name": job_name, "task_id": vertices[task]["id"],
                  "task_name": task, "subtask_index": "0"}
        if operator is not None:
            labels["operator_name"] = operator
        return samples[(name, frozenset(labels.items()))]

    source_task, sink_task = "measured", "plus one"
    rest_source = {k: float(v) for k, v in vertices[source_task].items() if k != "id"}
    rest_sink = {k: float(v) for k, v in vertices[sink_task].items() if k != "id"}
    task = "flink_taskmanager_job_task_"
    operator = "flink_taskmanager_job_task_operator_"

    # Flink's task metrics, equal to the REST API's
    for key in ("numRecordsOut", "numBytesOut"):
        assert sample(task + key, source_task) == rest_source[f"0.{key}"]
    for key in ("numRecordsIn", "numBytesIn"):
        assert sample(task + key, sink_task) == rest_sink[f"0.{key}"]
    assert sample(task + "numRecordsOut", source_task) == N
    assert sample(task + "numRecordsIn", sink_task) == N
    # the user's metrics: counter, gauge, meter (count and rate), distribution
    assert sample(operator + "mine_seen", source_task, "measured") == N
    assert sample(operator + "mine_answer", source_task, "measured") == 42
    assert sample(operator + "mine_events", source_task, "measured") == N
    assert sample(operator + "mine_events_rate", source_task, "measured") == pytest.approx(
        rest_source["0.measured.mine.events_rate"])
    assert sample(operator + "mine_sizes", source_task, "measured") == N
    assert sample(operator + "mine_sizes_sum", source_task, "measured") == \
        rest_source["0.measured.mine.sizes_sum"] == sum(i % 10 for i in range(N))
    assert sample(operator + "mine_sizes_max", source_task, "measured") == 9
    assert sample(operator + "mine_sizes_min", source_task, "measured") == 0
    # the source's own operator metric, what `strom run`'s progress counts
    assert sample(operator + "numRecordsOut", "Source: numbers", "Source: numbers") == N
    # cluster and job level
    assert samples[("flink_jobmanager_numRunningJobs", frozenset())] == 1
    restarts = rest.get(f"/jobs/{jid}/metrics", params={"get": "numRestarts"}).json()
    assert samples[("flink_jobmanager_job_numRestarts",
                    frozenset({"job_id": jid, "job_name": job_name}.items()))] == \
        float(restarts[0]["value"]) == 0


def test_an_ended_job_is_not_exported() -> None:
    """Flink drops a job's metrics when it ends; the REST API keeps serving them."""
    from strom.api.environment import StreamExecutionEnvironment

    dispatcher = Dispatcher()
    dispatcher.listen()
    try:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.from_collection([1, 2, 3]).map(lambda v: v).print()
        env.execute("short")
        rest = TestClient(create_app(dispatcher))
        text = rest.get("/metrics").text
        samples = _samples(text)
        assert samples[("flink_jobmanager_numRunningJobs", frozenset())] == 0
        assert "short" not in text
    finally:
        dispatcher.shutdown()


@pytest.mark.parametrize(("parts", "name"), [
    (("flink_taskmanager_job_task", "buffers.inputQueueLength"),
     "flink_taskmanager_job_task_buffers_inputQueueLength"),
    (("flink_taskmanager_job_task_operator", "my group.a-b"),
     "flink_taskmanager_job_task_operator_my_group_a_b"),
])
def test_metric_names_are_sanitized_as_flinks_reporter_does(parts, name) -> None:
    assert metric_name(*parts) == name


def test_a_scrape_needs_the_token_when_the_api_has_one() -> None:
    rest = TestClient(create_app(Dispatcher(), token="s3cret"))
    assert rest.get("/metrics").status_code == 401
    answer = rest.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200
    assert ("flink_jobmanager_numRunningJobs", frozenset()) in _samples(answer.text)
