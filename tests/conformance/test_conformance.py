"""strom against Java Flink 2.3 on seeded random cases (marker ``conformance``; CI runs it).

``STROM_CONFORMANCE_CASES`` (default 500) and ``STROM_CONFORMANCE_SEED`` (default 0) choose the
cases. Java and Maven must be installed; the reference is built on first use (tests/conformance/
reference.py). A failing case is shrunk and printed with both outputs.
"""
from __future__ import annotations

import os

import pytest
from suite import run_suite

pytestmark = pytest.mark.conformance


def test_strom_matches_java_flink_on_seeded_cases() -> None:
    count = int(os.environ.get("STROM_CONFORMANCE_CASES", "500"))
    seed = int(os.environ.get("STROM_CONFORMANCE_SEED", "0"))
    report = run_suite(seed, count, shrink_failures=True, shrink_budget=150, max_shrunk=5)
    print(report.summary())
    if report.failures:
        pytest.fail(report.summary() + "\n\n" + "\n\n".join(f.report() for f in report.failures[:5]),
                    pytrace=False)
