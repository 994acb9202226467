"""Sink operators: user SinkFunctions, print (Flink's format) and the collecting sink.

``print()`` writes ``str`` of each record as Flink's PrintSinkFunction does: with a prefix of
``"<identifier>:<subtask+1>> "`` when the sink's parallelism is above 1, ``"<identifier>> "``
at parallelism 1 with an identifier, and no prefix otherwise.
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any, TextIO

from strom.errors import StromError
from strom.runtime.fusion import Step
from strom.runtime.operators.base import UdfOperator
from strom.runtime.results import ResultTarget, local_results


class SinkContext:
    """The ``context`` argument of ``SinkFunction.invoke(value, context)``."""

    __slots__ = ("_op", "_ts")

    def __init__(self, op: UdfOperator) -> None:
        self._op = op
        self._ts = None

    def timestamp(self) -> int | None:
        return self._ts

    def current_processing_time(self) -> int:
        return self._op.info.processing_time.now()

    def current_watermark(self) -> int:
        return self._op.current_watermark


def _arity(fn: Callable) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class SinkOperator(UdfOperator):
    """Calls ``function.invoke(value, context)`` (or ``invoke(value)``) per record."""

    def open(self) -> None:
        super().open()
        # A sink may name another per-record entry point (TwoPhaseCommitSinkFunction's invoke
        # takes the transaction first); else invoke(value, context), or the function itself.
        invoke = (getattr(self.function, "invoke_entry", None)
                  or getattr(self.function, "invoke", None) or self.function)
        ctx, fail = SinkContext(self), self.fail
        if _arity(invoke) >= 2:
            def process_element(value: Any, ts: Any) -> None:
                ctx._ts = ts
                try:
                    invoke(value, ctx)
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, value) from exc
        else:
            def process_element(value: Any, ts: Any) -> None:
                try:
                    invoke(value)
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, value) from exc
        self.process_element = process_element
        self._step = (Step("sink_ctx", invoke, fail, names={"ctx": ctx}) if _arity(invoke) >= 2
                      else Step("sink", invoke, fail))
        interval = getattr(self.function, "processing_time_interval_ms", 0)
        if isinstance(interval, int) and interval > 0:  # e.g. FileSink's bucket check interval
            pts = self.info.processing_time

            def on_time(now: int) -> None:
                try:
                    self.function.on_processing_time(now)
                except StromError:
                    raise
                except Exception as exc:
                    raise fail(exc, now, "on_processing_time at") from exc
                pts.register(pts.now() + interval, on_time)

            pts.register(pts.now() + interval, on_time)

    def fusion_step(self) -> Step | None:
        """The sink as the last step of a fused chain (no call of its own per record)."""
        return getattr(self, "_step", None)

    def finish(self) -> None:
        finish = getattr(self.function, "finish", None)
        if callable(finish):
            try:
                finish()
            except Exception as exc:
                raise self.fail(exc, None, "finish()") from exc


class PrintSinkOperator(UdfOperator):
    """``DataStream.print()``: one line per record on stdout (or stderr)."""

    def __init__(self, name: str, identifier: str | None, formatter: Callable[[Any], str],
                 to_stderr: bool = False) -> None:
        super().__init__(name, None)
        self.identifier = identifier
        self.formatter = formatter
        self.to_stderr = to_stderr

    def open(self) -> None:
        info = self.info
        assert info is not None
        ident = self.identifier
        if info.parallelism > 1:
            prefix = f"{ident}:{info.subtask_index + 1}> " if ident else f"{info.subtask_index + 1}> "
        else:
            prefix = f"{ident}> " if ident else ""
        fmt, fail = self.formatter, self.fail
        to_stderr = self.to_stderr

        def process_element(value: Any, ts: Any) -> None:
            stream: TextIO = sys.stderr if to_stderr else sys.stdout
            try:
                stream.write(prefix + fmt(value) + "\n")
            except Exception as exc:
                raise fail(exc, value) from exc

        self.process_element = process_element

    def finish(self) -> None:
        (sys.stderr if self.to_stderr else sys.stdout).flush()


class CollectSinkOperator(UdfOperator):
    """Hands every record to ``deliver(value)`` (tests), or to the receiver a
    :class:`~strom.runtime.results.ResultTarget` names (``execute_and_collect``), which the
    task resolves where it runs."""

    def __init__(self, name: str, deliver: Callable[[Any], None] | ResultTarget) -> None:
        super().__init__(name, None)
        self.deliver = deliver
        if not isinstance(deliver, ResultTarget):
            self.process_element = lambda value, ts: deliver(value)

    def open(self) -> None:
        super().open()
        if isinstance(self.deliver, ResultTarget):
            resolve = self.info.results or local_results
            deliver = resolve(self.deliver.sink_id)
            self.process_element = lambda value, ts: deliver(value)
