"""The ``strom`` command line (typer + rich), one module per command group.

::

    strom run [-s PATH] [-n] [-D key=value]... [-d | --web] [-v] FILE [SCRIPT ARGS...]
                                      run a job script (run.py, _failure.py, _progress.py)
    strom list [--all] | cancel JOB | savepoint JOB [DIR] | stop [-p DIR] [--drain] JOB
          | info JOB                                   jobs on a cluster, over REST (jobs.py)
    strom cluster start [--taskmanagers N] [--slots S] | stop | status            (cluster.py)
    strom checkpoints DIR | alias install|uninstall | demo [...]                  (tools.py)

Exit status: 0 done, 1 the operation failed, 2 the command line is wrong, 130 interrupted
(``strom.cli._common``). ``strom --help`` and ``strom COMMAND --help`` describe every option.

Example::

    strom run examples/streaming_example.py
    python -m strom run job.py --input data.txt
    strom cluster start && strom run -d job.py && strom list
"""
from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
import typer.core

from strom import __version__
from strom.cli import cluster, jobs, run, tools

app = typer.Typer(name="strom", help="Flink's DataStream model in pure Python.",
                  no_args_is_help=True, add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        print(f"strom {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="print the version and exit")] = False
          ) -> None:
    """Flink's DataStream model in pure Python."""


app.command("run", context_settings=run.CONTEXT)(run.run)
app.command("list")(jobs.list_jobs)
app.command("cancel")(jobs.cancel)
app.command("savepoint")(jobs.savepoint)
app.command("stop")(jobs.stop)
app.command("info")(jobs.info)
app.add_typer(cluster.app, name="cluster")
app.command("checkpoints")(tools.checkpoints)
app.command("alias")(tools.alias)
app.command("demo", context_settings=tools.DEMO_CONTEXT, add_help_option=False)(tools.demo)


def _click() -> object:
    """The click typer runs on (typer >= 0.25 vendors its own copy as ``typer._click``)."""
    return getattr(typer.core, "_click", None) or importlib.import_module("click")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``strom`` command: runs it and returns its exit status."""
    click = _click()
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="strom", standalone_mode=False)
    except click.ClickException as exc:  # a malformed command line
        exc.show()
        return exc.exit_code
    except (getattr(click.exceptions, "Abort", typer.Abort), typer.Abort):  # Ctrl-C
        print("strom: interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


__all__ = ["app", "main"]


if __name__ == "__main__":
    sys.exit(main())
