"""How ``strom run`` reports a failing script: the job's error line, the user's own frames
(function, file and line that raised) and a hint, instead of the chained tracebacks through
strom's internals. ``--verbose`` or ``STROM_DEBUG=1`` prints the full chain as Python would.

A frame is the user's when its file is not inside the strom package, the standard library or
an installed package, and is a real file (not ``<frozen runpy>`` or strom's generated loops).
A failure on a TaskManager process arrives with its traceback as text (``RemoteTraceback``);
its frames are read from that text.
"""
from __future__ import annotations

import os
import re
import sysconfig
import traceback
from dataclasses import dataclass

import strom

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>.+)$')


@dataclass(frozen=True)
class Frame:
    """One frame of a traceback: where it was and the source line it ran."""

    file: str
    line: int
    name: str
    source: str

    def lines(self) -> list[str]:
        out = [f'  File "{self.file}", line {self.line}, in {self.name}']
        if self.source:
            out.append(f"    {self.source}")
        return out


def _internal_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {os.path.dirname(os.path.abspath(strom.__file__))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            roots.add(os.path.abspath(paths[key]))
    return tuple(root + os.sep for root in roots)


_INTERNAL = _internal_roots()


def is_user_file(path: str) -> bool:
    """Whether a traceback's file is the user's (not strom, Python or an installed package).
    ``<dynamic-code>`` is the user's too: a function shipped by value to another process."""
    if path == "<dynamic-code>":
        return True
    if not path or path.startswith("<"):
        return False
    full = os.path.abspath(path)
    return not full.startswith(_INTERNAL) and "site-packages" not in full.split(os.sep)


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and its causes (explicit or implicit), outermost first; loops are cut."""
    out: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out.append(current)
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    return out


def _frames_of_text(text: str) -> list[Frame]:
    """Frames in a traceback printed as text (a TaskManager's, or a cluster's root exception)."""
    frames: list[Frame] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _FRAME.match(line)
        if match is None:
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        source = following.strip() if following.startswith("    ") else ""
        if set(source) <= set("^~ "):  # the column markers under a source line
            source = ""
        frames.append(Frame(match["file"], int(match["line"]), match["name"], source))
    return frames


def _embedded(error: BaseException) -> tuple[str, str]:
    """``error``'s message split into its text and the traceback it carries as text (a
    TaskManager's, a cluster's), ``""`` when it carries none."""
    text = str(error)
    head, sep, tail = text.partition(_TRACEBACK)
    return (head.rstrip(), sep + tail) if sep else (text, "")


_TRACEBACK = "Traceback (most recent call last)"


def frames_of(error: BaseException) -> list[Frame]:
    """The frames of ``error``'s own traceback, then those of a traceback its message carries
    as text (innermost last)."""
    own = [Frame(f.filename, f.lineno or 0, f.name, (f.line or "").strip())
           for f in traceback.extract_tb(error.__traceback__)]
    return own + _frames_of_text(_embedded(error)[1])


def user_frames(error: BaseException, script: str | None = None) -> list[Frame]:
    """The user's frames nearest to where the failure began: those of the innermost exception
    in the chain that has any (the function that raised), else none. A function shipped by
    value (``<dynamic-code>``) is placed in ``script`` when a function of that name there
    spans the line."""
    for exc in reversed(chain(error)):
        mine = [f for f in frames_of(exc) if is_user_file(f.file)]
        if mine:
            return [_locate(f, script) for f in mine]
    return []


def _locate(frame: Frame, script: str | None) -> Frame:
    """``frame`` of ``<dynamic-code>`` as a frame of ``script`` if a function of its name
    there spans its line (the script's functions travel by value to other processes)."""
    if frame.file != "<dynamic-code>" or not script:
        return frame
    import ast
    import linecache

    try:
        with open(script, encoding="utf-8") as f:
            tree = ast.parse(f.read(), script)
    except (OSError, SyntaxError, ValueError):
        return frame
    for node in ast.walk(tree):
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == frame.name
                and node.lineno <= frame.line <= (node.end_lineno or node.lineno)):
            return Frame(script, frame.line, frame.name,
                         linecache.getline(script, frame.line).strip())
    return frame


def error_line(error: BaseException) -> str:
    """The one line that says what failed: strom's own message, else Python's ``Type: text``."""
    from strom.errors import StromError

    if isinstance(error, StromError):
        head, carried = _embedded(error)
        lines = [line for line in carried.splitlines() if line.strip()]
        if lines:  # the carried traceback's last line says what was raised
            head = f"{head.rstrip(':').rstrip()}: {lines[-1].strip()}"
        return head.strip() or type(error).__name__
    return "".join(traceback.format_exception_only(type(error), error)).rstrip()


def _hint(error: BaseException) -> str:
    from strom.errors import (
        CheckpointError,
        InputFormatError,
        JobDefinitionError,
        UserFunctionError,
        find_cause,
    )

    if find_cause(error, UserFunctionError) is not None or "UserFunctionError:" in str(error):
        advice = ("your function raised on the element named above: fix it, or catch the "
                  "error in the function and route bad records to a side output")
    elif find_cause(error, InputFormatError) is not None:
        advice = "the input named above could not be parsed: fix the line or the format"
    elif find_cause(error, CheckpointError) is not None:
        advice = "the checkpoint named above could not be used"
    elif isinstance(error, JobDefinitionError):
        advice = "the job is wrong before it runs: fix the call shown above"
    elif isinstance(error, SyntaxError):
        advice = "the script does not parse: fix the line shown above"
    else:
        advice = "the frames above are where it was raised in your code"
    return f"hint: {advice}; {_VERBOSE}"


_VERBOSE = "--verbose (or STROM_DEBUG=1) prints strom's internal frames too"


def report(error: BaseException, verbose: bool, script: str | None = None) -> str:
    """The text ``strom run`` prints for a failure (without the ``strom run:`` prefix);
    ``script`` is the job script, where functions shipped to other processes came from."""
    if verbose:  # the error line first, then every frame as Python prints them
        return f"{error_line(error)}\n{''.join(traceback.format_exception(error)).rstrip()}"
    lines = [error_line(error)]
    if not isinstance(error, SyntaxError):  # its position is in the error line already
        frames = user_frames(error, script)
        if frames:
            lines.append("in your code (most recent call last):")
            for frame in frames:
                lines.extend(frame.lines())
    lines.append(f"hint: {_VERBOSE}" if "hint:" in lines[0].lower() else _hint(error))
    return "\n".join(lines)


def debugging() -> bool:
    """Whether ``STROM_DEBUG`` asks for full tracebacks (set and not 0/false/no/empty)."""
    return os.environ.get("STROM_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
