"""The web dashboard (strom.web) in a real headless browser: Debian's chromium driven by
playwright. A running job's page shows its graph with the right vertices, a records counter
that moves, a completed checkpoint, a savepoint and a cancel from the buttons; a failed job's
page shows the injected exception; a token is asked for; ``strom demo --web`` shows alerts.

Screenshots go to ``$STROM_TEST_ARTIFACTS`` (default ``tests/artifacts/``). Without chromium
or playwright (``scripts/browsers`` installs both) the tests skip, except under CI or
``STROM_REQUIRE_BROWSER``, where they fail.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from strom.api.functions import SinkFunction
from strom.api.sources import NumberSequenceSource
from strom.api.watermarks import WatermarkStrategy
from strom.cluster.dispatcher import Dispatcher
from strom.cluster.rest import RestServer
from strom.common import Time
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.window import TumblingEventTimeWindows
from strom.web import create_app

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("STROM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("STROM_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
TIMEOUT_MS = 20_000


def _missing_browser(why: str) -> None:
    if os.environ.get("CI") or os.environ.get("STROM_REQUIRE_BROWSER"):
        pytest.fail(f"{why}; run scripts/browsers to install it", pytrace=False)
    pytest.skip(f"{why}; run scripts/browsers to install it")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the playwright package is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _missing_browser(f"no chromium at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"the page raised: {errors}"


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _wall_clock(value: int, record_timestamp: int) -> int:
    return time.time_ns() // 1_000_000


def _slow(x: int) -> int:
    time.sleep(0.0005)  # a steady, modest rate: barriers are never stuck behind a backlog
    return x


class _Discard(SinkFunction):
    def invoke(self, value: int, context: object) -> None:
        pass


def _sum(a: int, b: int) -> int:
    return a + b


@pytest.fixture
def served(tmp_path):
    """A running job (event time, keyed windows, checkpoints every 200 ms) on this process's
    dispatcher, and the dashboard serving it: (url, dispatcher, job id)."""
    dispatcher = Dispatcher()
    dispatcher.listen()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "threads"
    env.enable_checkpointing(200)
    env.get_checkpoint_config().set_checkpoint_storage_dir(f"file://{tmp_path / 'checkpoints'}")
    env.get_checkpoint_config().savepoint_dir = str(tmp_path / "savepoints")
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(_wall_clock)
    env.from_source(NumberSequenceSource(0, 10**12), strategy, "numbers") \
        .map(_slow).name("slow map") \
        .key_by(lambda v: v % 8).window(TumblingEventTimeWindows.of(Time.milliseconds(500))) \
        .reduce(_sum).name("sum per key").set_parallelism(2) \
        .filter(lambda v: v >= 0).name("keep all").set_parallelism(2) \
        .add_sink(_Discard()).name("discard")
    client = env.execute_async("dashboard test job")
    server = RestServer(create_app(dispatcher), port=0).start()
    try:
        yield server.url, dispatcher, client.get_job_id()
    finally:
        dispatcher.shutdown()
        server.stop()


def _int(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text) or "0")


def test_a_running_job(page, served) -> None:
    url, dispatcher, jid = served
    record = dispatcher.job(jid)
    page.goto(url)
    row = page.locator(f'#running-jobs tr[data-job-id="{jid}"]')
    row.wait_for()
    assert "dashboard test job" in row.inner_text() and "RUNNING" in row.inner_text()
    assert page.locator("#card-taskmanagers .value").inner_text() == "1"
    _shot(page, "overview")

    row.click()  # the job page: the graph as the REST API describes it
    page.wait_for_selector("#job-graph g.vertex")
    names = [v.name for v in record.graph.vertices]
    assert len(names) == 3 and names[0].startswith("Source: numbers -> ")
    assert names[0].endswith(" -> slow map") and names[1:] == ["sum per key -> keep all", "discard"]
    drawn = page.locator("#job-graph g.vertex")
    assert sorted(drawn.nth(i).get_attribute("data-vertex-name")
                  for i in range(drawn.count())) == sorted(names)
    edges = page.locator("#job-graph g.edge text").all_text_contents()
    assert sorted(edges) == ["HASH", "REBALANCE"]
    assert "parallelism 2" in page.locator('#job-graph g.vertex[data-vertex-name="sum per key '
                                           '-> keep all"]').text_content()

    counter = page.locator(f'#vertices tr[data-vertex-name="{names[0]}"] td.records-out')
    first = _int(counter.inner_text())
    deadline = time.monotonic() + 15
    while _int(counter.inner_text()) <= first:  # the page polls: no reload
        assert time.monotonic() < deadline, f"the records counter stayed at {first}"
        page.wait_for_timeout(300)
    # the window operator's watermark is wall time: a lag is shown
    page.wait_for_function("""() => [...document.querySelectorAll('#vertices tr')]
        .some(r => r.dataset.vertexName && r.dataset.vertexName.startsWith('sum per key')
              && / s$| ms$/.test(r.lastElementChild.textContent))""")
    page.wait_for_function("document.querySelector('[data-chart=out] canvas') !== null")
    # a vertex's subtasks, one click away
    page.click('#job-graph g.vertex[data-vertex-name="sum per key -> keep all"]')
    subtasks = page.locator("#subtasks tbody tr[data-subtask]")
    subtasks.nth(1).wait_for()
    assert subtasks.count() == 2 and "RUNNING" in subtasks.nth(1).inner_text()
    assert "embedded" in subtasks.nth(0).inner_text()  # where it runs
    _shot(page, "job")

    page.click('a[data-tab="checkpoints"]')
    page.locator("#checkpoints .state.COMPLETED").first.wait_for()
    assert "CHECKPOINT" in page.locator("#checkpoints").inner_text()
    page.wait_for_selector("#checkpoint-config td:text-is('200 ms')")  # the interval
    assert "exactly once" in page.locator("#checkpoint-config").inner_text()
    with urllib.request.urlopen(f"{url}/jobs/{jid}/checkpoints/config", timeout=5) as r:
        config = json.load(r)
    assert (config["mode"], config["interval"]) == ("exactly_once", 200)
    _shot(page, "checkpoints")

    page.click("#trigger-savepoint")
    page.wait_for_function("document.getElementById('toast').textContent"
                           ".startsWith('Savepoint completed')")
    location = page.locator("#toast").inner_text().split(": ", 1)[1]
    assert os.path.isdir(location) and "savepoints" in location

    page.click('a[data-tab="configuration"]')
    page.wait_for_selector("#job-config td:text-is('restart-strategy')")

    page.goto(f"{url}/#/taskmanagers")
    page.wait_for_selector("#taskmanagers tbody tr")
    assert "embedded" in page.locator("#taskmanagers tbody").inner_text()

    page.goto(f"{url}/#/jobs/{jid}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-job")
    page.wait_for_selector("h1 .state.CANCELED")
    assert record.status == "CANCELED"


class _FailWhenTold:
    """A map that raises once the marker file exists (the injected failure)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, value: int) -> int:
        time.sleep(0.001)
        if os.path.exists(self.marker):
            raise RuntimeError(f"injected failure at record {value}")
        return value


