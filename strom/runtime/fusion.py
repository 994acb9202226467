"""Fusing runs of chained stateless operators into one generated function.

A chain ``map -> map -> filter -> sink`` costs a Python call per operator per record when each
operator calls the next. Map and filter operators without a key expose a *step*; a run of such
steps followed by any target is compiled once, at task start, into a single function whose body
calls the user functions in sequence (Quix Streams composes closures the same way). Each step
keeps its own ``try`` block, so an error still names the operator whose function raised.

Example of generated code for ``map(f0).filter(p1)`` feeding ``tail``::

    def fused(value, ts):
        try:
            value = f0(value)
        except Exception as exc:
            raise fail0(exc, value) from exc
        try:
            keep = p1(value)
        except Exception as exc:
            raise fail1(exc, value) from exc
        if not keep:
            return
        tail(value, ts)
"""
from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from strom.errors import StromError

TERMINAL = ("sink", "sink_ctx", "inline")


@dataclass(frozen=True, slots=True)
class Step:
    """One fused piece of work on a record.

    Kinds: ``map`` (``value = fn(value)``), ``filter`` (drop unless ``fn(value)``), ``check``
    (``fn`` is a quick type predicate, inlined when ``names["expression"](var)`` gives its
    source; ``fail(value)`` runs the full validation when it says no),
    ``sink`` (``fn(value)`` consumes the record), ``sink_ctx`` (``fn(value, ctx)`` with
    ``names["ctx"]``, a sink context whose ``_ts`` is set first) and ``inline`` (an operator's own per-record code:
    ``code`` lines over ``value`` and ``ts`` that refer to ``names`` as ``{p}name``, with a line
    ``{EMIT}`` where it emits an ``item``). ``sink`` and ``inline`` end the chain.

    ``then`` (inline steps only): the downstream ``(steps, tail)`` to splice in at ``{EMIT}``, so
    an emitted item runs through the next operators without a call; otherwise ``{EMIT}`` calls
    the operator's ``collect``.

    ``stamps`` (inline steps only): names in ``names`` of context objects whose ``_ts`` is set to
    the record's timestamp before ``code`` runs (a ``sink_ctx`` step stamps its ``ctx``). In a
    source loop every record's timestamp is None, so the stamps are done once per chunk instead.
    """

    kind: str
    fn: Callable[[Any], Any] | None
    fail: Callable[..., Any]
    code: tuple[str, ...] = ()
    names: dict[str, Any] | None = None
    then: tuple[list[Step], Any] | None = None
    stamps: tuple[str, ...] = ()


@dataclass(frozen=True)
class InlineTail:
    """Where a chain's records go, as code to splice in at its end instead of a call per record
    (a record writer's buffering: see ``RecordWriter``). ``code`` lines name the record ``{v}``
    and the timestamp ``ts``, and refer to ``names`` as ``{p}<name>``; a callable with an
    ``inline`` attribute holding one is spliced the same way."""

    code: tuple[str, ...]
    names: dict[str, Any]


def _body(steps: list[Step], tail: Any, namespace: dict[str, Any], indent: str, drop: str,
          var: str = "value", tag: str = "", hoisted: list[str] | None = None) -> list[str]:
    """Source lines applying ``steps`` to ``var``; ``drop`` leaves the record (return/continue).

    ``tag`` keeps the names of a spliced continuation apart from those of the chain around it.
    ``hoisted``, when given, collects the timestamp stamps (``ctx._ts = ts``) instead of
    emitting them per record: the caller runs them once, before its loop.
    """
    lines = []

    def stamp(obj: str) -> list[str]:
        if hoisted is None:
            return [f"{obj}._ts = ts"]
        hoisted.append(f"{obj}._ts = ts")
        return []

    for i, step in enumerate(steps):
        f, fail = f"f{tag}{i}", f"fail{tag}{i}"
        namespace[f], namespace[fail] = step.fn, step.fail
        if step.kind in TERMINAL and i != len(steps) - 1:
            raise ValueError(f"a {step.kind} step must be the last step")
        if step.kind == "inline":
            prefix = f"s{tag}{i}_"
            namespace.update({prefix + k: v for k, v in (step.names or {}).items()})
            for name in step.stamps:
                lines += stamp(prefix + name)
            for line in step.code:
                if line.strip() != "{EMIT}":
                    lines.append(line.format(p=prefix))
                    continue
                pad = line[: len(line) - len(line.lstrip())]
                if step.then is None:
                    lines.append(f"{pad}{prefix}collect(item, ts)")
                else:
                    then_steps, then_tail = step.then
                    lines += [x[len(indent):] for x in _body(
                        then_steps, then_tail, namespace, indent + pad, "continue", "item", f"{tag}{i}c",
                        hoisted)]
            tail = None
            continue
        if step.kind == "check":
            expr = step.names["expression"](var) if step.names else None
            if expr is None:
                lines += [f"if not {f}({var}):", f"    {fail}({var})"]
            else:  # the type's quick check inlined: no call per record
                namespace.update(step.names.get("globals", {}))
                lines += [f"if not {expr}:", f"    {fail}({var})"]
            continue
        call = {"map": f"{var} = {f}({var})", "filter": f"keep = {f}({var})", "sink": f"{f}({var})",
                "sink_ctx": f"{f}({var}, {f}_ctx)"}.get(step.kind)
        if call is None:
            raise ValueError(f"unknown fusion step kind {step.kind!r}")
        if step.kind == "sink_ctx":
            namespace[f"{f}_ctx"] = (step.names or {})["ctx"]
            lines += stamp(f"{f}_ctx")
        # a StromError raised inside user code (say, a state access error) passes unwrapped
        lines += ["try:", f"    {call}", "except StromError:", "    raise",
                  "except Exception as exc:", f"    raise {fail}(exc, {var}) from exc"]
        if step.kind == "filter":
            lines += ["if not keep:", f"    {drop}"]
        elif step.kind in TERMINAL:
            tail = None
    if tail is not None:
        inline = tail if isinstance(tail, InlineTail) else getattr(tail, "inline", None)
        if isinstance(inline, InlineTail):  # the destination's code spliced in: no call
            prefix = f"t{tag}_"
            namespace.update({prefix + k: v for k, v in inline.names.items()})
            lines += [line.format(p=prefix, v=var) for line in inline.code]
        else:
            namespace[f"tail{tag}"] = tail
            lines.append(f"tail{tag}({var}, ts)")
    return [indent + line for line in lines]


