"""The progress line of ``strom run`` on a terminal: records the job's sources emitted so far
and their rate, refreshed a few times a second on stderr, then one summary line when the job
ends. Quiet when stderr is not a terminal (a pipe, a file, CI), unless asked for; the line
gives way (stops) when the job prints to the same terminal, whose output then shows progress.

It reads the sources' ``numRecordsOut`` metric (Flink's operator metric) of each job the
script starts in this process, from a job listener, so it costs the job nothing per record.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

REFRESH_SECONDS = 0.25


def source_metric_names(graph: Any) -> list[str]:
    """The registry names of the ``numRecordsOut`` metric of every source subtask of a job."""
    names = []
    for v in graph.vertices:
        if v.inputs:
            continue
        head = graph.nodes[v.nodes[0]].name
        names.extend(f"{graph.job_name}.{v.name}.{s}.{head}.numRecordsOut"
                     for s in range(v.parallelism))
    return names


def records_emitted(control: Any, names: list[str]) -> int:
    """The sum of the named metrics of a running job (those not registered yet count 0)."""
    registry = control.metrics
    if registry is None:
        return 0
    total = 0
    for name in names:
        metric = registry.metrics.get(name)
        if metric is None:
            continue
        try:
            value = registry.value(name)
        except Exception:  # noqa: S112 - a mirrored gauge not reported yet
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            total += value
    return total


class _Watcher:
    """Follows one job: a rich progress task updated from its metrics on a thread."""

    def __init__(self, progress: Any, control: Any, graph: Any) -> None:
        self.progress = progress
        self.control = control
        self.names = source_metric_names(graph)
        self.name = graph.job_name
        self.start = time.monotonic()
        self.task = progress.add_task(graph.job_name, total=None, records=0, rate=0.0)
        self.thread = threading.Thread(target=self._run, name="strom progress", daemon=True)
        self.thread.start()

    def _update(self) -> int:
        count = records_emitted(self.control, self.names)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        self.progress.update(self.task, records=count, rate=count / elapsed)
        return count

    def _run(self) -> None:
        while not self.control.done.wait(REFRESH_SECONDS):
            self._update()
        count = self._update()
        elapsed = time.monotonic() - self.start
        self.progress.remove_task(self.task)
        sys.stdout.flush()  # the job's printed lines first
        state = getattr(self.control.status, "name", str(self.control.status)).lower()
        self.progress.console.print(
            f"strom run: job '{self.name}' {state}: {count:,} source records in "
            f"{elapsed:.1f} s ({count / max(elapsed, 1e-9):,.0f}/s)", highlight=False)


@contextlib.contextmanager
def show_progress(enabled: bool | None) -> Iterator[None]:
    """While the block runs, show the progress of every job it starts; ``enabled`` None means
    when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from strom.runtime.job import add_job_listener, remove_job_listener

    console = Console(file=sys.stderr, highlight=False)
    progress = Progress(
        SpinnerColumn(), TextColumn("job [bold]{task.description}[/bold]"),
        TextColumn("{task.fields[records]:,} records"),
        TextColumn("{task.fields[rate]:,.0f}/s"), TimeElapsedColumn(),
        console=console, transient=True, redirect_stdout=False, redirect_stderr=False)
    watchers: list[_Watcher] = []

    def started(control: Any, graph: Any, executor: Any) -> None:
        watchers.append(_Watcher(progress, control, graph))

    stdout = sys.stdout
    if stdout.isatty():  # the job's own output on the same terminal: it is the progress then
        sys.stdout = _FirstWrite(stdout, progress.stop)
    add_job_listener(started)
    try:
        with progress:
            yield
            for w in watchers:
                w.thread.join(2 * REFRESH_SECONDS + 1)
    finally:
        remove_job_listener(started)
        sys.stdout = stdout


class _FirstWrite:
    """A stream that calls ``first()`` before the first write, then writes through. The
    progress line stops when a job prints to the terminal: redrawing it under every printed
    line would cost more than the printing and garble the output."""

    def __init__(self, stream: Any, first: Any) -> None:
        self._stream = stream
        self._first: Any = first

    def write(self, text: str) -> int:
        if self._first is not None:
            first, self._first = self._first, None
            first()
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
