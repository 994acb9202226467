"""The documentation's Kafka examples (blocks marked ``<!-- kafka -->``) run against the test
broker: each page's runnable blocks and Kafka blocks in order, as one script, with the broker's
address in place of ``localhost:9092`` and a fresh topic in place of ``docs-orders``."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.article import run_script
from tests.test_docs import blocks, pages, script

pytestmark = pytest.mark.kafka

KAFKA_PAGES = [p for p in pages() if any(b.marker == "kafka" for b in blocks(p))]


def test_some_page_has_kafka_examples() -> None:
    assert KAFKA_PAGES


@pytest.mark.parametrize("page", KAFKA_PAGES, ids=lambda p: p.name)
def test_kafka_page_examples_run(page: Path, tmp_path: Path, kafka_broker, new_topic) -> None:
    source = script(page, include=(None, "kafka"))
    source = source.replace("localhost:9092", kafka_broker.bootstrap_servers)
    source = source.replace('"docs-orders"', repr(new_topic(prefix="docs")))
    result = run_script(source, tmp_path, timeout=180)
    assert result.returncode == 0, f"{page}:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
