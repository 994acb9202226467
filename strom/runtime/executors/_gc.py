"""Garbage-collector tuning while a job runs.

A streaming job allocates short-lived objects per record (tuples, generators); CPython then
runs a young-generation collection every 700 allocations, which costs ~2-3 % of a keyed
pipeline's time. While a job runs the executors raise the young threshold (50 000 by default,
configuration key ``strom.gc.young-threshold``; 0 leaves Python's settings alone) and restore
the previous thresholds afterwards. Memory stays bounded: reference counting still frees
everything that is not in a cycle at once.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_YOUNG_THRESHOLD = 50_000


@contextmanager
def tuned_gc(young_threshold: int = DEFAULT_YOUNG_THRESHOLD) -> Iterator[None]:
    """Raise the young-generation threshold to ``young_threshold`` for the duration of a job."""
    old = gc.get_threshold()
    if young_threshold > old[0]:
        gc.set_threshold(young_threshold, *old[1:])
    try:
        yield
    finally:
        if gc.get_threshold()[0] == max(young_threshold, old[0]):  # nobody else changed it since
            gc.set_threshold(*old)
