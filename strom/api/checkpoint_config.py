"""PyFlink's ``CheckpointConfig``: how often and how checkpoints are taken, and where they go.

The environment carries these settings to the runtime, which reads the plain attributes
(``interval_ms``, ``mode``, ``timeout_ms``, ``min_pause_ms``, ``max_concurrent``,
``tolerable_failures``, ``storage_dir``, ``num_retained``, ``savepoint_dir``, ``restore_path``,
``allow_non_restored_state``, ``externalized_retention``, ``aligned_timeout_ms``). PyFlink's
``get_``/``set_`` methods are kept, including the 1.x ones (``enable_externalized_checkpoints``,
``set_checkpoint_storage_dir``, ``set_fail_on_checkpointing_errors``), and :meth:`configure`
reads the ``execution.checkpointing.*`` keys (Flink 2.x names, with their 1.x aliases).

strom takes aligned checkpoints only: enabling unaligned checkpoints raises
:class:`~strom.errors.UnsupportedError`.

Example::

    >>> config = CheckpointConfig()
    >>> config.configure({"execution.checkpointing.interval": "10 s",
    ...                   "state.checkpoints.num-retained": "3"})
    >>> config.get_checkpoint_interval(), config.num_retained
    (10000, 3)
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from enum import Enum

from strom.api.checkpoint_storage import (
    CheckpointStorage,
    FileSystemCheckpointStorage,
    JobManagerCheckpointStorage,
)
from strom.api.configuration import CheckpointingMode
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe
from strom.time.duration_text import parse_duration_ms
from strom.time.durations import Duration, to_millis


class ExternalizedCheckpointRetention(Enum):
    """What happens to retained checkpoints when the job is cancelled (PyFlink 2.x names)."""

    DELETE_ON_CANCELLATION = 0
    RETAIN_ON_CANCELLATION = 1
    NO_EXTERNALIZED_CHECKPOINTS = 2


class ExternalizedCheckpointCleanup(Enum):
    """PyFlink 1.x's name for :class:`ExternalizedCheckpointRetention` (deprecated there)."""

    DELETE_ON_CANCELLATION = 0
    RETAIN_ON_CANCELLATION = 1
    NO_EXTERNALIZED_CHECKPOINTS = 2


_UNALIGNED_HINT = ("strom takes aligned checkpoints only (barriers wait for every input before "
                   "the snapshot); hint: leave unaligned checkpoints off")


