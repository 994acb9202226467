"""``strom demo``: the log-analytics pipeline on generated logs, live, on the embedded runtime.

The command builds one job: the log generator (``strom.demo.generator``) feeds the pipeline
(``strom.demo.pipeline``), whose outputs go to the terminal view or to JSON lines on stdout
(``strom.demo.live``) and, with ``--output DIR``, to exactly-once ``FileSink``s (one
subdirectory per output type). The job checkpoints every 2 s into ``--checkpoint-dir`` and
keeps its last checkpoint when it is cancelled or killed, so ``--resume`` continues where a
stopped demo was. ``strom.cli`` registers the subcommand with :func:`add_arguments` and calls
:func:`run`.

Example::

    strom demo                      # live view, a few hundred events/s, Ctrl-C stops
    strom demo --events 20000 --json | grep security_alert
    strom demo --resume             # continue from the newest checkpoint
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from strom.api.functions import MapFunction
from strom.demo.live import JsonLines, LiveView, Tally

CHECKPOINT_INTERVAL_MS = 2000
DEFAULT_RATE = 300.0  # events/s when the demo runs until stopped: a realistic, readable pace
PIPED_EVENTS = 50_000  # events when stdout is not a terminal and neither --events nor --rate
JOB_NAME = "strom demo"


def default_checkpoint_dir() -> str:
    """``$XDG_CACHE_HOME/strom/demo``, else ``~/.cache/strom/demo``."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "strom", "demo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options, on the ``strom demo`` subparser."""
    parser.add_argument("--events", type=_positive_int, metavar="N",
                        help="stop after N generated events and print a summary (default: run "
                             f"until Ctrl-C; {PIPED_EVENTS:,} when stdout is not a terminal and "
                             "--rate is not given)")
    parser.add_argument("--users", type=_positive_int, default=50, metavar="N",
                        help="distinct users in the generated logs (default 50)")
    parser.add_argument("--rate", type=_positive_float, metavar="EVENTS_PER_S",
                        help="generated events per second (default: as fast as possible with "
                             f"--events, else {DEFAULT_RATE:.0f})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the generator: the same seed gives the same logs "
                             "(default 0)")
    parser.add_argument("--parallelism", type=_positive_int, default=1, metavar="P",
                        help="parallel subtasks per operator (default 1)")
    parser.add_argument("--json", action="store_true",
                        help="print every result as one JSON line instead of the live view "
                             "(the default when stdout is not a terminal)")
    parser.add_argument("--output", metavar="DIR",
                        help="also write every result exactly once into part files under "
                             "DIR/<type>/ (committed at each checkpoint)")
    parser.add_argument("--checkpoint-dir", metavar="DIR",
                        help="where the job checkpoints every 2 s; the last checkpoint is kept "
                             "when the demo is stopped or killed (default "
                             "~/.cache/strom/demo)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest complete checkpoint in the checkpoint "
                             "directory (use the same --seed and --users); once the resumed "
                             "run has its own checkpoint, the one it resumed from is deleted")
    parser.add_argument("--web", action="store_true",
                        help="serve the web dashboard while the demo runs (the job's graph, "
                             "metrics and checkpoints, and the alerts and metrics as they "
                             "arrive) on http://127.0.0.1:PORT")
    parser.add_argument("--web-port", type=int, default=8081, metavar="PORT",
                        help="the dashboard's port with --web (default 8081; 0: any free "
                             "port)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, found {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, found {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, found {text}")
    return value


class _CountEvents(MapFunction):
    """Passes every generated line on and counts it (one tally cell per subtask)."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self._cell: Any = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _CountEvents:
        return _CountEvents(self.tally)  # subtask copies share the tally

    def open(self, runtime_context: Any) -> None:
        self._cell = self.tally.cell("events")

    def map(self, value: Any) -> Any:
        self._cell.count += 1
        return value


@dataclass(frozen=True, slots=True)
class Settings:
    """What one ``strom demo`` run does, resolved from its options and the terminal."""

    events: int | None
    users: int
    rate: float | None
    seed: int
    parallelism: int
    json: bool
    output: str | None
    checkpoint_dir: str
    resume: bool
    web_port: int | None = None  # serve the dashboard on this port (--web)


def resolve(args: argparse.Namespace, stdout: TextIO) -> Settings:
    """The run's settings: defaults that depend on whether ``stdout`` is a terminal."""
    tty = stdout.isatty()
    events = args.events
    if events is None and not tty and args.rate is None:
        events = PIPED_EVENTS  # a pipe or a file: end by itself
    rate = args.rate if args.rate is not None else (None if events is not None else DEFAULT_RATE)
    return Settings(events=events, users=args.users, rate=rate, seed=args.seed,
                    parallelism=args.parallelism, json=args.json or not tty, output=args.output,
                    checkpoint_dir=os.path.abspath(os.path.expanduser(
                        args.checkpoint_dir or default_checkpoint_dir())),
                    resume=args.resume,
                    web_port=args.web_port if getattr(args, "web", False) else None)


def _say(text: str) -> None:
    print(f"strom demo: {text}", file=sys.stderr, flush=True)


