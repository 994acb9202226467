"""The REST API (strom.cluster.rest): every endpoint on a live job checked against the OpenAPI
description, schemathesis over the whole description, Flink-style errors (unknown job id,
malformed body, wrong token, wrong method), savepoints, cancel, exceptions of a failed job,
submission, and `strom run --web`."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import cloudpickle
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the test extra has
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from strom.api.environment import StreamExecutionEnvironment
from strom.api.sources import NumberSequenceSource
from strom.cluster.dispatcher import Dispatcher
from strom.cluster.rest import RestServer, create_app
from strom.cluster.submission import CONTENT_TYPE, JobSubmission, pack
from strom.errors import JobDefinitionError

REPO = Path(__file__).resolve().parent.parent


def _slow(x: int) -> int:
    time.sleep(0.0002)  # chained to the source: slow input, no backlog before a barrier
    return x


def _endless_env(tmp: Path) -> StreamExecutionEnvironment:
    """A job that runs until cancelled (a huge number sequence, slowly), with checkpoints:
    source and map in one vertex, then reduce and filter at parallelism 2."""
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "threads"
    env.enable_checkpointing(100)
    env.get_checkpoint_config().set_checkpoint_storage_dir(f"file://{tmp / 'checkpoints'}")
    env.get_checkpoint_config().savepoint_dir = str(tmp / "savepoints")
    env.from_source(NumberSequenceSource(0, 10**12), None, "numbers").map(_slow) \
        .key_by(lambda v: v % 4).reduce(lambda a, b: a + b).set_parallelism(2) \
        .filter(lambda v: False).set_parallelism(2).print()
    return env


@pytest.fixture
def live(tmp_path):
    """(test client, dispatcher, job id) with one running job registered by the listener."""
    dispatcher = Dispatcher()
    dispatcher.listen()
    client = _endless_env(tmp_path).execute_async("endless")
    jid = client.get_job_id()
    _until(lambda: dispatcher.job(jid).control.coordinator is not None
           and dispatcher.job(jid).status == "RUNNING")
    try:
        yield TestClient(create_app(dispatcher)), dispatcher, jid
    finally:
        dispatcher.shutdown()


def _until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


schemathesis.serializer.alias(CONTENT_TYPE, "application/octet-stream")  # random bytes
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", create_app(Dispatcher()))


def _check(response, path: str, method: str = "GET") -> None:
    """``response`` conforms to the OpenAPI description of ``method path``."""
    SCHEMA[path][method].validate_response(response)


def test_every_endpoint_on_a_live_job(live) -> None:
    http, dispatcher, jid = live
    for path in ("/config", "/overview", "/taskmanagers", "/jobs", "/jobs/overview",
                 "/openapi.json"):
        r = http.get(path)
        assert r.status_code == 200, (path, r.text)
        if path != "/openapi.json":
            _check(r, path)
    overview = http.get("/overview").json()
    assert overview["jobs-running"] == 1 and overview["taskmanagers"] == 1
    assert overview["slots-total"] >= 1
    jobs = http.get("/jobs/overview").json()["jobs"]
    assert [(j["jid"], j["name"], j["state"]) for j in jobs] == [(jid, "endless", "RUNNING")]

    job = http.get(f"/jobs/{jid}")
    _check(job, "/jobs/{jobid}")
    vertices = job.json()["vertices"]
    assert [v["parallelism"] for v in vertices][:2] == [1, 2]
    assert all(v["status"] == "RUNNING" for v in vertices)
    for name, path in (("plan", "/jobs/{jobid}/plan"), ("checkpoints", "/jobs/{jobid}/checkpoints"),
                       ("exceptions", "/jobs/{jobid}/exceptions"),
                       ("metrics", "/jobs/{jobid}/metrics")):
        r = http.get(f"/jobs/{jid}/{name}")
        assert r.status_code == 200, (name, r.text)
        _check(r, path)
    plan = http.get(f"/jobs/{jid}/plan").json()["plan"]
    assert {n["id"] for n in plan["nodes"]} == {v["id"] for v in vertices}
    assert any(i["ship_strategy"] == "HASH" for n in plan["nodes"] for i in n.get("inputs", []))
    _until(lambda: http.get(f"/jobs/{jid}/checkpoints").json()["counts"]["completed"] >= 1)

    mapper = vertices[1]["id"]  # the keyed reduce, 2 subtasks
    base = "/jobs/{jobid}/vertices/{vertexid}"
    for suffix in ("", "/metrics", "/subtasks/metrics", "/backpressure", "/watermarks"):
        r = http.get(f"/jobs/{jid}/vertices/{mapper}{suffix}")
        assert r.status_code == 200, (suffix, r.text)
        _check(r, base + suffix)
    detail = http.get(f"/jobs/{jid}/vertices/{mapper}").json()
    assert [s["subtask"] for s in detail["subtasks"]] == [0, 1]
    _until(lambda: http.get(f"/jobs/{jid}/vertices/{mapper}/subtasks/metrics",
                            params={"get": "numRecordsIn"}).json()[0]["sum"] > 0)
    agg = http.get(f"/jobs/{jid}/vertices/{mapper}/subtasks/metrics",
                   params={"get": "numRecordsIn,numRecordsOut"})
    _check(agg, base + "/subtasks/metrics")
    assert {m["id"] for m in agg.json()} == {"numRecordsIn", "numRecordsOut"}
    per = http.get(f"/jobs/{jid}/vertices/{mapper}/metrics", params={"get": "0.numRecordsIn"})
    assert per.json()[0]["id"] == "0.numRecordsIn" and int(per.json()[0]["value"]) >= 0

    trigger = http.post(f"/jobs/{jid}/savepoints", json={"cancel-job": False})
    assert trigger.status_code == 202
    _check(trigger, "/jobs/{jobid}/savepoints", "POST")
    rid = trigger.json()["request-id"]
    _until(lambda: http.get(f"/jobs/{jid}/savepoints/{rid}").json()["status"]["id"]
           == "COMPLETED")
    status = http.get(f"/jobs/{jid}/savepoints/{rid}")
    _check(status, "/jobs/{jobid}/savepoints/{triggerid}")
    location = status.json()["operation"]["location"]
    assert "savepoint-" in location and os.path.isdir(location.removeprefix("file://"))

    cancel = http.patch(f"/jobs/{jid}")
    assert cancel.status_code == 202
    _until(lambda: http.get(f"/jobs/{jid}").json()["state"] == "CANCELED")
    ended = http.get("/jobs/overview").json()["jobs"][0]
    assert ended["end-time"] >= ended["start-time"] and ended["tasks"]["canceled"] == 4
    assert http.get("/overview").json()["jobs-cancelled"] == 1


def test_stop_with_savepoint_ends_the_job_finished(live, tmp_path) -> None:
    http, _, jid = live
    r = http.post(f"/jobs/{jid}/stop", json={"targetDirectory": str(tmp_path / "stop"),
                                             "drain": False})
    assert r.status_code == 202
    rid = r.json()["request-id"]
    _until(lambda: http.get(f"/jobs/{jid}/savepoints/{rid}").json()["status"]["id"]
           == "COMPLETED")
    assert str(tmp_path / "stop") in http.get(f"/jobs/{jid}/savepoints/{rid}").json()[
        "operation"]["location"]
    _until(lambda: http.get(f"/jobs/{jid}").json()["state"] == "FINISHED")


def test_flink_style_errors(live) -> None:
    http, _, jid = live
    missing = "0" * 32
    for method, path in (("GET", f"/jobs/{missing}"), ("GET", f"/jobs/{missing}/plan"),
                         ("PATCH", f"/jobs/{missing}"),
                         ("GET", f"/jobs/{jid}/vertices/nope"),
                         ("GET", f"/jobs/{jid}/savepoints/nope"),
                         ("POST", f"/jobs/{missing}/savepoints"), ("GET", "/no/such/path")):
        r = http.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        body = r.json()
        assert list(body) == ["errors"] and body["errors"] and isinstance(body["errors"][0], str)
    assert "Job 000" in http.get(f"/jobs/{missing}").json()["errors"][0]

    for body in (b"{not json", b"[1, 2]", json.dumps({"cancel-job": "yes"}).encode()):
        r = http.post(f"/jobs/{jid}/savepoints", content=body,
                      headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert "Request did not match expected format" in r.json()["errors"][0]
    r = http.patch(f"/jobs/{jid}", params={"mode": "explode"})
    assert r.status_code == 400 and "mode" in r.json()["errors"][0]
    r = http.post("/jobs", content=b"garbage", headers={"content-type": CONTENT_TYPE})
    assert r.status_code == 400 and "not a cloudpickled job submission" in r.json()["errors"][0]
    r = http.post("/jobs", json={"jobGraph": "x"})
    assert r.status_code == 400 and CONTENT_TYPE in r.json()["errors"][0]
    r = http.post("/jobs", content=cloudpickle.dumps({"not": "a submission"}),
                  headers={"content-type": CONTENT_TYPE})
    assert r.status_code == 400 and "not a JobSubmission" in r.json()["errors"][0]

    r = http.delete(f"/jobs/{jid}")
    assert r.status_code == 405 and r.json()["errors"]
    assert http.put("/overview").status_code == 405


def test_bearer_token(live) -> None:
    _, dispatcher, jid = live
    http = TestClient(create_app(dispatcher, token="s3cret"))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        r = http.get("/overview", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["errors"][0].startswith("Unauthorized")
    r = http.patch(f"/jobs/{jid}", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert dispatcher.job(jid).status == "RUNNING"  # refused requests change nothing
    assert http.get("/overview", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_failed_job_shows_its_exception_with_the_traceback() -> None:
    dispatcher = Dispatcher()
    dispatcher.listen()
    try:
        env = StreamExecutionEnvironment.get_execution_environment()

        def explode(v: int) -> int:
            if v == 3:
                raise ValueError("three is not allowed")
            return v

        env.from_collection([1, 2, 3]).map(explode).name("exploding map").print()
        client = env.execute_async("failing")
        with pytest.raises(Exception, match="three is not allowed"):
            client.wait(20)
        http = TestClient(create_app(dispatcher))
        r = http.get(f"/jobs/{client.get_job_id()}/exceptions")
        _check(r, "/jobs/{jobid}/exceptions")
        body = r.json()
        assert "three is not allowed" in body["root-exception"]
        assert "Traceback" in body["root-exception"] and "exploding map" in body["root-exception"]
        assert body["exceptionHistory"]["entries"][0]["stacktrace"] == body["root-exception"]
        assert http.get(f"/jobs/{client.get_job_id()}").json()["state"] == "FAILED"
        assert http.get("/overview").json()["jobs-failed"] == 1
    finally:
        dispatcher.shutdown()


def test_submission_runs_the_job_on_the_dispatcher(tmp_path) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    out = tmp_path / "out.txt"

    def write(v: int) -> int:
        with open(out, "a") as f:
            f.write(f"{v}\n")
        return v

    env.from_collection([1, 2, 3]).map(lambda v: v * 10).map(write).filter(lambda v: False) \
        .print()
    graph = env._job_graph("submitted")
    payload = pack(JobSubmission("submitted", graph, env._executor().config))
    dispatcher = Dispatcher()
    http = TestClient(create_app(dispatcher))
    r = http.post("/jobs", content=payload, headers={"content-type": CONTENT_TYPE})
    assert r.status_code == 202, r.text
    _check(r, "/jobs", "POST")
    jid = r.json()["jid"]
    assert r.json()["jobUrl"] == f"/jobs/{jid}"
    _until(lambda: http.get(f"/jobs/{jid}").json()["state"] == "FINISHED")
    assert sorted(out.read_text().split()) == ["10", "20", "30"]


def test_an_unpicklable_function_fails_at_submission_naming_it() -> None:
    import threading

    lock = threading.Lock()

    def guarded(v: int) -> int:
        with lock:
            return v

    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1]).map(guarded).name("guarded map").print()
    graph = env._job_graph("unpicklable")
    with pytest.raises(JobDefinitionError) as info:
        pack(JobSubmission("unpicklable", graph, env._executor().config))
    text = str(info.value)
    assert "operator 'guarded map'" in text and "function" in text and "guarded" in text
    assert "lock" in text and "cannot be pickled" in text and "open()" in text


@SCHEMA.parametrize()
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_responses_conform_to_the_openapi_description(case) -> None:
    """Generated requests (ids, bodies, parameters): no server error, every status code and body
    as documented. A submission is an opaque pickle, so random bytes that fit its media type
    are rightly refused (400): that one check does not apply to POST /jobs."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    opaque = case.operation.path == "/jobs" and case.method == "POST"
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if opaque else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rest_server_binds_to_loopback() -> None:
    server = RestServer(create_app(Dispatcher()), port=0).start()
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        with urllib.request.urlopen(f"{server.url}/overview", timeout=5) as r:
            assert json.load(r)["taskmanagers"] == 1
    finally:
        server.stop()


def test_strom_run_web_serves_the_script_jobs(tmp_path) -> None:
    marker = tmp_path / "stop"
    script = tmp_path / "job.py"
    script.write_text(f"""
import os, time
from strom.api.environment import StreamExecutionEnvironment

def numbers():
    i = 0
    while not os.path.exists({str(marker)!r}):
        i += 1
        time.sleep(0.001)
        yield i

env = StreamExecutionEnvironment.get_execution_environment()
env.from_collection(numbers()).map(lambda v: v + 1).filter(lambda v: False).print()
env.execute("web job")
""")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "strom", "run", "--web", "-D",
                             f"rest.port={port}", str(script)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"

        def jobs():
            try:
                with urllib.request.urlopen(f"{url}/jobs/overview", timeout=2) as r:
                    return json.load(r)["jobs"]
            except OSError:
                return []

        _until(lambda: bool(jobs()), timeout=30)
        job = jobs()[0]
        assert job["name"] == "web job" and job["state"] == "RUNNING"
        with urllib.request.urlopen(f"{url}/jobs/{job['jid']}", timeout=2) as r:
            assert [v["name"] for v in json.load(r)["vertices"]]
        marker.write_text("")
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        assert f"REST API on {url}" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
