"""What ``strom demo`` shows: a live terminal view (rich) or plain JSON lines.

Both receive the pipeline's results through in-process sinks (``SinkFunction``s that run on
the job's thread inside this process, so they work with the embedded executors only):

- :class:`JsonLines` writes one ``to_json`` line per record to a stream (stdout);
- :class:`LiveView` appends each record to a thread-safe queue it owns and drains it a few
  times per second on the main thread to redraw an alert feed, a per-user metrics table and
  the job's status (events/s, watermark, last checkpoint, dead letters, late events).

Both count what every output emitted in a :class:`Tally`, from which the summary is printed.

Example:
    >>> tally = Tally()
    >>> out = JsonLines(sys.stdout, tally)
    >>> streams["security_alert"].add_sink(out.sink("security_alert"))  # doctest: +SKIP
"""
from __future__ import annotations

import collections
import datetime
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from strom.api.functions import SinkFunction

MIN_WATERMARK = -(2**63)
ALERT_TYPES = ("security_alert", "anomaly_alert")
METRIC_FIELDS = ("events", "count", "requests", "total")  # what ranks users, first one present


class _Cell:
    """What one sink subtask has seen: written only by its task's thread."""

    __slots__ = ("name", "count", "watermark")

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.watermark = MIN_WATERMARK


class Tally:
    """Records per output and the newest watermark seen at the sinks.

    Each sink subtask owns one cell it alone writes (no lock on the record path); readers on
    other threads sum the cells, so a figure read while the job runs may lag by a record.
    """

    def __init__(self) -> None:
        self._cells: list[_Cell] = []

    def cell(self, name: str) -> _Cell:
        """A new cell for one sink subtask of output ``name`` (called from its ``open``)."""
        cell = _Cell(name)
        self._cells.append(cell)  # list.append is atomic
        return cell

    def counts(self) -> dict[str, int]:
        """Records emitted so far per output name."""
        out: dict[str, int] = {}
        for cell in list(self._cells):
            out[cell.name] = out.get(cell.name, 0) + cell.count
        return out

    def watermark(self) -> int | None:
        """The highest event-time watermark a sink has seen with a record, None before any."""
        marks = [c.watermark for c in list(self._cells) if c.watermark > MIN_WATERMARK]
        return max(marks) if marks else None


class _TallySink(SinkFunction):
    """Base of the demo's sinks: counts records per output and notes the sink's watermark.

    The runtime gives every subtask its own copy (``copy.deepcopy``); copies share the tally
    and the destination, each gets its own cell in ``open``.
    """

    def __init__(self, name: str, tally: Tally) -> None:
        self.name = name
        self.tally = tally
        self._cell: _Cell | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _TallySink:
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._cell = None
        return copy

    def open(self, runtime_context: Any) -> None:
        self._cell = self.tally.cell(self.name)

    def _count(self, context: Any) -> None:
        cell = self._cell
        assert cell is not None, "open() was not called"
        cell.count += 1
        cell.watermark = context.current_watermark()


class JsonLines:
    """Writes every record as one JSON line (``to_json``) to ``stream``, from any thread.

    If the reader goes away (a closed pipe, as with ``| head``) writing stops and
    :attr:`broken` is set, so the caller can cancel the job.
    """

    def __init__(self, stream: TextIO, tally: Tally, to_json: Callable[[dict], str]) -> None:
        self.stream = stream
        self.tally = tally
        self.to_json = to_json
        self.broken = threading.Event()
        self._lock = threading.Lock()

    def sink(self, name: str) -> SinkFunction:
        """The sink for output ``name``."""
        return _JsonSink(name, self)

    def write(self, record: dict) -> None:
        if self.broken.is_set():
            return
        line = self.to_json(record) + "\n"
        with self._lock:
            try:
                self.stream.write(line)
            except BrokenPipeError:
                self.broken.set()


class _JsonSink(_TallySink):
    def __init__(self, name: str, out: JsonLines) -> None:
        super().__init__(name, out.tally)
        self.out = out

    def invoke(self, value: Any, context: Any) -> None:
        self._count(context)
        self.out.write(value)


