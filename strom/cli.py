"""The ``strom`` command line: ``strom run FILE [ARGS...]`` runs a job script;
``strom checkpoints DIR`` lists the checkpoints and savepoints DIR holds.

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
    from strom.compat import article_globals, install_pyflink_alias

    path = args.file
    if not os.path.isfile(path):
        print(f"strom run: no such job script: {path!r}", file=sys.stderr)
        return 2
    install_pyflink_alias()
    sys.argv = [path, *args.args]
    script_dir = os.path.dirname(os.path.abspath(path))
    if script_dir not in sys.path:
        sys.path.insert(0, script_dir)
    init = {} if args.no_compat_globals else article_globals()
    runpy.run_path(path, init_globals=init, run_name="__main__")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strom", description="Flink's DataStream model in pure Python.")
    parser.add_argument("--version", action="version", version=f"strom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a job script (pyflink imports are served by strom)")
    run.add_argument("file", help="the job script")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    run.add_argument("--no-compat-globals", action="store_true",
                     help="do not pre-define the PyFlink names the article uses without importing")
    run.set_defaults(handler=_run)
    ckpts = sub.add_parser("checkpoints", help="list the checkpoints and savepoints a directory holds")
    ckpts.add_argument("dir", help="a checkpoint base dir, a job dir, a savepoint dir or one checkpoint"
                       " (local path, file://, s3://)")
    ckpts.add_argument("--no-verify", action="store_true",
                       help="do not read state files to check them against the manifest")
    ckpts.set_defaults(handler=_checkpoints)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``strom`` command."""
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
