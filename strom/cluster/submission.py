"""A job as it travels to a session cluster: the job graph, the executor's configuration and the
job parameters, cloudpickled into one payload (``POST /jobs``).

User functions ship by value with cloudpickle (functions and classes of the job script are
pickled with their code, modules installed on both sides by reference). When something in the
job cannot be pickled, :func:`pack` fails before anything is sent and names the operator, the
user function and the object inside it that could not be pickled.

The payload is code: the cluster runs what it unpickles. The submission endpoint is for
``strom run -d`` and other trusted clients only (the REST API binds to loopback by default and
takes a bearer token, ``rest.token``).
"""
from __future__ import annotations

import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from strom.errors import JobDefinitionError, describe

CONTENT_TYPE = "application/x-strom-submission"
"""The media type of a cloudpickled :class:`JobSubmission` (the body of ``POST /jobs``)."""


@dataclass
class JobSubmission:
    """What the cluster needs to run a job.

    Attributes:
        job_name: the job's name (also the graph's).
        graph: the ``JobGraph`` (plain data plus the user functions).
        config: the executor configuration ``env._executor().config`` built (checkpointing,
            restart strategy, state backend, buffer timeout, every configuration key).
        job_parameters: the global job parameters (``ExecutionConfig``).
        clock: the processing-time clock; None on the cluster means its system clock.
    """

    job_name: str
    graph: Any
    config: dict[str, Any] = field(default_factory=dict)
    job_parameters: dict[str, str] | None = None
    clock: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # the configuration is unpickled first: its python_dependencies entry makes the modules
        # of add_python_file importable before the graph's functions need them
        state = dict(vars(self))
        return {"config": state.pop("config"), **state}


def pack(submission: JobSubmission) -> bytes:
    """The submission as bytes for ``POST /jobs``; raises ``JobDefinitionError`` naming the
    operator, function and object that cannot be pickled."""
    try:
        return cloudpickle.dumps(submission, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # PicklingError, TypeError ("cannot pickle '_thread.lock'"), ...
        raise JobDefinitionError(_unpicklable_message(submission, exc)) from exc


def ship_local_modules(directory: str) -> list[str]:
    """Pickle the functions of modules imported from ``directory`` (the job script's own
    modules, not installed packages nor strom) by value, so the cluster needs no copy of them;
    returns their names. A module counts when the ``sys.path`` entry it was found under is
    ``directory`` itself (the longest entry containing its file)."""
    import os
    import sys

    root = os.path.abspath(directory)
    entries = sorted({os.path.abspath(p or os.curdir) for p in sys.path}, key=len, reverse=True)
    shipped = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or name == "__main__" or name.split(".")[0] == "strom":
            continue
        path = os.path.abspath(path)
        entry = next((e for e in entries if path.startswith(e + os.sep)), None)
        if entry != root:
            continue
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:  # not importable by name (already by value, or a sub-module)
            continue
        shipped.append(name)
    return shipped


def unpack(payload: bytes) -> JobSubmission:
    """The submission in a ``POST /jobs`` body; ``ValueError`` if it is not one."""
    try:
        submission = cloudpickle.loads(payload)
    except ImportError as exc:  # ModuleNotFoundError too: a module the cluster does not have
        raise ValueError(f"the job refers to module {exc.name or str(exc)!r}, which the cluster "
                         f"cannot import ({exc}); hint: install it where the cluster runs, or "
                         "keep it next to the job script (strom run -d ships those modules "
                         "with the job)") from exc
    except Exception as exc:  # any other unpickling error: the body is not a submission
        raise ValueError(f"the body is not a cloudpickled job submission ({type(exc).__name__}: "
                         f"{exc}); hint: submit with `strom run -d` or "
                         "strom.cluster.submission.pack") from exc
    if not isinstance(submission, JobSubmission):
        raise ValueError(f"the body unpickles to {describe(submission, 80)}, not a "
                         "JobSubmission; hint: submit with `strom run -d`")
    return submission


def _unpicklable_message(submission: JobSubmission, exc: BaseException) -> str:
    job = f"job '{submission.job_name}'"
    graph = submission.graph
    for node in getattr(graph, "nodes", {}).values():
        for attr in ("operator_factory", "key_selector", "partitioner"):
            value = getattr(node, attr, None)
            if value is None or _picklable(value):
                continue
            where, culprit, error = _culprit(value, attr)
            return (f"{job} cannot be submitted: operator '{node.name}' cannot be pickled to ship "
                    f"it to the cluster: {where} holds {describe(culprit, 80)} "
                    f"({type(culprit).__name__}), which cannot be pickled: {error}. Hint: create "
                    "such objects (connections, locks, open files, clients) in the function's "
                    "open() instead of capturing them, or make them module-level in an "
                    "installed module")
    for key, value in submission.config.items():
        if not _picklable(value):
            return (f"{job} cannot be submitted: its configuration entry {key!r} "
                    f"({describe(value, 80)}) cannot be pickled: {exc}")
    return f"{job} cannot be submitted: it cannot be pickled: {type(exc).__name__}: {exc}"


def _picklable(value: Any) -> bool:
    try:
        cloudpickle.dumps(value)
    except Exception:  # any error means "not picklable"; the caller digs for the reason
        return False
    return True


def _culprit(value: Any, where: str, depth: int = 0,
             seen: set[int] | None = None) -> tuple[str, Any, str]:
    """The innermost part of ``value`` that does not pickle: (path to it, it, the error)."""
    seen = set() if seen is None else seen
    seen.add(id(value))
    if depth < 8:
        for name, child in _children(value):
            if id(child) in seen or _picklable(child):
                continue
            label = _label(child, name)
            return _culprit(child, f"{where} -> {label}" if depth else label, depth + 1, seen)
    try:
        cloudpickle.dumps(value)
        error = "unknown error"
    except Exception as exc:  # the error text is what we report
        error = f"{type(exc).__name__}: {exc}"
    return where, value, error


def _label(child: Any, name: str) -> str:
    """How a part is named in the message: a user function with its file and line."""
    if inspect.isfunction(child) or inspect.ismethod(child):
        fn = getattr(child, "__func__", child)
        code = fn.__code__
        return f"function {fn.__qualname__} ({code.co_filename}:{code.co_firstlineno})"
    if not isinstance(child, (str, bytes, int, float, list, tuple, dict, set)) and \
            hasattr(child, "__dict__") and type(child).__module__ not in ("builtins",):
        return f"{name} ({type(child).__qualname__} object)"
    return name


def _children(value: Any) -> list[tuple[str, Any]]:
    """The parts a pickle of ``value`` would include, named for a message."""
    out: list[tuple[str, Any]] = []
    if inspect.ismethod(value):
        return [("self", value.__self__), ("function", value.__func__)]
    if inspect.isfunction(value):
        code = value.__code__
        for name, cell in zip(code.co_freevars, value.__closure__ or ()):
            try:
                out.append((name, cell.cell_contents))
            except ValueError:  # an empty cell
                continue
        for name in code.co_names:
            if name in value.__globals__:
                out.append((f"global {name}", value.__globals__[name]))
        out.extend((f"default {i}", d) for i, d in enumerate(value.__defaults__ or ()))
        return out
    if isinstance(value, dict):
        return [(f"[{describe(k, 40)}]", v) for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict):
        out.extend((f"attribute {k}", v) for k, v in state.items())
    for slot in getattr(type(value), "__slots__", ()) or ():
        if isinstance(slot, str) and hasattr(value, slot):
            out.append((f"attribute {slot}", getattr(value, slot)))
    return out