class _QueueSink(_TallySink):
    def __init__(self, name: str, tally: Tally, queue: collections.deque) -> None:
        super().__init__(name, tally)
        self.queue = queue

    def invoke(self, value: Any, context: Any) -> None:
        self._count(context)
        self.queue.append((self.name, value))  # deque.append is thread-safe


def format_event_time(ms: int | None) -> str:
    """An event time (ms since the epoch) as UTC wall time, '-' for none."""
    if ms is None:
        return "-"
    try:
        moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_size(size: int) -> str:
    """Bytes as B / KiB / MiB."""
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


class EventRate:
    """Events per second over the last few seconds, from a running total."""

    def __init__(self, total: Callable[[], int], span_s: float = 2.0) -> None:
        self.total = total
        self.span_s = span_s
        self._samples: collections.deque[tuple[float, int]] = collections.deque(
            [(time.monotonic(), total())])

    def sample(self) -> float:
        now, count = time.monotonic(), self.total()
        self._samples.append((now, count))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.span_s:
            self._samples.popleft()
        first_t, first_n = self._samples[0]
        return (count - first_n) / (now - first_t) if now > first_t else 0.0


class LiveView:
    """The terminal view: status line, alert feed and per-user metrics, redrawn live.

    Records arrive through :meth:`sink` on the job's thread; :meth:`run` draws on the
    calling thread until the job ends or ``stop`` is set.
    """

    def __init__(self, tally: Tally, events: Callable[[], int], title: str,
                 console: Any = None, alerts: int = 10, users: int = 10) -> None:
        from rich.console import Console

        self.tally = tally
        self.title = title
        self.console = console or Console()
        self.queue: collections.deque[tuple[str, dict]] = collections.deque()
        self.alerts: collections.deque[dict] = collections.deque(maxlen=alerts)
        self.top_users = users
        self.user_windows: dict[Any, dict[Any, dict]] = {}  # window end -> user -> record
        self.rate = EventRate(events)
        self.events = events
        self.events_per_s = 0.0
        self.checkpoint: dict[str, Any] | None = None
        self.checkpoints_completed = 0
        self.restarts = 0

    def sink(self, name: str) -> SinkFunction:
        """The sink for output ``name``: counts it and hands its records to the view."""
        return _QueueSink(name, self.tally, self.queue)

    def drain(self) -> None:
        """Take the records that arrived since the last call into the view's state."""
        queue = self.queue
        while queue:
            name, record = queue.popleft()
            if name in ALERT_TYPES:
                self.alerts.appendleft(record)
            elif name == "user_metrics":
                end = _window_end(record)
                user = record.get("user_id", record.get("user", "?"))
                self.user_windows.setdefault(end, {})[user] = record
        if len(self.user_windows) > 4:  # keep the newest few windows
            for end in sorted(self.user_windows, key=_sort_key)[:-4]:
                del self.user_windows[end]

    def poll(self, client: Any) -> None:
        """Refresh events/s, checkpoints and restarts from the running job."""
        self.drain()
        self.events_per_s = self.rate.sample()
        summary = client.checkpoints() or {}
        self.checkpoint = summary.get("latest_completed")
        self.checkpoints_completed = summary.get("counts", {}).get("completed", 0)
        self.restarts = client.restarts

    def render(self) -> Any:
        """The whole view as one rich renderable."""
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table

        counts = self.tally.counts()
        status = Table.grid(padding=(0, 3))
        for _ in range(4):
            status.add_column(no_wrap=True)
        cp = self.checkpoint
        cp_text = (f"#{cp['checkpoint_id']} in {cp['duration_ms']} ms, {format_size(cp['size'])}"
                   f" ({self.checkpoints_completed} completed)" if cp else "none yet")
        status.add_row(f"[bold]events[/] {self.events():,}",
                       f"[bold]events/s[/] {self.events_per_s:,.0f}",
                       f"[bold]watermark[/] {format_event_time(self._watermark())[:-4]}",
                       f"[bold]restarts[/] {self.restarts}")
        status.add_row(f"[bold]checkpoint[/] {cp_text}",
                       f"[bold]dead letters[/] {counts.get('dead_letter', 0):,}",
                       f"[bold]late events[/] {counts.get('late_events', 0):,}",
                       "[bold]alerts[/] " + ", ".join(
                           f"{n.split('_')[0]} {counts.get(n, 0):,}" for n in ALERT_TYPES))
        return Group(Panel(status, title=self.title, title_align="left"),
                     Panel(self._alert_table(), title="latest alerts", title_align="left"),
                     Panel(self._user_table(), title="top users in the latest window",
                           title_align="left"))

    def _watermark(self) -> int | None:
        mark = self.tally.watermark()
        if mark is None and self.user_windows:  # fall back to the newest window end
            end = max(self.user_windows, key=_sort_key)
            return end if isinstance(end, int) else None
        return mark

    def _alert_table(self) -> Any:
        from rich.table import Table

        table = Table(expand=True, box=None, header_style="bold")
        table.add_column("kind", no_wrap=True)
        table.add_column("user", no_wrap=True)
        table.add_column("event time", no_wrap=True)
        table.add_column("details", overflow="ellipsis", no_wrap=True, ratio=1)
        for alert in self.alerts:
            kind = str(alert.get("type", "?")).replace("_alert", "")
            style = "red" if kind == "security" else "yellow"
            when = next((alert[k] for k in ("last_ms", "timestamp", "window_end")
                         if isinstance(alert.get(k), int)), None)
            table.add_row(f"[{style}]{kind}[/]", str(alert.get("user_id", alert.get("user", "-"))),
                          format_event_time(when), describe_alert(alert))
        return table

    def _user_table(self) -> Any:
        from rich.table import Table

        table = Table(expand=True, box=None, header_style="bold")
        if not self.user_windows:
            table.add_column("user")
            table.add_row("[dim]waiting for the first window[/]")
            return table
        end = max(self.user_windows, key=_sort_key)
        rows = list(self.user_windows[end].values())
        field = next((f for f in METRIC_FIELDS if isinstance(rows[0].get(f), int | float)), None)
        if field is not None:
            rows.sort(key=lambda r: r.get(field, 0), reverse=True)
        first = ("user_id", "user", "total", "events")
        columns = ([k for k in first if k in rows[0]]
                   + [k for k in rows[0] if k not in first and k != "type"])
        for column in columns:
            table.add_column(column.replace("_", " "), no_wrap=True,
                             justify="right" if isinstance(rows[0][column], int | float) else "left")
        for row in rows[:self.top_users]:
            table.add_row(*(_cell(column, row.get(column)) for column in columns))
        return table

    def run(self, client: Any, stop: threading.Event, refresh_per_second: float = 4,
            on_poll: Callable[[], None] | None = None) -> None:
        """Draw until the job ends or ``stop`` is set, calling ``on_poll`` at every redraw
        (KeyboardInterrupt propagates)."""
        from rich.live import Live

        with Live(self.render(), console=self.console, refresh_per_second=refresh_per_second,
                  transient=False) as live:
            while not stop.is_set():
                done = client.get_job_status().result().is_globally_terminal_state()
                self.poll(client)
                if on_poll is not None:
                    on_poll()
                live.update(self.render())
                if done:
                    break
                stop.wait(1 / refresh_per_second)


def describe_alert(alert: dict) -> str:
    """One line about an alert: failed logins in how long, or an action long after login;
    other alerts as their fields."""
    if isinstance(alert.get("failures"), int) and isinstance(alert.get("first_ms"), int) \
            and isinstance(alert.get("last_ms"), int):
        span = (alert["last_ms"] - alert["first_ms"]) / 1000
        return f"{alert['failures']} failed logins within {span:,.1f} s"
    if isinstance(alert.get("ms_since_login"), int):
        hours = alert["ms_since_login"] / 3_600_000
        return f"{alert.get('action', 'action')} {hours:,.1f} h after the last login"
    return ", ".join(f"{k}={v}" for k, v in alert.items()
                     if k not in ("type", "user", "user_id"))


def _window_end(record: dict) -> Any:
    for key in ("window_end", "end", "window"):
        if key in record:
            return record[key]
    return None


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _cell(column: str, value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and column.endswith(("_end", "_start", "timestamp")):
        return format_event_time(value)[11:19]
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


__all__ = ["JsonLines", "LiveView", "Tally", "format_event_time", "format_size"]
