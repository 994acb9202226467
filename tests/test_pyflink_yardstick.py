"""PyFlink's own DataStream test modules, run unchanged against strom, pass at least as many tests
as they did when this floor was set (tests/tools/pyflink_yardstick.py runs them).

Marked ``yardstick`` (not in the default run: it needs PyFlink's test modules, downloaded from
GitHub or given with ``STROM_PYFLINK_TESTS``, and ~30 s). ``.ci/run`` runs it; no package
registry ships those modules, so without GitHub it skips saying why (``STROM_REQUIRE_YARDSTICK=1``
makes that a failure where GitHub is reachable).

The floor was measured on these modules of apache/flink (file: commit): test_data_stream.py
01cdaee2, test_window.py fdc34bb7, test_async_function.py 06251fa0, test_async_batch_function.py
31da0571, test_state_ttl_config.py 5d8832af, test_typing.py 39833668.
"""
from __future__ import annotations

import os

import pytest

from tests.tools.pyflink_yardstick import SourcesUnavailable, find_sources, run, summary

pytestmark = pytest.mark.yardstick

#: passing tests reached (of 174 applicable; 15 more need a JVM). Raise it when strom gets better.
FLOOR = 173


def test_pyflink_datastream_tests_pass_at_least_the_floor() -> None:
    try:
        sources = find_sources()
    except SourcesUnavailable as exc:
        if os.environ.get("STROM_REQUIRE_YARDSTICK"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    results = run(sources)
    errors = [e for r in results.values() for e in r.errors]
    assert not errors, "PyFlink test modules failed to load:\n" + "\n".join(errors)
    passing, applicable = summary(results)
    failures = "\n".join(f for r in results.values() for f in r.failed)
    assert passing >= FLOOR, f"{passing} of {applicable} applicable tests pass (floor {FLOOR}):\n{failures}"