def _restore_point(checkpoint_dir: str) -> tuple[str, int]:
    """The newest complete checkpoint under ``checkpoint_dir``: (path, checkpoint id)."""
    from strom.checkpoint.listing import resolve_restore_path
    from strom.errors import CheckpointError

    has_any = os.path.isdir(checkpoint_dir) and any(
        not name.startswith(".") for name in os.listdir(checkpoint_dir))
    if not has_any:
        msg = (f"--resume: there is no checkpoint to resume from in {checkpoint_dir}; a demo "
               "writes one every 2 s there and keeps the last one when it is stopped or "
               "killed. Hint: run 'strom demo' first (same --checkpoint-dir), stop it, then "
               "resume")
        raise CheckpointError(msg)
    loaded, skipped = resolve_restore_path(checkpoint_dir)
    for reason in skipped:
        _say(f"skipped {reason}")
    return loaded.path, loaded.checkpoint_id


def build_job(env: Any, settings: Settings, sinks: Any, events: Tally) -> None:
    """Add the demo's job to ``env``: generator -> pipeline -> ``sinks.sink(name)`` per output
    (and part files under ``settings.output``)."""
    from strom.api.watermarks import WatermarkStrategy
    from strom.demo.generator import GeneratorConfig, LogGenerator
    from strom.demo.pipeline import PipelineConfig, build, to_json

    config = GeneratorConfig(users=settings.users, events=settings.events, seed=settings.seed,
                             rate=settings.rate)
    lines = (env.from_source(LogGenerator(config), WatermarkStrategy.no_watermarks(),
                             "log generator").uid("demo-log-generator")
             .map(_CountEvents(events)).name("count events").uid("demo-count-events")
             .set_parallelism(1))  # the generator is one subtask: chained to it
    for name, stream in build(env, lines, PipelineConfig()).items():
        stream.add_sink(sinks.sink(name)).name(f"show {name}").uid(f"demo-show-{name}")
        if settings.output:
            stream.map(to_json).name(f"{name} as JSON").uid(f"demo-json-{name}") \
                .sink_to(_file_sink(os.path.join(settings.output, name))) \
                .name(f"files {name}").uid(f"demo-files-{name}")


def _file_sink(path: str) -> Any:
    from strom.common.serialization import Encoder
    from strom.datastream.connectors.file_system import BucketAssigner, FileSink, RollingPolicy

    return (FileSink.for_row_format(path, Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy()).build())


def make_env(settings: Settings, restore_path: str | None) -> Any:
    """The embedded environment: parallelism, 2 s checkpoints kept on cancellation."""
    from strom.common.configuration import Configuration
    from strom.datastream import ExternalizedCheckpointRetention, StreamExecutionEnvironment

    conf = Configuration()
    if restore_path is not None:
        conf.set_string("execution.state-recovery.path", restore_path)
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(settings.parallelism)
    env.executor = "inline"  # the live view and its sinks read the job's state in this process
    env.enable_checkpointing(CHECKPOINT_INTERVAL_MS)
    cc = env.get_checkpoint_config()
    cc.set_checkpoint_storage_dir(settings.checkpoint_dir)
    cc.set_externalized_checkpoint_retention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION)
    return env


def run(args: argparse.Namespace) -> int:
    """Run ``strom demo`` with parsed ``args``; returns the exit status."""
    from strom.errors import CheckpointError

    settings = resolve(args, sys.stdout)
    restore: tuple[str, int] | None = None
    if settings.resume:
        try:
            restore = _restore_point(settings.checkpoint_dir)
        except CheckpointError as exc:
            _say(str(exc))
            return 2
        _say(f"resuming from checkpoint {restore[1]} at {restore[0]}")
    os.makedirs(settings.checkpoint_dir, exist_ok=True)
    env = make_env(settings, restore[0] if restore else None)
    tally, events = Tally(), Tally()
    if settings.json:
        out: Any = JsonLines(sys.stdout, tally, _to_json())
    else:
        out = LiveView(tally, lambda: events.counts().get("events", 0), _title(settings))
    web = _serve_dashboard(settings.web_port) if settings.web_port is not None else None
    if settings.web_port is not None and web is None:
        return 1
    build_job(env, settings, web[2].wrap(out) if web else out, events)
    started = time.monotonic()
    try:
        client = env.execute_async(JOB_NAME)
        return _follow(client, settings, out, tally, events, restore, started)
    finally:
        if web is not None:
            web[0].stop_listening()
            web[1].stop()


def _serve_dashboard(port: int) -> tuple[Any, Any, Any] | None:
    """(dispatcher, server, feed): the dashboard of this process's job and the demo's
    outputs, on 127.0.0.1:``port``; None (said why) when it cannot listen."""
    from strom.cluster.dispatcher import Dispatcher
    from strom.cluster.rest import RestServer, rest_token
    from strom.demo.feed import DemoFeed
    from strom.errors import ClusterError
    from strom.web import create_app

    dispatcher, feed = Dispatcher("inline"), DemoFeed()
    try:
        server = RestServer(create_app(dispatcher, rest_token(), feed), port=port).start()
    except ClusterError as exc:
        _say(f"--web: {exc}".replace("-D rest.port=<port>", "--web-port <port>"))
        return None
    dispatcher.listen()
    _say(f"dashboard on {server.url}/#/demo (the job: {server.url}/#/jobs)")
    return dispatcher, server, feed