def test_an_injected_failure_shows_in_the_exceptions(page, tmp_path) -> None:
    marker = tmp_path / "fail"
    dispatcher = Dispatcher()
    dispatcher.listen()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "threads"
    env.from_source(NumberSequenceSource(0, 10**12), None, "numbers") \
        .map(_FailWhenTold(str(marker))).name("fragile map").print()
    client = env.execute_async("failing job")
    server = RestServer(create_app(dispatcher), port=0).start()
    try:
        page.goto(f"{server.url}/#/jobs/{client.get_job_id()}/exceptions")
        page.wait_for_selector("#exceptions .empty")  # running, nothing failed yet
        marker.write_text("")
        page.wait_for_selector("#exceptions pre.trace")
        text = page.locator("#exceptions").inner_text()
        assert "injected failure at record" in text and "Traceback" in text
        assert "fragile map" in text
        page.wait_for_selector("h1 .state.FAILED")
        _shot(page, "exceptions")
        page.click('a[data-tab="checkpoints"]')  # the job did not checkpoint: the API says so
        page.wait_for_selector("#checkpoint-config td:has-text('Checkpointing is not enabled')")
    finally:
        dispatcher.shutdown()
        server.stop()


class _FailOnceWhenTold(_FailWhenTold):
    """Raises once when told (it removes the marker), so the job restarts and goes on."""

    def __call__(self, value: int) -> int:
        time.sleep(0.001)
        try:
            os.remove(self.marker)
        except FileNotFoundError:
            return value
        raise RuntimeError(f"injected failure at record {value}")


