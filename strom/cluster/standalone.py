"""The standalone session cluster: one process running the dispatcher, the REST API and the web
dashboard (``strom.web``) until it is told to stop (SIGTERM or SIGINT), what ``strom cluster
start`` daemonizes.

    python -m strom.cluster.standalone [--port 8081] [--bind-address 127.0.0.1]
        [--taskmanagers N] [--slots S] [--cluster-file PATH] [-D key=value ...]

Once the API answers, the process writes the cluster file (``strom.cluster.client
.cluster_file``; ``--cluster-file`` overrides it) with its pid, address and port, so that
``strom cluster stop/status``, ``strom list`` and ``strom run -d`` find it; it removes the
file when it stops, after cancelling the jobs still running. ``--port 0`` picks a free port.

By default jobs run on the ``threads`` executor inside this process, and one embedded
TaskManager with ``taskmanagers * slots`` slots stands for them; ``--executor local`` runs
them on ``taskmanagers`` TaskManager processes with ``slots`` slots each (the process runtime).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from strom.cluster.client import cluster_file
from strom.cluster.dispatcher import Dispatcher
from strom.cluster.rest import DEFAULT_BIND_ADDRESS, RestServer, rest_token
from strom.errors import ClusterError

STANDALONE_MODULE = "strom.cluster.standalone"
"""How the process is started (``python -m ...``); ``strom cluster stop`` checks a pid's
command line for it before signalling the pid."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The process's options."""
    p = argparse.ArgumentParser(prog=f"python -m {STANDALONE_MODULE}",
                                description="strom's standalone session cluster")
    p.add_argument("--port", type=int, default=None, help="REST port (default rest.port, 8081)")
    p.add_argument("--bind-address", default=None,
                   help="address to bind (default rest.bind-address, 127.0.0.1)")
    p.add_argument("--taskmanagers", type=int, default=1, help="TaskManagers (default 1)")
    p.add_argument("--slots", type=int, default=None,
                   help="task slots per TaskManager (default taskmanager.numberOfTaskSlots, "
                        "else the number of cores)")
    p.add_argument("--executor", default="local",
                   help="execution target of submitted jobs: local (TaskManager processes, the "
                        "default) or threads (in the cluster process)")
    p.add_argument("--cluster-file", default=None, help="where to record pid and port")
    p.add_argument("-D", dest="dynamic", action="append", default=[], metavar="KEY=VALUE",
                   help="a configuration key (repeatable)")
    return p.parse_args(argv)


def _settings(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"{STANDALONE_MODULE}: -D expects key=value, found {item!r}")
        out[key.strip()] = value.strip()
    return out


def write_cluster_file(path: str, info: dict[str, Any]) -> None:
    """Write ``info`` atomically to ``path`` (readable by this user only)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the cluster until SIGTERM/SIGINT; returns the exit status."""
    args = parse_args(argv)
    config = _settings(args.dynamic)
    host = args.bind_address or config.get("rest.bind-address") or DEFAULT_BIND_ADDRESS
    port = args.port if args.port is not None else int(config.get("rest.port", 8081))
    slots = args.slots or int(config.get("taskmanager.numberOfTaskSlots", 0)) or \
        (os.cpu_count() or 1)
    config.update({"rest.bind-address": host, "rest.port": str(port),
                   "taskmanager.numberOfTaskSlots": str(slots),
                   "taskmanager.count": str(args.taskmanagers)})
    resources = None
    if args.executor == "local":  # TaskManager processes of this machine's mini-cluster
        from strom.cluster.minicluster import local_cluster
        from strom.cluster.resource_manager import heartbeat_timeout_ms

        resources = local_cluster(slots, args.taskmanagers,  # its TaskManagers start now
                                  config.get("taskmanager.start-method"),
                                  heartbeat_timeout_ms(config))
    dispatcher = Dispatcher(args.executor, {k: v for k, v in config.items() if k != "rest.token"},
                            resources=resources, slots=slots * max(1, args.taskmanagers))
    from strom.web import create_app as dashboard  # the web UI in front of the REST API
    try:
        server = RestServer(dashboard(dispatcher, rest_token(config)), host, port).start()
    except ClusterError as exc:  # the port is taken: one line, for `strom cluster start`
        print(f"strom cluster: {exc}", file=sys.stderr, flush=True)
        dispatcher.shutdown()
        return 1
    path = args.cluster_file or cluster_file()
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    address = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    write_cluster_file(path, {"pid": os.getpid(), "address": address, "port": server.port,
                              "bind-address": host, "taskmanagers": args.taskmanagers,
                              "slots": slots, "executor": args.executor,
                              "started": dispatcher.started})
    print(f"strom cluster: dashboard and REST API on {server.url} (pid {os.getpid()}, "
          f"cluster file {path})",
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        dispatcher.shutdown()
        server.stop()
        info = None
        try:
            with open(path, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict) and info.get("pid") == os.getpid():
            os.remove(path)
        print("strom cluster: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
