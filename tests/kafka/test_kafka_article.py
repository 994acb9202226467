"""The LogAnalyzer program of the seed article's Kafka section runs unchanged under
``strom run`` against the real broker (it reads ``user-logs`` at localhost:9092 with
``FlinkKafkaConsumer``) and prints its security alerts.

The program is preceded by the article's earlier blocks, as a reader pastes them (they define
``LogEvent``, ``TimeCharacteristic``, ``MapStateDescriptor`` and the timestamp extractor it
uses). It never ends (an unbounded source), so the test stops it once alerts are printed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.article import ROOT, blocks
from tests.kafka.kafka_util import produce

pytestmark = pytest.mark.kafka

FOUNDATION = [1, 2, 3, 4, 5, 6, 11, 12, 15, 16, 17, 18, 19]
TIME_BLOCKS = [7, 8, 9, 10, 13, 14]
KAFKA_APP = 20


def event(user: str, action: str) -> str:
    import json
    return json.dumps({"user_id": user, "session_id": "session_1000", "action": action,
                       "timestamp": int(time.time()), "ip_address": "10.0.0.1",
                       "user_agent": "Mozilla/5.0 (Test Browser)", "metadata": {}})


def test_log_analyzer_reads_kafka_and_prints_alerts(kafka_broker, tmp_path):
    if kafka_broker.port != 9092:
        pytest.skip("the program reads localhost:9092, which another process holds here")
    b = blocks()
    assert "FlinkKafkaConsumer(" in b[KAFKA_APP] and "localhost:9092" in b[KAFKA_APP]
    servers = kafka_broker.bootstrap_servers
    try:
        kafka_broker.create_topic("user-logs", 1)
    except Exception as exc:  # created by an earlier run in this session
        assert "already exists" in str(exc)
    script = tmp_path / "job.py"
    script.write_text("\n".join(b[i] for i in FOUNDATION + TIME_BLOCKS + [KAFKA_APP]), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    out_path = tmp_path / "stdout.txt"
    with open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "strom", "run", str(script)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            # the consumer starts at the group's committed offsets, else at the end of the
            # topic (the Java client's default): keep writing until the program reacts
            produce(servers, "user-logs", [(None, event("user1", "login_failed"), 0)] * 5
                    + [(None, event("user2", "view"), 0)])
            time.sleep(0.5)
            if "security_alert" in out_path.read_text():
                break
        text = out_path.read_text()
        assert proc.poll() is None, f"the program ended ({proc.returncode}):\n{text[-3000:]}"
        alerts = [line for line in text.splitlines() if line.startswith("Security Alerts")]
        assert alerts, f"no alert printed:\n{text[-3000:]}"
        assert "'type': 'security_alert'" in alerts[0] and "'user_id': 'user1'" in alerts[0]
        assert "Multiple failed login attempts: 5" in alerts[0]
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