def test_a_failure_the_job_restarted_after_shows_in_the_exceptions(page, tmp_path) -> None:
    marker = tmp_path / "fail"
    dispatcher = Dispatcher()
    dispatcher.listen()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.executor = "threads"
    env.enable_checkpointing(200)  # and so the default restart strategy: restarts
    env.get_checkpoint_config().set_checkpoint_storage_dir(f"file://{tmp_path / 'checkpoints'}")
    env.from_source(NumberSequenceSource(0, 10**12), None, "numbers") \
        .map(_FailOnceWhenTold(str(marker))).name("flaky map").print()
    client = env.execute_async("restarting job")
    server = RestServer(create_app(dispatcher), port=0).start()
    try:
        page.goto(f"{server.url}/#/jobs/{client.get_job_id()}/exceptions")
        page.wait_for_selector("#exceptions .empty")
        marker.write_text("")
        page.wait_for_selector("#exceptions pre.trace")
        text = page.locator("#exceptions").inner_text()
        assert "injected failure at record" in text and "flaky map" in text
        assert "the job restarted after each" in text
        deadline = time.monotonic() + 20
        while dispatcher.job(client.get_job_id()).control.restarts < 1:
            assert time.monotonic() < deadline, "the job did not restart"
            time.sleep(0.1)
        assert page.locator("h1 .state").inner_text() == "RUNNING"
        _shot(page, "exceptions-restarted")
    finally:
        dispatcher.shutdown()
        server.stop()


def test_a_token_is_asked_for_and_sent(page) -> None:
    server = RestServer(create_app(Dispatcher(), token="s3cret"), port=0).start()
    try:
        page.goto(server.url)
        page.wait_for_selector("form.token-form")  # the page loads; the API refuses it
        assert "Unauthorized" in page.locator("form.token-form").inner_text()
        page.fill("#token", "s3cret")
        page.click("form.token-form button")
        page.wait_for_selector("#card-taskmanagers")
        page.goto(f"{server.url}/#token=s3cret")  # a link with the token works as well
        page.wait_for_selector("#card-taskmanagers")
    finally:
        server.stop()


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM (a clean stop), then SIGKILL if it takes more than 30 s."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_strom_demo_web_shows_alerts_as_they_arrive(page, tmp_path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "strom", "demo", "--web", "--web-port", str(port), "--json",
         "--rate", "3000", "--events", "200000", "--checkpoint-dir", str(tmp_path / "cp")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "strom demo --web did not listen"
                time.sleep(0.2)
        page.goto(f"{url}/#/demo")
        page.wait_for_selector("#nav-demo:not([hidden])")
        page.wait_for_selector("#demo-alerts tr.alert", timeout=60_000)
        page.wait_for_function("""() => /user metrics/.test(
            document.getElementById('demo-counts').textContent)""", timeout=60_000)
        counts = page.locator("#demo-counts").inner_text()
        kinds = set(re.findall(r"(security|anomaly)", page.locator("#demo-alerts").inner_text()))
        assert kinds and all(f"{kind} alert" in counts for kind in kinds), (kinds, counts)
        page.wait_for_selector("[data-chart=outputs] canvas")  # rates need two polls
        page.wait_for_timeout(2500)
        _shot(page, "demo")
        page.goto(f"{url}/#/jobs")
        page.locator("#running-jobs tr[data-job-id]").first.click()
        page.wait_for_selector('#job-graph g.vertex[data-vertex-name^="Source: log generator"]')
    finally:
        _stop(proc)


SUBMITTED_JOB = """
import time
from strom.api.sources import NumberSequenceSource
from strom.datastream import StreamExecutionEnvironment

def slow(v):
    time.sleep(0.001)
    return v

env = StreamExecutionEnvironment.get_execution_environment()
env.from_source(NumberSequenceSource(0, 10**12), None, "numbers").map(slow).name("slow map") \\
    .key_by(lambda v: v % 4).reduce(lambda a, b: a + b).name("sum").set_parallelism(2) \\
    .filter(lambda v: False).name("none").set_parallelism(2).print()
env.execute("submitted job")
"""