def _follow(client: Any, settings: Settings, out: Any, tally: Tally, events: Tally,
            restore: tuple[str, int] | None, started: float) -> int:
    """Show the running job until it ends or is interrupted; returns the exit status."""
    from strom.errors import JobCancelledError, JobExecutionError

    stop = threading.Event()
    interrupted = False
    try:
        if isinstance(out, LiveView):
            out.run(client, stop, on_poll=lambda: _claim(restore, settings, client))
        else:
            _wait(client, out, lambda: _claim(restore, settings, client))
    except KeyboardInterrupt:
        interrupted = True
    if interrupted or (isinstance(out, JsonLines) and out.broken.is_set()):
        with _no_interrupts():  # a second Ctrl-C does not cut the shutdown short
            client.cancel().result(30)
    elapsed = time.monotonic() - started
    error: BaseException | None = None
    try:
        client.wait(30)
    except JobCancelledError:
        pass
    except (JobExecutionError, TimeoutError) as exc:
        error = exc
    if error is None:
        _claim(restore, settings, client)
    if isinstance(out, JsonLines):
        if out.broken.is_set():
            _quiet_stdout()
            return 0
        sys.stdout.flush()
    counted = events.counts().get("events", 0)
    if error is not None and counted == 0:  # it failed at the start: nothing to sum up
        _say(str(_restore_error(error) if restore else error))
        if restore:
            _say("resume with the options of the run that wrote the checkpoint (--output, "
                 "--users, --seed)")
        return 1
    summary = summarize(settings, tally.counts(), counted, elapsed,
                        client.checkpoints(), client.restarts, stopped=interrupted)
    print(summary, file=sys.stderr if settings.json else sys.stdout, flush=True)
    if error is not None:
        _say(str(error))
        return 1
    return 0


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Ignore SIGINT inside the block (when on the main thread, where handlers live)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _restore_error(error: BaseException) -> BaseException:
    """The checkpoint error behind a failed restore, else ``error``."""
    from strom.errors import CheckpointError, find_cause

    return find_cause(error, CheckpointError) or error


def _to_json() -> Any:
    from strom.demo.pipeline import to_json

    return to_json


def _title(settings: Settings) -> str:
    rate = "as fast as possible" if settings.rate is None else f"{settings.rate:,.0f} events/s"
    until = f"{settings.events:,} events" if settings.events else "Ctrl-C stops"
    return (f"[bold]strom demo[/] - {settings.users} users, {rate}, parallelism "
            f"{settings.parallelism}, {until}")


def _wait(client: Any, out: JsonLines, on_poll: Any) -> None:
    """Block until the job ends, or the reader of stdout has gone away."""
    while not client.get_job_status().result().is_globally_terminal_state():
        if out.broken.is_set():
            return
        on_poll()
        time.sleep(0.1)


def _claim(restore: tuple[str, int] | None, settings: Settings, client: Any) -> None:
    """Delete the checkpoint a resumed run started from, once the run has its own (or ended
    without failing), so a later ``--resume`` does not go back to it."""
    if restore is None:
        return
    status = client.get_job_status().result()
    completed = (client.checkpoints() or {}).get("counts", {}).get("completed", 0)
    if completed < 1 and status.value != "FINISHED":
        return
    job_dir = os.path.dirname(os.path.abspath(restore[0]))
    if os.path.dirname(job_dir) == settings.checkpoint_dir and os.path.isdir(job_dir):
        shutil.rmtree(job_dir, ignore_errors=True)


def _quiet_stdout() -> None:
    """After the reader closed stdout: avoid Python's error when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def summarize(settings: Settings, counts: dict[str, int], events: int, elapsed_s: float,
              checkpoints: dict[str, Any], restarts: int, stopped: bool) -> str:
    """The text printed when the demo ends."""
    rate = events / elapsed_s if elapsed_s > 0 else 0.0
    how = "stopped" if stopped else "done"
    lines = [f"strom demo {how}: {events:,} events in {elapsed_s:.1f} s ({rate:,.0f} events/s), "
             f"parallelism {settings.parallelism}"]
    width = max((len(name) for name in counts), default=0)
    for name in sorted(counts):
        lines.append(f"  {name:<{width}}  {counts[name]:>10,}")
    completed = (checkpoints or {}).get("counts", {}).get("completed", 0)
    lines.append(f"  checkpoints completed: {completed}, restarts: {restarts}")
    if stopped:
        lines.append(f"  resume with: strom demo --resume --checkpoint-dir {settings.checkpoint_dir}")
    return "\n".join(lines)


__all__ = ["Settings", "add_arguments", "build_job", "default_checkpoint_dir", "make_env",
           "resolve", "run", "summarize"]
