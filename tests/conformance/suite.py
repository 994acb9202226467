"""Run the differential conformance suite: seeded cases on Java Flink and on strom, compared.

    .venv/bin/python tests/conformance/suite.py [--cases 500] [--seed 0] [--no-shrink] [--show N]

Java runs every case in one JVM (one MiniCluster) while strom runs them in this process; then
each differing case is shrunk to a minimal one and printed with both outputs.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import compare, describe  # noqa: E402
from generate import generate_cases  # noqa: E402
from reference import JavaReference  # noqa: E402
from shrink import shrink  # noqa: E402
from strom_runner import run_case  # noqa: E402


@dataclass
class Failure:
    case: dict[str, Any]
    minimal: dict[str, Any]
    java: dict[str, Any]
    strom: dict[str, Any]
    tried: int

    def report(self) -> str:
        return ("MINIMAL " + describe(self.minimal, self.java, self.strom)
                + f"\n(shrunk from {len(self.case['events'])} to {len(self.minimal['events'])} events "
                f"in {self.tried} tries; original case: {self.case})")


@dataclass
class Report:
    cases: int = 0
    both_failed: int = 0
    seconds: float = 0.0
    run_seconds: float = 0.0  # the comparison pass, before shrinking
    java_ms: int = 0
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.cases} cases, {len(self.failures)} differing, {self.both_failed} refused by both, "
                f"{self.seconds:.1f} s ({self.run_seconds:.1f} s to run and compare, Java job time "
                f"{self.java_ms / 1000:.1f} s, the rest shrinking)")


def run_suite(seed: int, count: int, shrink_failures: bool = True, shrink_budget: int = 300,
              max_shrunk: int = 20) -> Report:
    """Run ``count`` cases of ``seed``; shrink (at most ``max_shrunk`` of) the differing ones."""
    cases = generate_cases(seed, count)
    report = Report(cases=len(cases))
    start = time.monotonic()
    differing: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    with JavaReference() as java:
        results = java.run_many(cases)
        for case in cases:
            strom_result = run_case(case)
            java_result = next(results)
            report.java_ms += java_result.get("ms", 0)
            if "error" in java_result and "error" in strom_result:
                report.both_failed += 1
            if compare(case, java_result, strom_result) is not None:
                differing.append((case, java_result, strom_result))
        report.run_seconds = time.monotonic() - start
        for index, (case, java_result, strom_result) in enumerate(differing):
            if not (shrink_failures and index < max_shrunk):
                report.failures.append(Failure(case, case, java_result, strom_result, 0))
                continue
            minimal, tried = shrink(case, lambda c: compare(c, java.run(c), run_case(c)) is not None,
                                    budget=shrink_budget)
            report.failures.append(Failure(case, minimal, java.run(minimal), run_case(minimal), tried))
    report.seconds = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--show", type=int, default=20, help="print at most this many failing cases")
    args = parser.parse_args(argv)
    report = run_suite(args.seed, args.cases, shrink_failures=not args.no_shrink)
    for failure in report.failures[: args.show]:
        print(failure.report(), end="\n\n")
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
