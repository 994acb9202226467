"""The ``strom`` command line: ``strom run FILE [ARGS...]`` runs a job script;
``strom checkpoints DIR`` lists the checkpoints and savepoints DIR holds; ``strom demo`` runs
the log-analytics demo live on the embedded runtime (``strom.demo.cli``); ``strom alias
install`` / ``strom alias uninstall`` make ``import pyflink`` resolve to strom in every interpreter
of the current environment (``python job.py``, pytest), unless PyFlink itself is installed
(``strom.compat.site_alias``).

``strom run -s PATH [--allow-non-restored-state] [-D key=value ...] FILE`` restores the job from
a savepoint or retained checkpoint (Flink's ``flink run -s``); ``-D`` sets any configuration key.
The script creates its own environment, so these become the defaults every environment starts
from (``strom.api.environment.DEFAULT_CONFIGURATION``).

``import pyflink...`` inside the script is served by strom when PyFlink itself is not
installed, so PyFlink DataStream jobs run unchanged.

Example::

    strom run examples/streaming_example.py
    python -m strom run job.py --input data.txt
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys

from strom import __version__


def _run(args: argparse.Namespace) -> int:
    from strom.api.environment import set_default_configuration
    from strom.compat import article_globals, install_pyflink_alias
    from strom.errors import CheckpointError

    path = args.file
    if not os.path.isfile(path):
        print(f"strom run: no such job script: {path!r}", file=sys.stderr)
        return 2
    settings: dict[str, str] = {}
    for item in args.dynamic:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            print(f"strom run: -D expects key=value, found {item!r}; e.g. -D "
                  "parallelism.default=4", file=sys.stderr)
            return 2
        settings[key.strip()] = value.strip()
    if args.from_savepoint:
        try:
            settings["execution.state-recovery.path"] = _restore_path(args.from_savepoint)
        except CheckpointError as exc:
            print(f"strom run: {exc}", file=sys.stderr)
            return 2
    if args.allow_non_restored_state:
        settings["execution.state-recovery.ignore-unclaimed-state"] = "true"
    set_default_configuration(settings)
    install_pyflink_alias()
    sys.argv = [path, *args.args]
    script_dir = os.path.dirname(os.path.abspath(path))
    if script_dir not in sys.path:
        sys.path.insert(0, script_dir)
    init = {} if args.no_compat_globals else article_globals()
    try:
        runpy.run_path(path, init_globals=init, run_name="__main__")
    except Exception as exc:
        restore = _restore_failure(exc) if args.from_savepoint else None
        if restore is None:
            raise
        where = settings["execution.state-recovery.path"]
        text = str(restore) if where in str(restore) else f"restore from {where}: {restore}"
        print(f"strom run: {text}", file=sys.stderr)
        return 1
    finally:
        set_default_configuration(None)
    return 0


def _restore_path(path: str) -> str:
    """The checkpoint ``-s PATH`` means; says on stderr which one and what it skipped."""
    from strom.checkpoint.listing import resolve_restore_path

    loaded, skipped = resolve_restore_path(path)
    if loaded.path.rstrip("/") != path.rstrip("/") and not path.rstrip("/").endswith("_metadata"):
        print(f"strom run: restoring from {loaded.path} (checkpoint {loaded.checkpoint_id}, the "
              f"newest complete one under {path})", file=sys.stderr)
    else:
        print(f"strom run: restoring from {loaded.path}", file=sys.stderr)
    for reason in skipped:
        print(f"strom run: skipped {reason}", file=sys.stderr)
    return loaded.path


def _restore_failure(exc: BaseException) -> BaseException | None:
    """The checkpoint error behind a job failure (state that does not fit the job), if any."""
    from strom.errors import CheckpointError, find_cause

    return find_cause(exc, CheckpointError)


def _checkpoints(args: argparse.Namespace) -> int:
    from strom.checkpoint.listing import format_table, list_checkpoints
    from strom.errors import CheckpointError

    try:
        infos = list_checkpoints(args.dir, verify=not args.no_verify)
    except CheckpointError as exc:
        print(f"strom checkpoints: {exc}", file=sys.stderr)
        return 2
    if not infos:
        print(f"strom checkpoints: no checkpoints or savepoints in {args.dir!r}", file=sys.stderr)
        return 1
    print(format_table(infos), end="")
    return 0


def _alias(args: argparse.Namespace) -> int:
    from strom.compat import site_alias
    from strom.compat.pyflink_alias import pyflink_installed

    if args.action == "install":
        pth = site_alias.install(args.site_dir)
        print(f"strom alias: wrote {pth}; `import pyflink` now resolves to strom in this "
              "environment (undo with `strom alias uninstall`)")
        if pyflink_installed():
            print("strom alias: PyFlink itself is installed here, so it is used instead; the "
                  "alias applies only while PyFlink is absent", file=sys.stderr)
        return 0
    pth = site_alias.uninstall(args.site_dir)
    if pth is None:
        where = args.site_dir or site_alias.site_packages()
        print(f"strom alias: no {site_alias.PTH_NAME} in {where}; nothing to remove",
              file=sys.stderr)
        return 1
    print(f"strom alias: removed {pth}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strom", description="Flink's DataStream model in pure Python.")
    parser.add_argument("--version", action="version", version=f"strom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a job script (pyflink imports are served by strom)")
    run.add_argument("file", help="the job script")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    run.add_argument("--no-compat-globals", action="store_true",
                     help="do not pre-define the PyFlink names the article uses without importing")
    run.add_argument("-s", "--from-savepoint", metavar="PATH",
                     help="restore the job's state from a savepoint or retained checkpoint: a "
                          "savepoint or chk-<n> directory, its _metadata file, or a directory of "
                          "retained checkpoints (then the newest complete one that verifies)")
    run.add_argument("-n", "--allow-non-restored-state", action="store_true",
                     help="with -s: drop the state of operators the job no longer has instead "
                          "of failing")
    run.add_argument("-D", dest="dynamic", action="append", default=[], metavar="KEY=VALUE",
                     help="set a configuration key for every environment the script creates "
                          "(repeatable), e.g. -D parallelism.default=4")
    run.set_defaults(handler=_run)
    ckpts = sub.add_parser("checkpoints", help="list the checkpoints and savepoints a directory holds")
    ckpts.add_argument("dir", help="a checkpoint base dir, a job dir, a savepoint dir or one checkpoint"
                       " (local path, file://, s3://)")
    ckpts.add_argument("--no-verify", action="store_true",
                       help="do not read state files to check them against the manifest")
    ckpts.set_defaults(handler=_checkpoints)
    alias = sub.add_parser("alias", help="make `import pyflink` resolve to strom in this "
                                         "environment (python job.py, pytest), unless PyFlink "
                                         "is installed")
    alias.add_argument("action", choices=["install", "uninstall"],
                       help="write or remove the strom_pyflink_alias.pth file")
    alias.add_argument("--site-dir", metavar="DIR",
                       help="the site directory to write to (default: this environment's "
                            "site-packages)")
    alias.set_defaults(handler=_alias)
    demo = sub.add_parser("demo", help="run the log-analytics demo live on the embedded runtime",
                          description="Generated web-server logs through a streaming pipeline "
                                      "(alerts, per-user and per-session metrics, dead letters, "
                                      "late events), shown live or as JSON lines.")
    _demo_cli().add_arguments(demo)
    demo.set_defaults(handler=lambda args: _demo_cli().run(args))
    return parser


def _demo_cli():  # noqa: ANN202 - a module
    """``strom.demo.cli``, imported when the parser is built (it imports little itself)."""
    from strom.demo import cli

    return cli


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``strom`` command."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
