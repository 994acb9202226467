"""Watermark elements: how far event time has progressed, and whether a channel is idle.

They belong to ``strom.time`` (not the runtime) because the pure pieces of time handling,
the watermark valve and the timer heaps, reason about them; the runtime carries them in its
channels and operators (``strom.runtime.elements`` holds the other channel elements).

Example:
    >>> Watermark(5).get_timestamp()
    5
    >>> MIN_WATERMARK < 0 < MAX_WATERMARK
    True
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_WATERMARK", "MIN_WATERMARK", "Watermark", "WatermarkStatus"]

MIN_WATERMARK = -(2**63)
"""Flink's ``Long.MIN_VALUE``: the watermark before any watermark arrived."""

MAX_WATERMARK = 2**63 - 1
"""Flink's ``Long.MAX_VALUE``: emitted when a bounded input ends; fires every event-time timer."""


@dataclass(frozen=True, slots=True)
class Watermark:
    """Event time has reached ``timestamp``: no record with a smaller timestamp should follow.

    The PyFlink name and constructor (``Watermark(timestamp)``) are kept so user
    ``WatermarkGenerator``s and ``SourceFunction``s can emit it.
    """

    timestamp: int

    def get_timestamp(self) -> int:
        """PyFlink-compatible accessor."""
        return self.timestamp


@dataclass(frozen=True, slots=True)
class WatermarkStatus:
    """A channel became idle (``idle=True``) or active again; idle channels do not hold back watermarks."""

    idle: bool
