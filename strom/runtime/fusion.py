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

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

TERMINAL = ("sink", "inline")


@dataclass(frozen=True, slots=True)
class Step:
    """One fused piece of work on a record.

    Kinds: ``map`` (``value = fn(value)``), ``filter`` (drop unless ``fn(value)``), ``check``
    (``fn`` is a quick type predicate; ``fail(value)`` runs the full validation when it says no),
    ``sink`` (``fn(value)`` consumes the record) and ``inline`` (an operator's own per-record code:
    ``code`` lines over ``value`` and ``ts`` that refer to ``names`` as ``{p}name``; it emits
    through its own outputs). ``sink`` and ``inline`` end the chain.
    """

    kind: str
    fn: Callable[[Any], Any] | None
    fail: Callable[..., Any]
    code: tuple[str, ...] = ()
    names: dict[str, Any] | None = None


def _body(steps: list[Step], tail: Any, namespace: dict[str, Any], indent: str, drop: str) -> list[str]:
    """Source lines applying ``steps`` to ``value``; ``drop`` leaves the record (return/continue)."""
    lines = []
    for i, step in enumerate(steps):
        namespace[f"f{i}"], namespace[f"fail{i}"] = step.fn, step.fail
        if step.kind in TERMINAL and i != len(steps) - 1:
            raise ValueError(f"a {step.kind} step must be the last step")
        if step.kind == "inline":
            prefix = f"s{i}_"
            namespace.update({prefix + k: v for k, v in (step.names or {}).items()})
            lines += [line.format(p=prefix) for line in step.code]
            tail = None
            continue
        if step.kind == "check":
            lines += [f"if not f{i}(value):", f"    fail{i}(value)"]
            continue
        call = {"map": "value = ", "filter": "keep = ", "sink": ""}.get(step.kind)
        if call is None:
            raise ValueError(f"unknown fusion step kind {step.kind!r}")
        lines += ["try:", f"    {call}f{i}(value)",
                  "except Exception as exc:", f"    raise fail{i}(exc, value) from exc"]
        if step.kind == "filter":
            lines += ["if not keep:", f"    {drop}"]
        elif step.kind == "sink":
            tail = None
    if tail is not None:
        namespace["tail"] = tail
        lines.append("tail(value, ts)")
    return [indent + line for line in lines]


def compile_steps(steps: list[Step], tail: Callable[[Any, Any], None] | None) -> Callable[[Any, Any], None]:
    """One function running ``steps`` in order, then ``tail(value, ts)`` for surviving records."""
    namespace: dict[str, Any] = {}
    lines = ["def fused(value, ts):", *_body(steps, tail, namespace, "    ", "return")]
    exec(compile("\n".join(lines), "<strom fused chain>", "exec"), namespace)  # noqa: S102
    return namespace["fused"]


def compile_source_loop(steps: list[Step], tail: Callable[[Any, Any], None] | None
                        ) -> Callable[[Any, int], int]:
    """``run(iterator, budget) -> n``: pull up to ``budget`` records (no timestamps) through the steps.

    The same chain as :func:`compile_steps`, with the source's loop around it, so a record
    costs no call at all between the source and the first non-fused operator.
    """
    namespace: dict[str, Any] = {"islice": islice}
    lines = ["def run(iterator, budget):", "    n = 0", "    ts = None",
             "    for value in islice(iterator, budget):", "        n += 1",
             *_body(steps, tail, namespace, "        ", "continue"), "    return n"]
    exec(compile("\n".join(lines), "<strom fused source loop>", "exec"), namespace)  # noqa: S102
    return namespace["run"]
