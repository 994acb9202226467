"""REST views of the cluster itself and of a job's configuration: ``/jobmanager/config``,
``/taskmanagers/:id`` (+ ``/metrics``) and ``/jobs/:id/config``, for the embedded TaskManager
and for TaskManager processes of the mini-cluster."""
from __future__ import annotations

import os
import time

import pytest
from starlette.testclient import TestClient

from strom.api.environment import StreamExecutionEnvironment
from strom.api.sources import NumberSequenceSource
from strom.cluster.dispatcher import Dispatcher
from strom.cluster.minicluster import local_cluster
from strom.cluster.process_status import ProcessStatus
from strom.cluster.rest import create_app
from strom.common.restart_strategy import RestartStrategies


def _until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _slow(v: int) -> int:
    time.sleep(0.0005)
    return v


def test_process_status_measures_this_process() -> None:
    status = ProcessStatus()
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # burn ~0.2 s of CPU
        pass
    sample = status.sample()
    assert sample["Status.Process.CPU.Load"] > 0.2  # a busy loop: most of one core
    assert sample["Status.Process.CPU.Time"] >= 200
    assert 10 * 2**20 < sample["Status.Process.Memory.RSS"] < sample["Status.Machine.Memory.Total"]
    assert 0 < sample["Status.Machine.Memory.Available"] <= sample["Status.Machine.Memory.Total"]
    assert sample["Status.Machine.CPU.Cores"] == os.cpu_count()


def test_jobmanager_config_lists_the_cluster_keys_without_the_token() -> None:
    dispatcher = Dispatcher(config={"rest.port": "8081", "rest.token": "s3cret",
                                    "taskmanager.numberOfTaskSlots": "2"})
    http = TestClient(create_app(dispatcher))
    body = http.get("/jobmanager/config").json()
    assert body == [{"key": "rest.port", "value": "8081"},
                    {"key": "taskmanager.numberOfTaskSlots", "value": "2"}]


def test_the_embedded_taskmanager_reports_this_process() -> None:
    http = TestClient(create_app(Dispatcher()))
    tm = http.get("/taskmanagers/embedded").json()
    assert tm["id"] == "embedded" and tm["pid"] == os.getpid()
    assert tm["hardware"]["physicalMemory"] > 0 and tm["hardware"]["freeMemory"] > 0
    assert tm["metrics"]["memoryRss"] > 0 and tm["metrics"]["cpuTime"] > 0
    names = {m["id"] for m in http.get("/taskmanagers/embedded/metrics").json()}
    assert "Status.Process.CPU.Load" in names and "Status.Process.Memory.RSS" in names
    value = http.get("/taskmanagers/embedded/metrics?get=Status.Machine.CPU.Cores").json()
    assert value == [{"id": "Status.Machine.CPU.Cores", "value": str(os.cpu_count())}]
    missing = http.get("/taskmanagers/nope")
    assert missing.status_code == 404
    assert "TaskManager nope not found" in missing.json()["errors"][0]


def test_job_config_shows_restart_strategy_parallelism_and_parameters(tmp_path) -> None:
    from strom.common import Configuration

    dispatcher = Dispatcher()
    dispatcher.listen()
    conf = Configuration()
    conf.set_string("pipeline.name", "configured")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.executor = "threads"
    env.set_restart_strategy(RestartStrategies.fixed_delay_restart(3, 100))
    env.get_config().set_global_job_parameters({"region": "eu"})
    env.from_source(NumberSequenceSource(0, 10**12), None, "numbers").map(_slow) \
        .set_parallelism(2).filter(lambda v: False).print()
    client = env.execute_async("with config")
    jid = client.get_job_id()
    try:
        _until(lambda: dispatcher.job(jid).status == "RUNNING")
        http = TestClient(create_app(dispatcher))
        body = http.get(f"/jobs/{jid}/config").json()
        assert body["jid"] == jid and body["name"] == "with config"
        ec = body["execution-config"]
        assert ec["job-parallelism"] == 2
        assert ec["restart-strategy"].startswith("Restart with fixed delay (100 ms)")
        assert ec["user-config"] == {"region": "eu"}
        assert http.get("/jobs/0123/config").status_code == 404
    finally:
        dispatcher.shutdown()


@pytest.mark.in_process("reads the mini-cluster's TaskManagers from this process")
def test_taskmanager_processes_report_their_own_process() -> None:
    rm = local_cluster(1, 2, None, None)
    dispatcher = Dispatcher("local", resources=rm)
    http = TestClient(create_app(dispatcher))
    _until(lambda: len(http.get("/taskmanagers").json()["taskmanagers"]) == 2)
    # the first heartbeat carries the process status
    _until(lambda: all(tm["hardware"]["freeMemory"] > 0
                       for tm in http.get("/taskmanagers").json()["taskmanagers"]))
    for entry in http.get("/taskmanagers").json()["taskmanagers"]:
        tm = http.get(f"/taskmanagers/{entry['id']}").json()
        assert tm["pid"] != os.getpid() and tm["pid"] in {h.pid for h in rm.taskmanagers.values()}
        assert tm["metrics"]["memoryRss"] > 0 and tm["hardware"]["physicalMemory"] > 0
