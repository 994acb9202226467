"""The watermark valve: one watermark out of many input channels, as Flink's StatusWatermarkValve.

The output watermark is the minimum over the *active* channels' watermarks and never
decreases. An idle channel does not hold the watermark back; when it becomes active again
it rejoins only once its watermark has caught up with the output (Flink's "aligned" rule).
A finished channel counts as idle for good.

Example:
    >>> v = WatermarkValve(2)
    >>> v.input_watermark(0, 5) is None   # channel 1 has no watermark yet
    True
    >>> v.input_watermark(1, 3)
    3
"""
from __future__ import annotations

from strom.time.watermarks import MIN_WATERMARK


class WatermarkValve:
    """Combines the watermarks and idleness of ``num_channels`` channels of one input."""

    __slots__ = ("_wm", "_active", "_aligned", "_finished", "current", "idle")

    def __init__(self, num_channels: int) -> None:
        self._wm = [MIN_WATERMARK] * num_channels
        self._active = [True] * num_channels
        self._aligned = [True] * num_channels
        self._finished = [False] * num_channels
        self.current = MIN_WATERMARK
        self.idle = False

    def input_watermark(self, channel: int, watermark: int) -> int | None:
        """A channel's watermark arrived; returns the new output watermark if it advanced."""
        if not self._active[channel] or watermark <= self._wm[channel]:
            return None
        self._wm[channel] = watermark
        if not self._aligned[channel] and watermark >= self.current:
            self._aligned[channel] = True
        return self._advance()

    def input_status(self, channel: int, idle: bool) -> tuple[int | None, bool | None]:
        """A channel's idleness changed. Returns ``(new watermark or None, new valve idleness or None)``."""
        if self._finished[channel] or self._active[channel] == (not idle):
            return None, None
        self._active[channel] = not idle
        if idle:
            self._aligned[channel] = False
            new_wm = self._advance()
        else:
            # Rejoins the minimum only once it caught up with the output watermark.
            self._aligned[channel] = self._wm[channel] >= self.current
            new_wm = None
        return new_wm, self._update_idle()

    def finish(self, channel: int) -> int | None:
        """The channel ended: it no longer holds back the watermark."""
        self._finished[channel] = True
        self._active[channel] = False
        self._aligned[channel] = False
        return self._advance()

    def _update_idle(self) -> bool | None:
        idle = not any(self._active)
        if idle != self.idle:
            self.idle = idle
            return idle
        return None

    def _advance(self) -> int | None:
        candidates = [w for w, a, al in zip(self._wm, self._active, self._aligned) if a and al]
        if not candidates:
            return None
        new = min(candidates)
        if new > self.current:
            self.current = new
            return new
        return None
