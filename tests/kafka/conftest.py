"""The Kafka tests' broker: one real Apache Kafka (KRaft) per test session, started on first use.

It listens on 127.0.0.1:9092 when that port is free (the address the LogAnalyzer program
uses), else on a free port. Kafka's jars are fetched with Maven into ~/.cache/strom/kafka
once (strom.connectors.kafka.broker). Without java or mvn the Kafka tests are skipped, saying
why; with CI or STROM_REQUIRE_KAFKA set (.ci/run) they fail instead.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest

from strom.connectors.kafka.broker import DEFAULT_CACHE, KAFKA_VERSION, KafkaBroker, port_open


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A running, warmed-up broker for the whole session (stopped at the end)."""
    cached = (DEFAULT_CACHE / f"kafka-{KAFKA_VERSION}" / "libs" / ".complete").exists()
    missing = [t for t in ("java",) + (() if cached else ("mvn",)) if shutil.which(t) is None]
    if missing:
        why = f"the Kafka test broker needs {' and '.join(missing)} on the PATH"
        if os.environ.get("CI") or os.environ.get("STROM_REQUIRE_KAFKA"):
            pytest.fail(f"{why} (CI must run the Kafka tests)")
        pytest.skip(why)
    broker = KafkaBroker(port=None if port_open(9092) else 9092)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def new_topic(kafka_broker: KafkaBroker) -> Callable[..., str]:
    """``new_topic(partitions=1)``: create a topic with a unique name and return the name."""
    def create(partitions: int = 1, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        kafka_broker.create_topic(name, partitions)
        return name
    return create
