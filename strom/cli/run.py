"""``strom run [OPTIONS] FILE [SCRIPT ARGS...]``: run a job script.

The script creates its own environment, so the options become the defaults every environment
of the script starts from (``strom.api.environment.DEFAULT_CONFIGURATION``): ``-D key=value``
sets any key, ``-s``/``--from-savepoint`` restores from a savepoint or retained checkpoint
(Flink's ``flink run -s``), ``-n`` drops state the job no longer has. The arguments after FILE
belong to the script (``strom run job.py --input x`` passes ``--input x`` on); one of strom
run's own options there is refused with a hint, unless it follows ``--``.

A failure prints the job's error line, the user's own frames and a hint (``strom.cli._failure``;
``-v``/``--verbose`` or ``STROM_DEBUG=1`` print everything). Ctrl-C cancels the job (its
``close()`` methods run), says so in one line and exits with 130. On a terminal a bounded job
shows its progress (``strom.cli._progress``).

``-d``/``--detached`` submits the script's jobs to the session cluster (``strom cluster
start``) and prints their ids (``execution.target: remote``, ``execution.attached: false``).
``--web`` serves the web dashboard and the REST API (``rest.port``, default 8081, on
``rest.bind-address``, default 127.0.0.1) on this process while the script's jobs run on the
embedded runtime.

``import pyflink...`` inside the script is served by strom when PyFlink itself is not
installed, so PyFlink DataStream jobs run unchanged.
"""
from __future__ import annotations

import os
import runpy
import sys
from typing import Annotated, Any

import typer

from strom.cli._common import FAILED, INTERRUPTED, OK, USAGE, parse_settings, say
from strom.cli._failure import debugging, report
from strom.cli._progress import show_progress

CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True,
           "allow_interspersed_args": False}


def run(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="the job script",
                                        show_default=False)],
    script_args: Annotated[list[str] | None, typer.Argument(
        metavar="SCRIPT ARGS", show_default=False,
        help="arguments for the script (its sys.argv[1:]); strom's own options go before "
             "FILE, and anything after -- goes to the script as it is")] = None,
    from_savepoint: Annotated[str | None, typer.Option(
        "-s", "--from-savepoint", metavar="PATH",
        help="restore the job's state from a savepoint or retained checkpoint: a savepoint or "
             "chk-<n> directory, its _metadata file, or a directory of retained checkpoints "
             "(then the newest complete one that verifies)")] = None,
    allow_non_restored_state: Annotated[bool, typer.Option(
        "-n", "--allow-non-restored-state",
        help="with -s: drop the state of operators the job no longer has instead of "
             "failing")] = False,
    dynamic: Annotated[list[str] | None, typer.Option(
        "-D", metavar="KEY=VALUE",
        help="set a configuration key for every environment the script creates (repeatable), "
             "e.g. -D parallelism.default=4")] = None,
    detached: Annotated[bool, typer.Option(
        "-d", "--detached",
        help="submit the script's jobs to the session cluster and return once submitted "
             "(prints each job id)")] = False,
    web: Annotated[bool, typer.Option(
        "--web", help="serve the web dashboard and the REST API (rest.port, default 8081) "
                      "while the script's jobs run here")] = False,
    no_compat_globals: Annotated[bool, typer.Option(
        "--no-compat-globals",
        help="do not pre-define the PyFlink names some published examples use without "
             "importing them")] = False,
    verbose: Annotated[bool, typer.Option(
        "-v", "--verbose", help="on failure, print the full traceback including strom's "
                                "internal frames (also STROM_DEBUG=1)")] = False,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", show_default=False,
        help="show records processed and their rate while a bounded job runs (default: on "
             "when stderr is a terminal)")] = None,
) -> int:
    """Run a job script (pyflink imports are served by strom)."""
    args = _script_args([*(script_args or []), *ctx.args])
    if args is None:
        return USAGE
    if not os.path.isfile(file):
        say("run", f"no such job script: {file!r}; hint: strom run [OPTIONS] FILE "
                   "[SCRIPT ARGS]...")
        return USAGE
    settings = parse_settings("run", dynamic)
    if settings is None:
        return USAGE
    if detached and web:
        say("run", "-d submits the jobs to the session cluster, --web serves the jobs run "
                   "here: choose one")
        return USAGE
    if from_savepoint:
        from strom.errors import CheckpointError

        try:
            settings["execution.state-recovery.path"] = _restore_path(from_savepoint)
        except CheckpointError as exc:
            say("run", str(exc))
            return USAGE
    if allow_non_restored_state:
        settings["execution.state-recovery.ignore-unclaimed-state"] = "true"
    if detached:
        settings["execution.target"] = "remote"
        settings["execution.attached"] = "false"
    server = _serve(settings) if web else None
    if web and server is None:
        return FAILED
    try:
        return _run_script(file, args, settings, bool(from_savepoint), no_compat_globals,
                           verbose or debugging(), progress)
    finally:
        if server is not None:
            server[0].stop_listening()
            server[1].stop()


