"""Built-in sources of the DataStream API: sequences, collections, iterables, SourceFunctions.

A *source* here is anything ``from_source`` accepts: a :class:`Source` subclass that declares
splits (``splits`` + ``read_split``: it can resume from a checkpoint) or overrides
``read(subtask_index, parallelism)`` (it cannot), or (connectors) any object with
``create_operator(name) -> SourceOperator`` and a ``parallel`` flag.
"""
from __future__ import annotations

import copy
import pickle
from collections.abc import Iterable, Sequence
from typing import Any

from strom.errors import JobDefinitionError, UnsupportedError
from strom.runtime.operators.socket_source import SocketSourceOperator
from strom.runtime.operators.sources import (
    IteratorSourceOperator,
    SourceFunctionContext,
    SourceOperator,
    SplitSourceOperator,
    ThreadedSourceOperator,
)

# Collections that can be re-iterated safely and cheaply on the task's own thread.
INLINE_COLLECTIONS = (list, tuple, range, str, bytes, dict, set, frozenset)


class Source:
    """Base of sources usable with ``env.from_source``: subclass it and declare splits, or
    override :meth:`read`.

    **Splits (resumable, Flink's FLIP-27 model).** Override :meth:`splits` to return the pieces
    the input consists of (picklable ids: file names, partition numbers, ranges) and
    :meth:`read_split` to return the records of one split from a *position* on, where the
    position is the number of that split's records already emitted. Split *i* is read by subtask
    ``i % parallelism``; a checkpoint records every unfinished split with its position, so
    after a failure (or from a savepoint, at any parallelism) reading resumes exactly there.
    ``read_split`` must return the same records for the same split every time.

    **read (not resumable).** ``read(subtask_index, parallelism)`` returns what one parallel
    subtask emits (an iterable or a generator): split the input so that the subtasks together
    emit each record once. Such a source cannot resume from a checkpoint: after a failure it is
    read again from the beginning, which duplicates records downstream (a warning says so).

    With ``parallel = False`` the source runs as one subtask. A source whose ``read`` may block
    (sockets, polling, ``time.sleep``) sets ``blocking = True`` and is read on its own thread so
    timers and other tasks keep running (blocking sources cannot resume either). Records carry
    no timestamps; assign them with the ``WatermarkStrategy`` passed to ``from_source``.

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

    A resumable source over the lines of some files:

        >>> class Lines(Source):
        ...     def __init__(self, paths):
        ...         self.paths = paths
        ...     def splits(self, parallelism):
        ...         return self.paths
        ...     def read_split(self, split, position):
        ...         with open(split) as f:
        ...             for i, line in enumerate(f):
        ...                 if i >= position:
        ...                     yield line.rstrip("\n")

    Connectors may instead override :meth:`create_operator` to build their own source operator.
    """

    parallel = True
    bounded = True
    blocking = False

    def splits(self, parallelism: int) -> Sequence[Any]:
        """The splits of the whole input (picklable ids), on a fresh start; override with
        :meth:`read_split`."""
        raise NotImplementedError(f"{type(self).__name__} must override splits(parallelism)")

    def read_split(self, split: Any, position: int) -> Iterable[Any]:
        """The records of ``split`` after its first ``position`` ones (a sequence or iterable)."""
        raise NotImplementedError(f"{type(self).__name__} must override read_split(split, position)")

    def read(self, subtask_index: int, parallelism: int) -> Iterable[Any]:
        """The records of one subtask (override this, or splits/read_split)."""
        raise NotImplementedError(f"{type(self).__name__} must override read(subtask_index, parallelism)")

    @property
    def has_splits(self) -> bool:
        """Whether the source declares splits (and so can resume from a checkpoint)."""
        cls = type(self)
        return cls.splits is not Source.splits and cls.read_split is not Source.read_split

    def create_operator(self, name: str) -> SourceOperator:
        """The runtime operator reading this source (built once per subtask)."""
        if self.has_splits:
            if self.blocking:
                msg = (f"source '{name}': {type(self).__name__} declares splits and blocking=True; "
                       "split sources are read on the task's thread. Hint: drop blocking=True, or "
                       "use read() on a feeder thread (not resumable)")
                raise UnsupportedError(msg)
            return SplitSourceOperator(name, self.splits, self.read_split)
        if type(self).read is Source.read:
            raise JobDefinitionError(
                f"source '{name}': {type(self).__name__} overrides neither splits()/read_split(), "
                "read(subtask_index, parallelism) nor create_operator(name). Hint: implement "
                "read() to return the records, or splits() and read_split() to make it resumable.")
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

    def splits(self, parallelism: int) -> list[tuple[int, int]]:
        """One ``(first, last + 1)`` range per subtask of the first run."""
        start, count = self.start, self.end - self.start + 1
        return [(start + count * i // parallelism, start + count * (i + 1) // parallelism)
                for i in range(parallelism)]

    def read_split(self, split: tuple[int, int], position: int) -> range:
        return range(split[0] + position, split[1])


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
        self.consumed = False  # a one-shot iterator can be read by one attempt of the job only

    def create_operator(self, name: str) -> SourceOperator:
        data = self.data
        if self.inline:
            if not isinstance(data, (range, list, tuple)):
                data = list(data)  # str, bytes, dict, set: read the materialized elements
            return SplitSourceOperator(name, lambda parallelism: ["collection"],
                                       lambda split, position: data[position:])
        if self.consumed:
            msg = (f"source '{name}': from_collection was given a one-shot iterator or generator, "
                   "which was already read by a previous attempt of the job and cannot be read "
                   "again, so the job cannot be restarted or restored. Hint: pass a list (or a "
                   "Source with splits) to make the job recoverable.")
            raise UnsupportedError(msg)
        self.consumed = True

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
        op = ThreadedSourceOperator(name, produce, cancel if callable(cancel) else None)
        op.function = function  # its CheckpointedFunction hooks, if it has them
        return op


class SocketTextStreamSource(Source):
    """Delimited text from a TCP server (``env.socket_text_stream``); non-parallel, unbounded,
    not resumable (see :mod:`strom.runtime.operators.socket_source`)."""

    parallel = False
    bounded = False

    def __init__(self, host: str, port: int, delimiter: str = "\n", max_retry: int = 0) -> None:
        where = "socket_text_stream"
        if not isinstance(host, str) or not host:
            raise JobDefinitionError(f"{where}: host must be a non-empty str, got {host!r}; hint: 'localhost'")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise JobDefinitionError(f"{where}: port must be an int in 1..65535, got {port!r}; hint: 9999")
        if not isinstance(delimiter, str) or not delimiter:
            raise JobDefinitionError(f"{where}: delimiter must be a non-empty str, got {delimiter!r}; hint: '\\n'")
        if isinstance(max_retry, bool) or not isinstance(max_retry, int) or max_retry < -1:
            raise JobDefinitionError(
                f"{where}: max_retry must be an int >= -1 (-1 retries forever, 0 never), got {max_retry!r}")
        self.host, self.port, self.delimiter, self.max_retry = host, port, delimiter, max_retry

    def create_operator(self, name: str) -> SourceOperator:
        return SocketSourceOperator(name, self.host, self.port, self.delimiter, self.max_retry)
