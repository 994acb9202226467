"""Java Flink as a reference: build the ``java/`` program once, then run cases through one JVM.

``build()`` runs Maven (``mvn -q -B package``) when the jar is missing or older than the
sources; Flink's jars are fetched from Maven Central into ``~/.m2`` the first time and the jar
and its classpath are cached under ``tests/conformance/.build/`` (gitignored). ``JavaReference``
starts ``java -cp ... strom.conformance.Reference`` once and feeds it JSON-line cases: the JVM
keeps one Flink MiniCluster for all of them.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
JAVA_DIR = HERE / "java"
BUILD_DIR = HERE / ".build" / "java"
JAR = BUILD_DIR / "strom-conformance-reference-1.0.jar"
CLASSPATH = BUILD_DIR / "classpath.txt"
MAIN = "strom.conformance.Reference"


class ReferenceUnavailable(RuntimeError):
    """Java or Maven is missing, or the reference program did not build or start."""


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ReferenceUnavailable(f"the conformance suite needs `{tool}` on PATH ({hint})")
    return path


def _stale() -> bool:
    if not JAR.exists() or not CLASSPATH.exists():
        return True
    built = min(JAR.stat().st_mtime, CLASSPATH.stat().st_mtime)
    sources = [JAVA_DIR / "pom.xml", *(JAVA_DIR / "src").rglob("*.java")]
    if any(p.stat().st_mtime > built for p in sources):
        return True
    # the classpath names jars in ~/.m2: a wiped cache means building again
    return not all(Path(p).exists() for p in CLASSPATH.read_text().strip().split(os.pathsep) if p)


def build(force: bool = False) -> list[str]:
    """Build the reference if needed; return the ``java`` command line that runs it."""
    java = _require("java", "a JDK 17+, e.g. apt-get install openjdk-17-jdk-headless")
    if force or _stale():
        mvn = _require("mvn", "Apache Maven 3.8+, e.g. apt-get install maven")
        proc = subprocess.run([mvn, "-q", "-B", "-f", str(JAVA_DIR / "pom.xml"), "package"],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not JAR.exists():
            raise ReferenceUnavailable(
                "building the Java reference failed (Maven Central must be reachable the first time):\n"
                + (proc.stdout + proc.stderr)[-4000:])
    classpath = CLASSPATH.read_text().strip()
    return [java, "-Xss4m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", f"{JAR}{os.pathsep}{classpath}", MAIN]


class JavaReference:
    """One JVM running cases in order; use as a context manager."""

    def __init__(self, command: list[str] | None = None) -> None:
        self._command = command or build()
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: list[str] = []

    def __enter__(self) -> JavaReference:
        self._proc = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def _read(self, case_id: str) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise ReferenceUnavailable(f"the Java reference exited during case {case_id}:\n"
                                       + "".join(self._stderr[-40:]))
        reply = json.loads(line)
        if reply.get("id") != case_id:
            raise ReferenceUnavailable(f"the Java reference answered {reply.get('id')!r} for case {case_id!r}")
        return reply

    def run(self, case: dict[str, Any]) -> dict[str, Any]:
        """Run one case and wait for its result."""
        return next(self.run_many([case]))

    def run_many(self, cases: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Results in case order; cases are written ahead by a thread, so the JVM never waits."""
        if self._proc is None or self._proc.stdin is None:
            raise ReferenceUnavailable("JavaReference is not started (use it as a context manager)")
        cases = list(cases)
        stdin = self._proc.stdin

        def feed() -> None:
            for case in cases:
                stdin.write(json.dumps(case) + "\n")
            stdin.flush()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        for case in cases:
            yield self._read(case["id"])
        feeder.join()