def _script_args(args: list[str]) -> list[str] | None:
    """The script's arguments: an option of ``strom run`` among them is refused (None, after
    saying where it belongs) rather than silently passed on; after ``--`` all pass as they are."""
    if "--" in args:
        cut = args.index("--")
        head, tail = args[:cut], args[cut + 1:]
    else:
        head, tail = args, []
    for arg in head:
        name = arg.split("=", 1)[0]
        if name in _OWN_OPTIONS or (name.startswith("-D") and len(name) > 2 and name[1] == "D"):
            say("run", f"{arg} comes after the script's name, so it would go to the script, "
                       "but it is an option of strom run; put it before FILE (strom run "
                       f"{arg} ... FILE), or after -- to pass it to the script (strom run FILE "
                       f"-- {arg} ...)")
            return None
    return head + tail


_OWN_OPTIONS = frozenset({"-s", "--from-savepoint", "-n", "--allow-non-restored-state", "-D",
                          "-d", "--detached", "--web", "--no-compat-globals", "-v", "--verbose",
                          "--progress", "--no-progress"})


def _run_script(path: str, args: list[str], settings: dict[str, str], restoring: bool,
                no_compat_globals: bool, verbose: bool = False,
                progress: bool | None = None) -> int:
    from strom.api.environment import set_default_configuration
    from strom.compat import article_globals, install_pyflink_alias
    from strom.errors import ClusterError, JobDefinitionError
    from strom.runtime.job import add_job_listener, remove_job_listener

    set_default_configuration(settings)
    install_pyflink_alias()
    sys.argv = [path, *args]
    script_dir = os.path.dirname(os.path.abspath(path))
    if script_dir not in sys.path:
        sys.path.insert(0, script_dir)
    init = {} if no_compat_globals else article_globals()
    remote = settings.get("execution.target") == "remote"
    target = settings.get("execution.target") or os.environ.get("STROM_EXECUTION_TARGET")
    if target in (None, "", "local"):  # a parallel job may come: its TaskManagers' zygote
        from strom.cluster.minicluster import local_cluster  # imports while the script does

        local_cluster()
    started: list[Any] = []  # the jobs the script starts, to say what Ctrl-C interrupted

    def on_start(control: Any, graph: Any, executor: Any) -> None:
        started.append(control)

    add_job_listener(on_start)
    try:
        with show_progress(progress):
            runpy.run_path(path, init_globals=init, run_name="__main__")
    except KeyboardInterrupt:  # the runtime has cancelled the job and run close() by now
        cut = [c for c in started if getattr(c.status, "name", "") != "FINISHED"]
        say("run", f"Ctrl-C: the job '{cut[-1].job_name}' was cancelled" if cut
            else "Ctrl-C: interrupted (no job was running)")
        return INTERRUPTED
    except ClusterError as exc:
        say("run", str(exc))
        return FAILED
    except JobDefinitionError as exc:
        if not remote or "cannot be submitted" not in str(exc):
            say("run", report(exc, verbose, path))
            return FAILED
        say("run", str(exc))
        return FAILED
    except Exception as exc:
        restore = _restore_failure(exc) if restoring else None
        if restore is None:
            say("run", report(exc, verbose, path))
            return FAILED
        where = settings["execution.state-recovery.path"]
        text = str(restore) if where in str(restore) else f"restore from {where}: {restore}"
        say("run", text)
        return FAILED
    finally:
        remove_job_listener(on_start)
        set_default_configuration(None)
    return OK


def _serve(settings: dict[str, str]) -> tuple[Any, Any] | None:
    """A dispatcher listening for this process's jobs and the REST API over it."""
    from strom.cluster.dispatcher import Dispatcher
    from strom.cluster.rest import DEFAULT_BIND_ADDRESS, RestServer, rest_token
    from strom.errors import ClusterError
    from strom.web import create_app

    host = settings.get("rest.bind-address") or DEFAULT_BIND_ADDRESS
    try:
        port = int(settings.get("rest.port", "8081"))
    except ValueError:
        say("run", f"rest.port must be a port number, got {settings['rest.port']!r}")
        return None
    dispatcher = Dispatcher("inline", {k: v for k, v in settings.items() if k != "rest.token"})
    try:
        server = RestServer(create_app(dispatcher, rest_token(settings)), host, port).start()
    except ClusterError as exc:
        say("run", str(exc))
        return None
    dispatcher.listen()
    say("run", f"dashboard and REST API on {server.url} (e.g. {server.url}/jobs/overview) "
               "while the script runs")
    return dispatcher, server


def _restore_path(path: str) -> str:
    """The checkpoint ``-s PATH`` means; says on stderr which one and what it skipped."""
    from strom.checkpoint.listing import resolve_restore_path

    loaded, skipped = resolve_restore_path(path)
    if loaded.path.rstrip("/") != path.rstrip("/") and not path.rstrip("/").endswith("_metadata"):
        say("run", f"restoring from {loaded.path} (checkpoint {loaded.checkpoint_id}, the "
                   f"newest complete one under {path})")
    else:
        say("run", f"restoring from {loaded.path}")
    for reason in skipped:
        say("run", f"skipped {reason}")
    return loaded.path


def _restore_failure(exc: BaseException) -> BaseException | None:
    """The checkpoint error behind a job failure (state that does not fit the job), if any."""
    from strom.errors import CheckpointError, find_cause

    return find_cause(exc, CheckpointError)
