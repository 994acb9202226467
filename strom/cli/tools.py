"""``strom checkpoints DIR``, ``strom alias install|uninstall`` and ``strom demo``: the commands
that work on files and this environment rather than on jobs.

``strom demo`` keeps its own argparse options (``strom.demo.cli``): every argument after
``demo`` is handed to them, ``strom demo --help`` included.
"""
from __future__ import annotations

import argparse
import enum
from typing import Annotated

import typer

from strom.cli._common import FAILED, OK, USAGE, say


def checkpoints(
    dir: Annotated[str, typer.Argument(
        metavar="DIR",
        help="a checkpoint base dir, a job dir, a savepoint dir or one checkpoint (local path, "
             "file://, s3://)", show_default=False)],
    no_verify: Annotated[bool, typer.Option(
        "--no-verify", help="do not read state files to check them against the "
                            "manifest")] = False,
) -> int:
    """List the checkpoints and savepoints a directory holds."""
    from strom.checkpoint.listing import format_table, list_checkpoints
    from strom.errors import CheckpointError

    try:
        infos = list_checkpoints(dir, verify=not no_verify)
    except CheckpointError as exc:
        say("checkpoints", str(exc))
        return USAGE
    if not infos:
        say("checkpoints", f"no checkpoints or savepoints in {dir!r}")
        return FAILED
    print(format_table(infos), end="")
    return OK


class AliasAction(enum.StrEnum):
    """What ``strom alias`` does."""

    install = "install"
    uninstall = "uninstall"


def alias(
    action: Annotated[AliasAction, typer.Argument(
        metavar="ACTION",
        help="write or remove the strom_pyflink_alias.pth file", show_default=False)],
    site_dir: Annotated[str | None, typer.Option(
        "--site-dir", metavar="DIR",
        help="the site directory to write to (default: this environment's "
             "site-packages)")] = None,
) -> int:
    """Make `import pyflink` resolve to strom here (python job.py, pytest) unless PyFlink is installed."""
    import sys

    from strom.compat import site_alias
    from strom.compat.pyflink_alias import pyflink_installed

    if action is AliasAction.install:
        pth = site_alias.install(site_dir)
        print(f"strom alias: wrote {pth}; `import pyflink` now resolves to strom in this "
              "environment (undo with `strom alias uninstall`)")
        if pyflink_installed():
            print("strom alias: PyFlink itself is installed here, so it is used instead; the "
                  "alias applies only while PyFlink is absent", file=sys.stderr)
        return OK
    pth = site_alias.uninstall(site_dir)
    if pth is None:
        where = site_dir or site_alias.site_packages()
        say("alias", f"no {site_alias.PTH_NAME} in {where}; nothing to remove")
        return FAILED
    print(f"strom alias: removed {pth}")
    return OK


DEMO_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True,
                "help_option_names": []}


def demo_parser() -> argparse.ArgumentParser:
    """The options of ``strom demo`` (``strom.demo.cli.add_arguments``)."""
    from strom.demo import cli

    parser = argparse.ArgumentParser(
        prog="strom demo",
        description="Generated web-server logs through a streaming pipeline (alerts, per-user "
                    "and per-session metrics, dead letters, late events), shown live or as "
                    "JSON lines.")
    cli.add_arguments(parser)
    return parser


def demo(ctx: typer.Context) -> int:
    """Run the log-analytics demo live on the embedded runtime (see strom demo --help)."""
    from strom.demo import cli

    return cli.run(demo_parser().parse_args(list(ctx.args)))
