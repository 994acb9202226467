"""What the ``strom`` commands share: exit codes, error output, ``-D`` settings, the REST client
for cluster commands, and rich tables.

Exit codes (shell-friendly): 0 done; 1 the operation failed (a job failed, an unknown job, no
cluster running); 2 the command line is wrong (missing file, malformed option); 130 interrupted.
Errors are one line on stderr, ``strom <command>: <what went wrong>; hint: ...``.
"""
from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130

JobManagerOption = Annotated[
    str | None,
    typer.Option("-m", "--jobmanager", metavar="HOST:PORT",
                 help="the cluster's REST address (default: the running session cluster's, "
                      "from the cluster file, else 127.0.0.1:8081)")]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="STROM_REST_TOKEN", show_envvar=True,
                 help="bearer token of the cluster's REST API")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def say(command: str, text: str) -> None:
    """One line on stderr: ``strom <command>: <text>``."""
    print(f"strom {command}: {text}", file=sys.stderr, flush=True)


def parse_settings(command: str, items: list[str] | None) -> dict[str, str] | None:
    """``-D key=value`` items as a dict; None (after saying why) if one is malformed."""
    settings: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            say(command, f"-D expects key=value, found {item!r}; e.g. -D parallelism.default=4")
            return None
        settings[key.strip()] = value.strip()
    return settings


def rest_client(jobmanager: str | None, token: str | None) -> Any:
    """A REST client of the cluster ``-m HOST:PORT`` names, else the session cluster's."""
    from strom.cluster.client import Endpoint, RestClient, endpoint
    from strom.errors import ClusterError

    if jobmanager:
        host, sep, port = jobmanager.rpartition(":")
        if not sep or not port.isdigit():
            raise ClusterError(f"-m/--jobmanager expects HOST:PORT, got {jobmanager!r}; e.g. "
                               "-m 127.0.0.1:8081")
        where = Endpoint(host.strip("[]") or "127.0.0.1", int(port), token)
    else:
        found = endpoint({"rest.token": token} if token else None)
        where = Endpoint(found.address, found.port, token or found.token)
    return RestClient(where)


def console(stream: Any = None) -> Any:
    """A rich console on ``stream`` (stdout); wide when not a terminal so tables do not fold."""
    from rich.console import Console

    stream = stream or sys.stdout
    tty = hasattr(stream, "isatty") and stream.isatty()
    width = None if tty else int(os.environ.get("COLUMNS", "0") or 0) or 200
    return Console(file=stream, width=width, highlight=False, soft_wrap=not tty)


def format_ms(ms: int) -> str:
    """A duration for people: ``950 ms``, ``12.3 s``, ``4m 05s``, ``2h 03m``."""
    if ms < 0:
        return "-"
    if ms < 1000:
        return f"{ms} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m {s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m"


def format_time(ms: int) -> str:
    """A timestamp (ms since the epoch) as local ``YYYY-MM-DD HH:MM:SS``, or ``-``."""
    import time

    if ms is None or ms < 0:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))
