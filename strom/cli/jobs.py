"""The commands on a cluster's jobs, over its REST API (Flink's ``flink list/cancel/savepoint/
stop/info``): ``strom list``, ``strom cancel JOB``, ``strom savepoint JOB [DIR]``, ``strom stop
--savepoint-path DIR [--drain] JOB``, ``strom info JOB``.

The cluster is the one ``-m HOST:PORT`` names, else the running session cluster (its cluster
file), else 127.0.0.1:8081. A job may be given by a unique prefix of its id.
"""
from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from strom.cli._common import (
    FAILED,
    OK,
    JobManagerOption,
    JsonOption,
    TokenOption,
    console,
    format_ms,
    format_time,
    rest_client,
    say,
)

JobArgument = Annotated[str, typer.Argument(metavar="JOB", help="the job's id (or a unique prefix of it)",
                                            show_default=False)]
TimeoutOption = Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                                              help="how long to wait")]
_ENDED = ("FINISHED", "CANCELED", "FAILED")


def _resolve(client: Any, job: str) -> str:
    """The full id of ``job`` (an id or a unique prefix)."""
    from strom.errors import ClusterError, JobNotFoundError

    ids = [j["jid"] for j in client.jobs_overview()]
    if job in ids:
        return job
    matches = [i for i in ids if i.startswith(job)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ClusterError(f"{job!r} is the prefix of {len(matches)} jobs' ids; give more of "
                           "the id")
    raise JobNotFoundError(f"no job {job!r} on the cluster at {client.endpoint.url}; hint: "
                           "`strom list --all` shows every job")


def _call(command: str, fn: Any) -> int:
    """Run ``fn()``; a ``ClusterError`` becomes one line on stderr and exit status 1."""
    from strom.errors import ClusterError

    try:
        return fn()
    except (ClusterError, TimeoutError) as exc:
        say(command, str(exc))
        return FAILED


def list_jobs(
    all_jobs: Annotated[bool, typer.Option("-a", "--all",
                                           help="also jobs that ended")] = False,
    jobmanager: JobManagerOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> int:
    """List the cluster's running jobs (--all: every job)."""
    def go() -> int:
        jobs = rest_client(jobmanager, token).jobs_overview()
        if not all_jobs:
            jobs = [j for j in jobs if j["state"] not in _ENDED]
        if as_json:
            print(json.dumps(jobs, indent=2))
            return OK
        if not jobs:
            print("No running jobs." if not all_jobs else "No jobs.")
            return OK
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("JOB ID", "NAME", "STATE", "START", "DURATION", "TASKS"):
            table.add_column(column, no_wrap=column != "NAME")
        for j in jobs:
            tasks = j["tasks"]
            table.add_row(j["jid"], j["name"], j["state"], format_time(j["start-time"]),
                          format_ms(j["duration"]),
                          f"{tasks['running']}/{tasks['total']} running")
        console().print(table)
        return OK

    return _call("list", go)


def cancel(job: JobArgument, jobmanager: JobManagerOption = None, token: TokenOption = None,
           timeout: TimeoutOption = 30.0) -> int:
    """Cancel a job and wait until it is cancelled."""
    def go() -> int:
        client = rest_client(jobmanager, token)
        jid = _resolve(client, job)
        client.cancel(jid)
        deadline = time.monotonic() + timeout
        while (state := client.job(jid)["state"]) not in _ENDED:
            if time.monotonic() > deadline:
                say("cancel", f"job {jid} is still {state} after {timeout:g} s; it was asked "
                              "to cancel")
                return FAILED
            time.sleep(0.1)
        if state != "CANCELED":
            say("cancel", f"job {jid} had already ended: {state}")
            return FAILED
        print(f"Cancelled job {jid}.")
        return OK

    return _call("cancel", go)


def savepoint(
    job: JobArgument,
    target_directory: Annotated[str | None, typer.Argument(
        metavar="DIR",
        help="where to write the savepoint (default: the job's "
             "execution.checkpointing.savepoint-dir)", show_default=False)] = None,
    jobmanager: JobManagerOption = None, token: TokenOption = None,
    timeout: TimeoutOption = 120.0,
) -> int:
    """Take a savepoint of a running job and print its path."""
    def go() -> int:
        client = rest_client(jobmanager, token)
        jid = _resolve(client, job)
        say("savepoint", f"triggering a savepoint of job {jid}")
        request = client.trigger_savepoint(jid, _absolute(target_directory))
        path = client.wait_savepoint(jid, request, timeout)
        print(f"Savepoint completed. Path: {path}")
        return OK

    return _call("savepoint", go)


def stop(
    job: JobArgument,
    savepoint_path: Annotated[str | None, typer.Option(
        "-p", "--savepoint-path", "--savepointPath", metavar="DIR",
        help="where to write the savepoint (default: the job's "
             "execution.checkpointing.savepoint-dir)")] = None,
    drain: Annotated[bool, typer.Option(
        "-d", "--drain", help="emit MAX_WATERMARK first, so every event-time window and "
                              "timer fires before the job stops")] = False,
    jobmanager: JobManagerOption = None, token: TokenOption = None,
    timeout: TimeoutOption = 120.0,
) -> int:
    """Stop a job with a savepoint (it ends FINISHED) and print the savepoint's path."""
    def go() -> int:
        client = rest_client(jobmanager, token)
        jid = _resolve(client, job)
        say("stop", f"stopping job {jid} with a savepoint")
        request = client.stop(jid, _absolute(savepoint_path), drain)
        path = client.wait_savepoint(jid, request, timeout)
        print(f"Savepoint completed. Path: {path}")
        return OK

    return _call("stop", go)


def _absolute(path: str | None) -> str | None:
    """A local directory made absolute (the cluster's working directory is not ours)."""
    import os

    if path is None or "://" in path:
        return path
    return os.path.abspath(os.path.expanduser(path))


def info(job: JobArgument, jobmanager: JobManagerOption = None, token: TokenOption = None,
         as_json: JsonOption = False) -> int:
    """Show a job: state, times, vertices with their records, checkpoints, failure."""
    def go() -> int:
        client = rest_client(jobmanager, token)
        jid = _resolve(client, job)
        details = client.job(jid)
        ckpts = client.checkpoints(jid)
        failure = client.exceptions(jid) if details["state"] == "FAILED" else None
        if as_json:
            print(json.dumps({"job": details, "checkpoints": ckpts, "exceptions": failure},
                             indent=2))
            return OK
        _print_info(details, ckpts, failure)
        return OK

    return _call("info", go)


def _print_info(details: dict[str, Any], ckpts: dict[str, Any],
                failure: dict[str, Any] | None) -> None:
    from rich.table import Table

    out = console()
    out.print(f"[bold]{details['name']}[/bold]  {details['jid']}")
    out.print(f"state {details['state']}, started {format_time(details['start-time'])}, "
              f"running for {format_ms(details['duration'])}")
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("VERTEX", "PARALLELISM", "STATUS", "RECORDS IN", "RECORDS OUT"):
        table.add_column(column, justify="right" if column[0] in "PR" else "left")
    for v in details["vertices"]:
        m = v["metrics"]
        table.add_row(v["name"], str(v["parallelism"]), v["status"],
                      f"{m['read-records']:,}", f"{m['write-records']:,}")
    out.print(table)
    counts = ckpts["counts"]
    latest = ckpts["latest"]["completed"]
    line = f"checkpoints: {counts['completed']} completed, {counts['failed']} failed"
    if latest:
        line += f"; latest {latest['id']} at {latest['external_path']}"
    out.print(line)
    if failure and failure.get("root-exception"):
        out.print("failure:", markup=False)
        out.print(failure["root-exception"], markup=False)
