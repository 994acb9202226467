"""PyFlink's ``CheckpointConfig``: how often and how checkpoints are taken.

The environment carries these settings to the runtime. The article's older calls
(``enable_checkpointing(ms)`` on this object, ``set_checkpoint_storage_dir(uri)``) are accepted
too.
"""
from __future__ import annotations

from strom.api.configuration import CheckpointingMode
from strom.errors import JobDefinitionError
from strom.time.durations import to_millis


class CheckpointConfig:
    """Checkpoint interval, mode, timeouts, concurrency and storage location."""

    def __init__(self) -> None:
        self.interval_ms = -1
        self.mode = CheckpointingMode.EXACTLY_ONCE
        self.timeout_ms = 10 * 60 * 1000
        self.min_pause_ms = 0
        self.max_concurrent = 1
        self.tolerable_failures = 0
        self.storage_dir: str | None = None
        self.unaligned = False
        self.externalized: object = None

    def enable_checkpointing(self, interval: int, mode: CheckpointingMode | None = None) -> CheckpointConfig:
        """The article's form of ``env.enable_checkpointing(interval)``."""
        return self.set_checkpoint_interval(interval)._mode(mode)

    def _mode(self, mode: CheckpointingMode | None) -> CheckpointConfig:
        if mode is not None:
            self.set_checkpointing_mode(mode)
        return self

    def is_checkpointing_enabled(self) -> bool:
        return self.interval_ms > 0

    def set_checkpoint_interval(self, checkpoint_interval: int) -> CheckpointConfig:
        ms = to_millis(checkpoint_interval, "set_checkpoint_interval")
        if ms < 10:
            raise JobDefinitionError(
                f"checkpoint interval must be at least 10 ms, got {ms}. Hint: pass milliseconds.")
        self.interval_ms = ms
        return self

    def get_checkpoint_interval(self) -> int:
        return self.interval_ms

    def set_checkpointing_mode(self, checkpointing_mode: CheckpointingMode) -> CheckpointConfig:
        if not isinstance(checkpointing_mode, CheckpointingMode):
            raise JobDefinitionError(
                f"set_checkpointing_mode: expected CheckpointingMode.EXACTLY_ONCE or AT_LEAST_ONCE, "
                f"got {checkpointing_mode!r}")
        self.mode = checkpointing_mode
        return self

    def get_checkpointing_mode(self) -> CheckpointingMode:
        return self.mode

    def set_checkpoint_timeout(self, checkpoint_timeout: int) -> CheckpointConfig:
        self.timeout_ms = to_millis(checkpoint_timeout, "set_checkpoint_timeout")
        return self

    def get_checkpoint_timeout(self) -> int:
        return self.timeout_ms

    def set_min_pause_between_checkpoints(self, min_pause_between_checkpoints: int) -> CheckpointConfig:
        self.min_pause_ms = to_millis(min_pause_between_checkpoints, "set_min_pause_between_checkpoints")
        return self

    def get_min_pause_between_checkpoints(self) -> int:
        return self.min_pause_ms

    def set_max_concurrent_checkpoints(self, max_concurrent_checkpoints: int) -> CheckpointConfig:
        if not isinstance(max_concurrent_checkpoints, int) or max_concurrent_checkpoints < 1:
            raise JobDefinitionError(
                f"set_max_concurrent_checkpoints: expected an int >= 1, got {max_concurrent_checkpoints!r}")
        self.max_concurrent = max_concurrent_checkpoints
        return self

    def get_max_concurrent_checkpoints(self) -> int:
        return self.max_concurrent

    def set_tolerable_checkpoint_failure_number(self, number: int) -> CheckpointConfig:
        self.tolerable_failures = number
        return self

    def set_checkpoint_storage_dir(self, checkpoint_path: str) -> CheckpointConfig:
        """Where checkpoints go: ``file:///path``, a plain path, or ``s3://bucket/prefix``."""
        if not isinstance(checkpoint_path, str) or not checkpoint_path:
            raise JobDefinitionError(f"set_checkpoint_storage_dir: expected a path or URI, got {checkpoint_path!r}")
        self.storage_dir = checkpoint_path
        return self

    def get_checkpoint_storage_dir(self) -> str | None:
        return self.storage_dir

    def enable_unaligned_checkpoints(self, enabled: bool = True) -> CheckpointConfig:
        self.unaligned = enabled
        return self

    def is_unaligned_checkpoints_enabled(self) -> bool:
        return self.unaligned

    def enable_externalized_checkpoints(self, cleanup_mode: object) -> CheckpointConfig:
        self.externalized = cleanup_mode
        return self

    def set_externalized_checkpoint_cleanup(self, cleanup_mode: object) -> CheckpointConfig:
        return self.enable_externalized_checkpoints(cleanup_mode)
