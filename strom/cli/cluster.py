"""``strom cluster start|stop|status``: the standalone session cluster on this machine.

``start`` daemonizes ``python -m strom.cluster.standalone`` (its output goes to ``cluster.log``
next to the cluster file) and returns once its REST API answers; ``stop`` signals the process
the cluster file names (after checking that it is that cluster) and waits for it to end;
``status`` says whether it runs and shows its overview. The cluster file is
``$STROM_CLUSTER_FILE``, else ``~/.cache/strom/cluster.json`` (``--cluster-file`` overrides).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Annotated, Any

import typer

from strom.cli._common import FAILED, OK, USAGE, TokenOption, console, parse_settings, say

app = typer.Typer(help="Run a standalone session cluster on this machine.",
                  no_args_is_help=True, add_completion=False)

ClusterFileOption = Annotated[str | None, typer.Option(
    "--cluster-file", metavar="PATH", envvar="STROM_CLUSTER_FILE", show_envvar=True,
    help="where the cluster records its pid and port (default ~/.cache/strom/cluster.json)")]


def _file(path: str | None) -> str:
    from strom.cluster.client import cluster_file

    return path or cluster_file()


def _is_cluster(pid: int) -> bool:
    """Whether ``pid`` is alive and runs the standalone cluster (not a recycled pid)."""
    from strom.cluster.standalone import STANDALONE_MODULE

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return STANDALONE_MODULE.encode() in f.read()
    except OSError:  # no /proc (macOS): trust the pid
        return True


def _running(path: str) -> dict[str, Any] | None:
    """The cluster file's record if its process still runs; removes a stale file."""
    from strom.cluster.client import read_cluster_file

    info = read_cluster_file(path)
    if info is None:
        return None
    if not isinstance(info.get("pid"), int) or not _is_cluster(info["pid"]):
        try:
            os.remove(path)
        except OSError:
            pass
        return None
    return info


def _client(info: dict[str, Any], token: str | None) -> Any:
    from strom.cluster.client import Endpoint, RestClient

    return RestClient(Endpoint(info["address"], int(info["port"]), token), timeout=2.0)


@app.command()
def start(
    taskmanagers: Annotated[int, typer.Option("--taskmanagers", min=1,
                                              help="number of TaskManagers")] = 1,
    slots: Annotated[int | None, typer.Option(
        "--slots", min=1, help="task slots per TaskManager (default: the number of "
                               "cores)")] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="REST port (0: any free port)")] = 8081,
    bind_address: Annotated[str, typer.Option(
        "--bind-address", help="address the REST API binds to")] = "127.0.0.1",
    dynamic: Annotated[list[str] | None, typer.Option(
        "-D", metavar="KEY=VALUE", help="a configuration key of the cluster "
                                        "(repeatable)")] = None,
    executor: Annotated[str, typer.Option(
        "--executor", help="where submitted jobs run: local (TaskManager processes, the "
                           "default) or threads (in the cluster process)")] = "local",
    cluster_file: ClusterFileOption = None,
    token: TokenOption = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                                           help="how long to wait for the REST API")] = 30.0,
) -> int:
    """Start a session cluster in the background; returns once its REST API answers."""
    from strom.cluster.standalone import STANDALONE_MODULE

    settings = parse_settings("cluster start", dynamic)
    if settings is None:
        return USAGE
    path = _file(cluster_file)
    running = _running(path)
    if running is not None:
        say("cluster start", f"a cluster is already running (pid {running['pid']}, "
                             f"http://{running['address']}:{running['port']}); hint: "
                             "`strom cluster stop` stops it")
        return FAILED
    cmd = [sys.executable, "-m", STANDALONE_MODULE, "--port", str(port), "--bind-address",
           bind_address, "--taskmanagers", str(taskmanagers), "--cluster-file", path,
           "--executor", executor]
    if slots:
        cmd += ["--slots", str(slots)]
    for key, value in settings.items():
        cmd += ["-D", f"{key}={value}"]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    log_path = os.path.join(os.path.dirname(os.path.abspath(path)), "cluster.log")
    env = dict(os.environ)
    if token:
        env["STROM_REST_TOKEN"] = token
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, env=env, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            say("cluster start", f"the cluster process exited with status {proc.returncode}; "
                                 f"its log ({log_path}) ends with:\n{_tail(log_path)}")
            return FAILED
        info = _running(path)
        if info is not None and info.get("pid") == proc.pid:
            from strom.errors import ClusterError

            try:
                overview = _client(info, token).overview()
            except ClusterError:
                overview = None
            if overview is not None:
                print(f"strom cluster: started on http://{info['address']}:{info['port']} "
                      f"(pid {proc.pid}, {overview['taskmanagers']} TaskManager(s), "
                      f"{overview['slots-total']} slots); stop it with `strom cluster stop`")
                return OK
        time.sleep(0.1)
    proc.terminate()
    say("cluster start", f"the REST API did not answer within {timeout:g} s; stopped the "
                         f"process. Its log ({log_path}):\n{_tail(log_path)}")
    return FAILED


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError as exc:
        return f"(cannot read it: {exc})"


@app.command()
def stop(
    cluster_file: ClusterFileOption = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS",
        help="how long to wait before killing the process")] = 30.0,
) -> int:
    """Stop the session cluster (its running jobs are cancelled)."""
    path = _file(cluster_file)
    info = _running(path)
    if info is None:
        say("cluster stop", f"no cluster is running (no live cluster recorded in {path})")
        return FAILED
    pid = info["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _is_cluster(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _is_cluster(pid):
        os.kill(pid, signal.SIGKILL)
        say("cluster stop", f"the cluster (pid {pid}) did not stop within {timeout:g} s; "
                            "killed it")
    if os.path.exists(path):
        os.remove(path)
    print(f"strom cluster: stopped (pid {pid})")
    return OK


@app.command()
def status(cluster_file: ClusterFileOption = None, token: TokenOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> int:
    """Say whether the session cluster runs (exit status 0) or not (1), with its overview."""
    from strom.errors import ClusterError

    path = _file(cluster_file)
    info = _running(path)
    if info is None:
        say("cluster status", "not running")
        return FAILED
    url = f"http://{info['address']}:{info['port']}"
    try:
        overview = _client(info, token).overview()
    except ClusterError as exc:
        say("cluster status", f"process {info['pid']} runs but its REST API at {url} does not "
                              f"answer: {exc}")
        return FAILED
    if as_json:
        print(json.dumps({**info, "url": url, "overview": overview}, indent=2))
        return OK
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in (("url", url), ("pid", info["pid"]),
                       ("taskmanagers", overview["taskmanagers"]),
                       ("slots", f"{overview['slots-available']} of {overview['slots-total']} "
                                 "available"),
                       ("jobs", f"{overview['jobs-running']} running, "
                                f"{overview['jobs-finished']} finished, "
                                f"{overview['jobs-cancelled']} cancelled, "
                                f"{overview['jobs-failed']} failed")):
        table.add_row(key, str(value))
    console().print("strom cluster: running")
    console().print(table)
    return OK