def test_the_session_cluster_serves_the_dashboard(page, tmp_path) -> None:
    port = _free_port()
    env = dict(os.environ, STROM_CLUSTER_FILE=str(tmp_path / "cluster.json"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "strom.cluster.standalone", "--port", str(port),
         "--taskmanagers", "1", "--slots", "2"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        line = proc.stdout.readline()
        assert f"dashboard and REST API on {url}" in line, line
        page.goto(f"{url}/#/taskmanagers")
        row = page.locator("#taskmanagers tbody tr[data-taskmanager-id]")
        row.wait_for()
        assert "2" in row.locator("td").nth(2).inner_text()  # slots
        # its process's memory, sampled with its heartbeats
        page.wait_for_function("""() => /iB$/.test(document.querySelector(
            '#taskmanagers tbody tr[data-taskmanager-id] td:nth-child(8)').textContent)""")
        _shot(page, "taskmanagers")

        job = tmp_path / "job.py"  # a job submitted to the cluster, run by its TaskManager
        job.write_text(SUBMITTED_JOB)
        submitted = subprocess.run([sys.executable, "-m", "strom", "run", "-d", str(job)],
                                   cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert submitted.returncode == 0, submitted.stderr
        jid = re.search(r"[0-9a-f]{32}", submitted.stdout + submitted.stderr)[0]
        page.goto(f"{url}/#/jobs/{jid}")
        page.wait_for_selector("#job-graph g.vertex[data-vertex-name^='sum']")
        counter = page.locator("#vertices tr[data-vertex-name^='Source: numbers'] td.records-out")
        page.wait_for_function("""(el) => Number(el.textContent.replace(/[^0-9]/g, '')) > 0""",
                               arg=counter.element_handle(), timeout=60_000)
        first = _int(counter.inner_text())
        page.wait_for_function("""([el, first]) =>
            Number(el.textContent.replace(/[^0-9]/g, '')) > first""",
                               arg=[counter.element_handle(), first], timeout=30_000)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#cancel-job")
        page.wait_for_selector("h1 .state.CANCELED", timeout=30_000)
    finally:
        _stop(proc)


def test_the_demo_feed_hands_out_each_record_once_and_keeps_the_newest() -> None:
    from strom.demo.feed import DemoFeed

    feed = DemoFeed(keep=3)
    alert = {"type": "security_alert", "user_id": "u1", "failures": 5, "first_ms": 0,
             "last_ms": 2000}
    feed.add("security_alert", alert, 2000)
    for i in range(4):
        feed.add("user_metrics", {"user_id": f"u{i}"})
    first = feed.snapshot(0)
    assert first["next"] == 5 and first["counts"] == {"security_alert": 1, "user_metrics": 4}
    assert [r["seq"] for r in first["records"]] == [3, 4, 5]  # the alert fell out of the ring
    feed.add("security_alert", alert, 3000)
    later = feed.snapshot(first["next"])
    assert [(r["seq"], r["output"], r["timestamp"]) for r in later["records"]] == [
        (6, "security_alert", 3000)]
    assert later["records"][0]["text"] == "5 failed logins within 2.0 s"


def test_the_page_is_public_and_the_api_and_the_feed_keep_the_token() -> None:
    import warnings

    from strom.demo.feed import DemoFeed

    with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the test extra has
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    feed = DemoFeed()
    feed.add("anomaly_alert", {"user_id": "u1", "action": "view", "ms_since_login": 90_000_000})
    http = TestClient(create_app(Dispatcher(), token="s3cret", feed=feed))
    page = http.get("/")
    assert page.status_code == 200 and "web/dashboard.js" in page.text
    for path in ("/web/dashboard.js", "/web/vendor/dagre.min.js", "/web/vendor/uPlot.iife.min.js",
                 "/web/vendor/dagre.LICENSE"):
        assert http.get(path).status_code == 200, path
    assert http.get("/web/nothing.js").status_code == 404
    for path in ("/overview", "/demo/feed"):
        r = http.get(path)
        assert r.status_code == 401 and r.json()["errors"][0].startswith("Unauthorized"), path
    auth = {"Authorization": "Bearer s3cret"}
    body = http.get("/demo/feed?since=0", headers=auth).json()
    assert body["records"][0]["text"] == "view 25.0 h after the last login"
    bad = http.get("/demo/feed?since=soon", headers=auth)
    assert bad.status_code == 400 and "since must be a record number" in bad.json()["errors"][0]
    assert http.get("/jobs/overview", headers=auth).json() == {"jobs": []}