_BUILTINS = ("hash", "type", "len", "Exception", "TypeError")
_COLD = re.compile(r"(^|_)(fail\w*|null_key|StromError|as_iterable)$|^(Exception|TypeError|hash)$")


def _define(name: str, params: str, body: list[str], namespace: dict[str, Any], filename: str) -> Any:
    """Compile ``def name(params): body`` with every name the body uses from ``namespace`` bound
    as a positional default: the per-record code then reads fast locals, not globals. (Not
    keyword-only defaults: a call fills those with one dict lookup per name, which cost a
    chain called per record, such as a task's head after an exchange, ~3,000 instructions per
    call; positional defaults are copied from a tuple. Callers pass ``params`` only.)"""
    # names only error paths and rare branches read stay globals of the function: every bound
    # name is copied into and cleared out of the frame on each call
    bound = [k for k in sorted(namespace) if not _COLD.search(k)]
    bound += [b for b in _BUILTINS if b not in namespace and not _COLD.search(b)]
    defaults = ", ".join(f"{k}={k}" for k in bound)
    header = f"def {name}({params}, {defaults}):" if bound else f"def {name}({params}):"
    scope = dict(namespace)
    scope.update({b: getattr(builtins, b) for b in _BUILTINS if b not in scope})
    exec(compile("\n".join([header, *body]), filename, "exec"), scope)  # noqa: S102
    return scope[name]


def compile_steps(steps: list[Step], tail: Callable[[Any, Any], None] | None) -> Callable[[Any, Any], None]:
    """One function running ``steps`` in order, then ``tail(value, ts)`` for surviving records."""
    namespace: dict[str, Any] = {"StromError": StromError}
    body = _body(steps, tail, namespace, "    ", "return")
    return _define("fused", "value, ts", body, namespace, "<strom fused chain>")


def compile_batch(steps: list[Step], tail: Callable[[Any, Any], None] | None
                  ) -> Callable[[list, list], None]:
    """``run_batch(values, timestamps)``: push a batch a task took off its input through the
    steps (the chain of :func:`compile_steps` inside the loop over the batch), so a record
    costs no call between the channel and the first non-fused operator."""
    namespace: dict[str, Any] = {"StromError": StromError, "zip": zip}
    loop = _body(steps, tail, namespace, "        ", "continue")
    body = ["    for value, ts in zip(values, timestamps):", *loop]
    return _define("run_batch", "values, timestamps", body, namespace, "<strom fused batch>")


def compile_source_loop(steps: list[Step], tail: Callable[[Any, Any], None] | None
                        ) -> Callable[[Iterable[Any]], None]:
    """``run(records)``: push a source's chunk of records (no timestamps) through the steps.

    The same chain as :func:`compile_steps`, with the source's loop around it, so a record
    costs no call at all between the source and the first non-fused operator.
    """
    namespace: dict[str, Any] = {"StromError": StromError}
    hoisted: list[str] = []
    loop = _body(steps, tail, namespace, "        ", "continue", hoisted=hoisted)
    body = ["    ts = None", *("    " + line for line in hoisted), "    for value in records:", *loop]
    return _define("run", "records", body, namespace, "<strom fused source loop>")
