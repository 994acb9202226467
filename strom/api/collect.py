"""The iterator ``execute_and_collect`` returns: results as the job produces them, its failure
raised where the results end, and closing it cancels the job."""
from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any


class CollectedFailure:
    """The job's failure, queued after its last result."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class CloseableIterator:
    """Results of ``execute_and_collect``; closing it cancels the job if still running."""

    def __init__(self, results: queue.Queue, done: object, client: Any) -> None:
        self._results, self._done, self._client = results, done, client
        self._finished = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def next(self) -> Any:
        """The next result (PyFlink's name for ``next(iterator)``)."""
        return self.__next__()

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        item = self._results.get()
        if item is self._done:
            self._finished = True
            raise StopIteration
        if isinstance(item, CollectedFailure):
            self._finished = True
            raise item.error
        return item

    def close(self) -> None:
        if not self._finished:
            self._client.cancel()
            self._finished = True
            while True:  # unblock the job if it is waiting on a full queue
                try:
                    if self._results.get_nowait() is self._done:
                        break
                except queue.Empty:
                    if self._client._control.done.is_set():
                        break
                    self._client._control.done.wait(0.01)

    def __enter__(self) -> CloseableIterator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
