"""Built-in sources of the DataStream API: sequences, collections, iterables, SourceFunctions.

A *source* here is anything ``from_source`` accepts: a :class:`Source` subclass that overrides
``read(subtask_index, parallelism)``, or (connectors) any object with
``create_operator(name) -> SourceOperator`` and a ``parallel`` flag.
"""
from __future__ import annotations

import copy
import pickle
from collections.abc import Iterable
from typing import Any

from strom.errors import JobDefinitionError
from strom.runtime.operators.sources import (
    IteratorSourceOperator,
    SourceFunctionContext,
    SourceOperator,
    ThreadedSourceOperator,
)

# Collections that can be re-iterated safely and cheaply on the task's own thread.
INLINE_COLLECTIONS = (list, tuple, range, str, bytes, dict, set, frozenset)


class Source:
    """Base of sources usable with ``env.from_source``: subclass it and override :meth:`read`.

    ``read(subtask_index, parallelism)`` returns what one parallel subtask emits (an iterable or
    a generator): split the input so that the subtasks together emit each record once. With
    ``parallel = False`` the source runs as one subtask. A source whose ``read`` may block
    (sockets, polling, ``time.sleep``) sets ``blocking = True`` and is read on its own thread so
    timers and other tasks keep running. Records carry no timestamps; assign them with the
    ``WatermarkStrategy`` passed to ``from_source``.

    Example:
        >>> class Lines(Source):
        ...     def __init__(self, path):
        ...         self.path = path
        ...     def read(self, subtask_index, parallelism):
        ...         with open(self.path) as f:
        ...             for i, line in enumerate(f):
        ...                 if i % parallelism == subtask_index:
        ...                     yield line.rstrip("\n")
        >>> env.from_source(Lines("access.log"), WatermarkStrategy.no_watermarks(), "lines")  # doctest: +SKIP

    Connectors may instead override :meth:`create_operator` to build their own source operator.
    """

    parallel = True
    bounded = True
    blocking = False

    def read(self, subtask_index: int, parallelism: int) -> Iterable[Any]:
        """The records of one subtask (override this)."""
        raise NotImplementedError(f"{type(self).__name__} must override read(subtask_index, parallelism)")

    def create_operator(self, name: str) -> SourceOperator:
        """The runtime operator reading this source (built once per subtask)."""
        if type(self).read is Source.read:
            raise JobDefinitionError(
                f"source '{name}': {type(self).__name__} overrides neither read(subtask_index, "
                "parallelism) nor create_operator(name). Hint: implement read() to return the records.")
        if not self.blocking:
            return IteratorSourceOperator(name, self.read)
        read = self.read

        def produce(op: ThreadedSourceOperator) -> None:
            info = op.info
            hand_over = op.hand_over
            for value in read(info.subtask_index, info.parallelism):
                hand_over(value, None)

        return ThreadedSourceOperator(name, produce)


class NumberSequenceSource(Source):
    """The numbers ``start..end`` (both inclusive), split evenly over the parallel subtasks."""

    def __init__(self, start: int, end: int) -> None:
        if not isinstance(start, int) or not isinstance(end, int) or end < start:
            raise JobDefinitionError(
                f"NumberSequenceSource: expected ints with start <= end, got start={start!r}, end={end!r}")
        self.start, self.end = start, end

    def create_operator(self, name: str) -> SourceOperator:
        start, count = self.start, self.end - self.start + 1

        def split(subtask: int, parallelism: int) -> range:
            lo = start + count * subtask // parallelism
            hi = start + count * (subtask + 1) // parallelism
            return range(lo, hi)

        return IteratorSourceOperator(name, split)


class CollectionSource(Source):
    """A Python collection (copied when the job is defined) or any iterable / generator.

    Lists, tuples and ranges are read inline; other iterables (generators, iterators, file
    objects) may block, so they are read on a feeder thread. Non-parallel, as in Flink.
    """

    parallel = False

    def __init__(self, collection: Iterable[Any]) -> None:
        if isinstance(collection, INLINE_COLLECTIONS):
            self.data: Any = collection if isinstance(collection, (range, tuple, str, bytes)) else list(collection)
            self.inline = True
        else:
            try:
                self.data = iter(collection)
            except TypeError:
                raise JobDefinitionError(
                    f"from_collection: expected a collection, iterable or generator, got "
                    f"{type(collection).__name__}") from None
            self.inline = False

    def create_operator(self, name: str) -> SourceOperator:
        data = self.data
        if self.inline:
            return IteratorSourceOperator(name, lambda subtask, parallelism: iter(data))

        def produce(op: ThreadedSourceOperator) -> None:
            hand_over = op.hand_over
            for value in data:
                hand_over(value, None)

        return ThreadedSourceOperator(name, produce)


class SourceFunctionSource(Source):
    """A ``SourceFunction`` (``run(ctx)``/``cancel()``) on its own thread; non-parallel."""

    parallel = False
    bounded = False

    def __init__(self, function: Any) -> None:
        self.function = function

    def create_operator(self, name: str) -> SourceOperator:
        try:  # each subtask gets its own instance, as Flink deserializes one per subtask
            function = pickle.loads(pickle.dumps(self.function))
        except Exception:
            function = copy.copy(self.function)

        def produce(feeder: ThreadedSourceOperator) -> None:
            opener = getattr(function, "open", None)
            if callable(opener):
                opener(feeder.runtime_context())
            try:
                function.run(SourceFunctionContext(feeder))
            finally:
                closer = getattr(function, "close", None)
                if callable(closer):
                    closer()

        cancel = getattr(function, "cancel", None)
        return ThreadedSourceOperator(name, produce, cancel if callable(cancel) else None)