class CheckpointConfig:
    """Checkpoint interval, mode, timeouts, concurrency, retention, storage and restore path.

    Defaults follow Flink: checkpointing off (interval -1), EXACTLY_ONCE, 10 min timeout, no
    pause, 1 concurrent checkpoint, 0 tolerated failures, 1 retained checkpoint, no externalized
    retention, no storage directory (checkpoints stay in memory), nothing to restore.
    """

    def __init__(self) -> None:
        self.interval_ms = -1
        self.mode = CheckpointingMode.EXACTLY_ONCE
        self.timeout_ms = 10 * 60 * 1000
        self.min_pause_ms = 0
        self.max_concurrent = 1
        self.tolerable_failures = 0
        self.storage_dir: str | None = None
        self.storage: CheckpointStorage | None = None
        self.unaligned = False
        self.aligned_timeout_ms = 0
        self.externalized_retention = ExternalizedCheckpointRetention.NO_EXTERNALIZED_CHECKPOINTS
        self.num_retained = 1
        self.savepoint_dir: str | None = None
        self.restore_path: str | None = None
        self.allow_non_restored_state = False

    # -- interval and mode --
    def enable_checkpointing(self, interval: int, mode: CheckpointingMode | None = None) -> CheckpointConfig:
        """The article's form of ``env.enable_checkpointing(interval)``."""
        self.set_checkpoint_interval(interval)
        if mode is not None:
            self.set_checkpointing_mode(mode)
        return self

    def is_checkpointing_enabled(self) -> bool:
        return self.interval_ms > 0

    def set_checkpoint_interval(self, checkpoint_interval: int) -> CheckpointConfig:
        ms = to_millis(checkpoint_interval, "set_checkpoint_interval")
        if ms < 10:
            raise JobDefinitionError(
                f"set_checkpoint_interval: expected at least 10 ms, got {ms}. Hint: pass milliseconds.")
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

    # -- timing and concurrency --
    def set_checkpoint_timeout(self, checkpoint_timeout: int) -> CheckpointConfig:
        ms = to_millis(checkpoint_timeout, "set_checkpoint_timeout")
        _require(ms >= 1, "set_checkpoint_timeout", "a timeout >= 1 ms", ms)
        self.timeout_ms = ms
        return self

    def get_checkpoint_timeout(self) -> int:
        return self.timeout_ms

    def set_min_pause_between_checkpoints(self, min_pause_between_checkpoints: int) -> CheckpointConfig:
        ms = to_millis(min_pause_between_checkpoints, "set_min_pause_between_checkpoints")
        _require(ms >= 0, "set_min_pause_between_checkpoints", "a pause >= 0 ms", ms)
        self.min_pause_ms = ms
        return self

    def get_min_pause_between_checkpoints(self) -> int:
        return self.min_pause_ms

    def set_max_concurrent_checkpoints(self, max_concurrent_checkpoints: int) -> CheckpointConfig:
        _require(_is_int(max_concurrent_checkpoints) and max_concurrent_checkpoints >= 1,
                 "set_max_concurrent_checkpoints", "an int >= 1", max_concurrent_checkpoints)
        self.max_concurrent = max_concurrent_checkpoints
        return self

    def get_max_concurrent_checkpoints(self) -> int:
        return self.max_concurrent

    # -- failures --
    def set_tolerable_checkpoint_failure_number(self, tolerable_checkpoint_failure_number: int) -> CheckpointConfig:
        number = tolerable_checkpoint_failure_number
        _require(_is_int(number) and number >= 0, "set_tolerable_checkpoint_failure_number",
                 "an int >= 0", number)
        self.tolerable_failures = number
        return self

    def get_tolerable_checkpoint_failure_number(self) -> int:
        return self.tolerable_failures

    def set_fail_on_checkpointing_errors(self, fail_on_checkpointing_errors: bool) -> CheckpointConfig:
        """Deprecated PyFlink form: ``True`` tolerates no failure, ``False`` tolerates any number."""
        self.tolerable_failures = 0 if fail_on_checkpointing_errors else 2**31 - 1
        return self

    def is_fail_on_checkpointing_errors(self) -> bool:
        return self.tolerable_failures == 0

    # -- retention --
    def set_externalized_checkpoint_retention(self, retention_mode: ExternalizedCheckpointRetention) -> CheckpointConfig:
        """Keep checkpoints after the job ends (RETAIN_/DELETE_ON_CANCELLATION) or not."""
        self.externalized_retention = _retention(retention_mode, "set_externalized_checkpoint_retention")
        return self

    def enable_externalized_checkpoints(self, cleanup_mode: ExternalizedCheckpointCleanup) -> CheckpointConfig:
        """PyFlink 1.x form of :meth:`set_externalized_checkpoint_retention`."""
        return self.set_externalized_checkpoint_cleanup(cleanup_mode)

    def set_externalized_checkpoint_cleanup(self, cleanup_mode: ExternalizedCheckpointCleanup) -> CheckpointConfig:
        """PyFlink 1.x form of :meth:`set_externalized_checkpoint_retention`."""
        self.externalized_retention = _retention(cleanup_mode, "set_externalized_checkpoint_cleanup")
        return self

    def is_externalized_checkpoints_enabled(self) -> bool:
        return self.externalized_retention is not ExternalizedCheckpointRetention.NO_EXTERNALIZED_CHECKPOINTS

    def get_externalized_checkpoint_retention(self) -> ExternalizedCheckpointRetention:
        return self.externalized_retention

    def get_externalized_checkpoint_cleanup(self) -> ExternalizedCheckpointCleanup:
        return ExternalizedCheckpointCleanup[self.externalized_retention.name]

    # -- unaligned checkpoints (not implemented) --
    def enable_unaligned_checkpoints(self, enabled: bool = True) -> CheckpointConfig:
        if enabled:
            raise UnsupportedError(f"enable_unaligned_checkpoints(True): {_UNALIGNED_HINT}")
        self.unaligned = False
        return self

    def disable_unaligned_checkpoints(self) -> CheckpointConfig:
        return self.enable_unaligned_checkpoints(False)

    def is_unaligned_checkpoints_enabled(self) -> bool:
        return self.unaligned

    def set_force_unaligned_checkpoints(self, force_unaligned_checkpoints: bool = True) -> CheckpointConfig:
        if force_unaligned_checkpoints:
            raise UnsupportedError(f"set_force_unaligned_checkpoints(True): {_UNALIGNED_HINT}")
        return self

    def is_force_unaligned_checkpoints(self) -> bool:
        return False

    def set_aligned_checkpoint_timeout(self, alignment_timeout: Duration | timedelta | int) -> CheckpointConfig:
        """When aligned checkpoints turn unaligned; as in Flink, only used with unaligned ones."""
        ms = to_millis(alignment_timeout, "set_aligned_checkpoint_timeout")
        _require(ms >= 0, "set_aligned_checkpoint_timeout", "a timeout >= 0 ms", ms)
        self.aligned_timeout_ms = ms
        return self

    def get_aligned_checkpoint_timeout(self) -> Duration:
        return Duration.of_millis(self.aligned_timeout_ms)

    def set_alignment_timeout(self, alignment_timeout: Duration | timedelta | int) -> CheckpointConfig:
        """Deprecated PyFlink name of :meth:`set_aligned_checkpoint_timeout`."""
        return self.set_aligned_checkpoint_timeout(alignment_timeout)

    def get_alignment_timeout(self) -> Duration:
        return self.get_aligned_checkpoint_timeout()

    # -- storage --
    def set_checkpoint_storage(self, storage: CheckpointStorage | str) -> CheckpointConfig:
        """``FileSystemCheckpointStorage(path)``, ``JobManagerCheckpointStorage()`` or a path."""
        if isinstance(storage, str):
            return self.set_checkpoint_storage_dir(storage)
        if not isinstance(storage, CheckpointStorage):
            msg = (f"set_checkpoint_storage: expected FileSystemCheckpointStorage(path), "
                   f"JobManagerCheckpointStorage() or a path but got {describe(storage)}")
            raise InvalidTypeError(msg)
        self.storage = storage
        self.storage_dir = storage.checkpoint_path if isinstance(storage, FileSystemCheckpointStorage) else None
        if isinstance(storage, JobManagerCheckpointStorage) and storage.checkpoint_path:
            self.savepoint_dir = self.savepoint_dir or storage.checkpoint_path
        return self

    def get_checkpoint_storage(self) -> CheckpointStorage | None:
        if self.storage is None and self.storage_dir is not None:
            return FileSystemCheckpointStorage(self.storage_dir)
        return self.storage

    def set_checkpoint_storage_dir(self, checkpoint_path: str) -> CheckpointConfig:
        """Where checkpoints go: ``file:///path``, a plain path, or ``s3://bucket/prefix``."""
        if not isinstance(checkpoint_path, str) or not checkpoint_path:
            raise JobDefinitionError(f"set_checkpoint_storage_dir: expected a path or URI, got {checkpoint_path!r}")
        self.storage_dir = checkpoint_path
        self.storage = FileSystemCheckpointStorage(checkpoint_path)
        return self

    def get_checkpoint_storage_dir(self) -> str | None:
        return self.storage_dir

    # -- configuration keys --
    def configure(self, settings: Mapping[str, str]) -> None:
        """Apply the checkpointing keys present in ``settings`` (Flink 2.x names and 1.x aliases).

        Raises:
            JobDefinitionError: a value is malformed or out of range; the message names the key.
            UnsupportedError: unaligned checkpoints are switched on.
        """
        for keys, apply in _KEYS:
            for key in keys:
                if key in settings:
                    apply(self, key, str(settings[key]).strip())
                    break


