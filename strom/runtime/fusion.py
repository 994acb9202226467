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
from typing import Any


@dataclass(frozen=True, slots=True)
class Step:
    """One fusable operator: ``kind`` is "map" or "filter"; ``fail`` wraps its exceptions."""

    kind: str
    fn: Callable[[Any], Any]
    fail: Callable[..., BaseException]


def compile_steps(steps: list[Step], tail: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """One function running ``steps`` in order, then ``tail(value, ts)`` for surviving records."""
    namespace: dict[str, Any] = {"tail": tail}
    lines = ["def fused(value, ts):"]
    for i, step in enumerate(steps):
        namespace[f"f{i}"], namespace[f"fail{i}"] = step.fn, step.fail
        target = "value" if step.kind == "map" else "keep"
        lines += ["    try:", f"        {target} = f{i}(value)",
                  "    except Exception as exc:", f"        raise fail{i}(exc, value) from exc"]
        if step.kind == "filter":
            lines += ["    if not keep:", "        return"]
        elif step.kind != "map":
            raise ValueError(f"unknown fusion step kind {step.kind!r}")
    lines.append("    tail(value, ts)")
    exec(compile("\n".join(lines), "<strom fused chain>", "exec"), namespace)  # noqa: S102
    return namespace["fused"]