# -- helpers ------------------------------------------------------------------------------------

def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(ok: bool, where: str, expected: str, got: object) -> None:
    if not ok:
        raise JobDefinitionError(f"{where}: expected {expected} but got {describe(got)}")


def _retention(mode: object, where: str) -> ExternalizedCheckpointRetention:
    if isinstance(mode, ExternalizedCheckpointRetention | ExternalizedCheckpointCleanup):
        return ExternalizedCheckpointRetention[mode.name]
    msg = (f"{where}: expected ExternalizedCheckpointRetention.DELETE_ON_CANCELLATION, "
           f"RETAIN_ON_CANCELLATION or NO_EXTERNALIZED_CHECKPOINTS but got {describe(mode)}")
    raise InvalidTypeError(msg)


def _bad(key: str, expected: str, text: str) -> JobDefinitionError:
    return JobDefinitionError(f"configuration key {key!r}: expected {expected} but got {text!r}")


def _int(key: str, text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise _bad(key, f"a whole number >= {low}", text)
    return value


def _ms(key: str, text: str, low: int) -> int:
    value = parse_duration_ms(text, key)
    if value < low:
        raise _bad(key, f"a duration of at least {low} ms", text)
    return value


def _bool(key: str, text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise _bad(key, "true or false", text)
    return text.lower() == "true"


def _path(key: str, text: str) -> str:
    if not text:
        raise _bad(key, "a directory path or URI such as 'file:///tmp/checkpoints'", text)
    return text


def _enum(key: str, text: str, enum: type[Enum]) -> Enum:
    try:
        return enum[text.upper().replace("-", "_")]
    except KeyError:
        raise _bad(key, " or ".join(enum.__members__), text) from None


def _set_mode(config: CheckpointConfig, key: str, text: str) -> None:
    config.mode = _enum(key, text, CheckpointingMode)  # type: ignore[assignment]


def _set_retention(config: CheckpointConfig, key: str, text: str) -> None:
    config.externalized_retention = _enum(key, text, ExternalizedCheckpointRetention)  # type: ignore[assignment]


def _set_unaligned(config: CheckpointConfig, key: str, text: str) -> None:
    if _bool(key, text):
        raise UnsupportedError(f"configuration key {key!r} is true: {_UNALIGNED_HINT}")


def _set_storage_dir(config: CheckpointConfig, key: str, text: str) -> None:
    config.set_checkpoint_storage_dir(_path(key, text))


def _set_savepoint_dir(config: CheckpointConfig, key: str, text: str) -> None:
    config.savepoint_dir = _path(key, text)


def _set_restore_path(config: CheckpointConfig, key: str, text: str) -> None:
    config.restore_path = _path(key, text)


def _setter(attr: str, parse: Callable[[str, str], object]) -> Callable[[CheckpointConfig, str, str], None]:
    def apply(config: CheckpointConfig, key: str, text: str) -> None:
        setattr(config, attr, parse(key, text))
    return apply


def _set_storage_type(config: CheckpointConfig, key: str, text: str) -> None:
    kind = text.lower()
    if kind == "jobmanager":
        config.storage, config.storage_dir = JobManagerCheckpointStorage(), None
    elif kind != "filesystem":
        raise _bad(key, "jobmanager or filesystem", text)


# (keys, first one found wins: the Flink 2.x name, then its 1.x aliases), in the order applied
_KEYS: tuple[tuple[tuple[str, ...], Callable[[CheckpointConfig, str, str], None]], ...] = (
    (("execution.checkpointing.interval",), _setter("interval_ms", lambda k, t: _ms(k, t, 10))),
    (("execution.checkpointing.mode",), _set_mode),
    (("execution.checkpointing.timeout",), _setter("timeout_ms", lambda k, t: _ms(k, t, 1))),
    (("execution.checkpointing.min-pause",), _setter("min_pause_ms", lambda k, t: _ms(k, t, 0))),
    (("execution.checkpointing.max-concurrent-checkpoints",),
     _setter("max_concurrent", lambda k, t: _int(k, t, 1))),
    (("execution.checkpointing.tolerable-failed-checkpoints",),
     _setter("tolerable_failures", lambda k, t: _int(k, t, 0))),
    (("execution.checkpointing.externalized-checkpoint-retention",), _set_retention),
    (("execution.checkpointing.num-retained", "state.checkpoints.num-retained"),
     _setter("num_retained", lambda k, t: _int(k, t, 1))),
    (("execution.checkpointing.storage", "state.checkpoint-storage"), _set_storage_type),
    (("execution.checkpointing.dir", "state.checkpoints.dir"), _set_storage_dir),
    (("execution.checkpointing.savepoint-dir", "state.savepoints.dir"), _set_savepoint_dir),
    (("execution.state-recovery.path", "execution.savepoint.path"), _set_restore_path),
    (("execution.state-recovery.ignore-unclaimed-state", "execution.savepoint.ignore-unclaimed-state"),
     _setter("allow_non_restored_state", _bool)),
    (("execution.checkpointing.unaligned.enabled", "execution.checkpointing.unaligned"), _set_unaligned),
    (("execution.checkpointing.unaligned.forced",), _set_unaligned),
    (("execution.checkpointing.aligned-checkpoint-timeout", "execution.checkpointing.alignment-timeout"),
     _setter("aligned_timeout_ms", lambda k, t: _ms(k, t, 0))),
)

__all__ = ["CheckpointConfig", "ExternalizedCheckpointCleanup", "ExternalizedCheckpointRetention"]
