"""Job configuration: PyFlink's ``Configuration``, ``ExecutionConfig``, ``RestartStrategies``,
``CheckpointingMode`` and ``TimeCharacteristic``.

These are plain value holders read by the environment and the runtime when a job is built; they
do no work themselves. PyFlink's names (including its ``get_``/``set_`` pairs) are kept so that
ported jobs run unchanged.

Example::

    >>> conf = Configuration().set_integer("parallelism.default", 4)
    >>> conf.get_integer("parallelism.default", 1), conf.get_string("parallelism.default", "")
    (4, '4')
"""
from __future__ import annotations

import base64
import binascii
import warnings
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

import yaml

from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe
from strom.time.durations import to_millis


class Configuration:
    """Key/value settings; values are kept as strings, like Flink's ``Configuration.toMap``.

    ``set_integer`` then ``get_string`` gives the decimal text, and ``get_integer`` parses a
    value set with ``set_string``.
    """

    def __init__(self, other: Configuration | None = None, j_configuration: Any = None) -> None:
        if isinstance(j_configuration, Configuration):
            # PyFlink wraps the Java configuration it is given: settings go through to it. strom's
            # stand-in for a Java configuration is a Configuration, which is shared likewise.
            self._data = j_configuration._data
            return
        if j_configuration is not None:
            msg = ("Configuration(j_configuration=...): strom has no Java configuration to wrap; "
                   "hint: Configuration(other) copies a configuration, "
                   "Configuration.from_dict({...}) builds one")
            raise UnsupportedError(msg)
        if other is not None and not isinstance(other, Configuration):
            msg = (f"Configuration(other): expected a Configuration to copy but got "
                   f"{describe(other)}; hint: Configuration.from_dict({{...}}) takes a dict")
            raise InvalidTypeError(msg)
        self._data: dict[str, str] = dict(other._data) if other is not None else {}

    @classmethod
    def from_dict(cls, map: dict[str, str]) -> Configuration:
        """A configuration holding the given key/value pairs."""
        conf = cls()
        for key, value in map.items():
            conf._data[key] = str(value)
        return conf

    def _parsed(self, key: str, default: object, kind: str, parse: type) -> object:
        if key not in self._data:
            return default
        text = self._data[key]
        try:
            return parse(text)
        except ValueError:
            msg = (f"Configuration: key {key!r} holds {text!r}, which is not {kind}; "
                   f"hint: set it with set_{kind}")
            raise InvalidTypeError(msg) from None

    def get_string(self, key: str, default_value: str) -> str:
        """The value of ``key``, or ``default_value`` if it is not set."""
        return self._data.get(key, default_value)

    def set_string(self, key: str, value: str) -> Configuration:
        """Set ``key`` to ``value``; returns this configuration."""
        self._data[key] = str(value)
        return self

    def get_integer(self, key: str, default_value: int) -> int:
        """The value of ``key`` as an ``int``, or ``default_value`` if it is not set."""
        return self._parsed(key, default_value, "integer", int)  # type: ignore[return-value]

    def set_integer(self, key: str, value: int) -> Configuration:
        """Set ``key`` to an ``int``; returns this configuration."""
        self._data[key] = str(int(value))
        return self

    def get_boolean(self, key: str, default_value: bool) -> bool:
        """The value of ``key`` as a ``bool`` (``"true"``/``"false"``, any case)."""
        return self._parsed(key, default_value, "boolean", _parse_bool)  # type: ignore[return-value]

    def set_boolean(self, key: str, value: bool) -> Configuration:
        """Set ``key`` to a ``bool``, stored as ``"true"``/``"false"``."""
        self._data[key] = "true" if value else "false"
        return self

    def get_float(self, key: str, default_value: float) -> float:
        """The value of ``key`` as a ``float``, or ``default_value`` if it is not set."""
        return self._parsed(key, default_value, "float", float)  # type: ignore[return-value]

    def set_float(self, key: str, value: float) -> Configuration:
        """Set ``key`` to a ``float``; returns this configuration."""
        self._data[key] = repr(float(value))
        return self

    def get_bytearray(self, key: str, default_value: bytearray) -> bytearray:
        """The bytes stored under ``key`` with :meth:`set_bytearray`, or ``default_value``."""
        if key not in self._data:
            return default_value
        try:
            return bytearray(base64.b64decode(self._data[key], validate=True))
        except binascii.Error:
            msg = (f"Configuration: key {key!r} holds {self._data[key]!r}, which was not set "
                   f"with set_bytearray; hint: read it with get_string")
            raise InvalidTypeError(msg) from None

    def set_bytearray(self, key: str, value: bytearray) -> Configuration:
        """Store bytes under ``key`` (kept as base64 text, so ``to_dict`` stays all strings)."""
        if not isinstance(value, (bytes, bytearray, memoryview)):
            msg = (f"Configuration.set_bytearray({key!r}): expected bytes or a bytearray but got "
                   f"{describe(value)}")
            raise InvalidTypeError(msg)
        self._data[key] = base64.b64encode(bytes(value)).decode("ascii")
        return self

    @staticmethod
    def parse_list_value(value: str) -> list:
        """A list-valued setting's items: a YAML flow list (``[a, b]``) or ``;``-separated text
        (how ``pipeline.jars`` and other list options are written)."""
        if not value:
            return []
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = None
        return parsed if isinstance(parsed, list) else value.split(";")

    def get(self, option: Any) -> Any:
        """The value of a :class:`~strom.api.config_options.ConfigOption`, typed as the option
        declares, or the option's default (Java's ``Configuration.get``)."""
        return option.read(self)

    def set(self, option: Any, value: Any) -> Configuration:
        """Set a :class:`~strom.api.config_options.ConfigOption` (Java's ``Configuration.set``)."""
        option.write(self, value)
        return self

    def key_set(self) -> set[str]:
        """All keys that are set."""
        return set(self._data)

    def add_all_to_dict(self, target_dict: dict) -> None:
        """Copy every key/value pair into ``target_dict``."""
        target_dict.update(self._data)

    def add_all(self, other: Configuration, prefix: str | None = None) -> Configuration:
        """Copy every pair of ``other`` in, with keys prefixed by ``prefix`` if given."""
        for key, value in other._data.items():
            self._data[(prefix or "") + key] = value
        return self

    def contains_key(self, key: str) -> bool:
        """Whether ``key`` is set."""
        return key in self._data

    def to_dict(self) -> dict[str, str]:
        """A copy of the settings as a dict of strings."""
        return dict(self._data)

    def remove_config(self, key: str) -> bool:
        """Remove ``key``; returns whether it was set."""
        return self._data.pop(key, None) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Configuration) and other._data == self._data

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"Configuration.from_dict({self._data!r})"


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


class RestartStrategyConfiguration:
    """Base of the restart strategy settings made by :class:`RestartStrategies`."""

    def get_description(self) -> str:
        """A one-line description, as Flink logs it."""
        raise NotImplementedError


class RestartStrategies:
    """Restart strategy settings (PyFlink names); the checkpoint/restart layer reads them.

    Intervals are given as ``int`` milliseconds, ``timedelta``, ``Duration`` or ``Time``.
    """

    @dataclass(frozen=True, slots=True)
    class NoRestartStrategyConfiguration(RestartStrategyConfiguration):
        """Never restart: the first failure fails the job."""

        def get_description(self) -> str:
            """A one-line description."""
            return "Restart deactivated."

    @dataclass(frozen=True, slots=True, init=False)
    class FixedDelayRestartStrategyConfiguration(RestartStrategyConfiguration):
        """Restart up to ``restart_attempts`` times, waiting the delay before each restart.

        PyFlink's constructor: ``(restart_attempts, delay_between_attempts_interval)``, the
        interval as int milliseconds, ``timedelta``, ``Duration`` or ``Time``.
        """

        restart_attempts: int
        delay_between_attempts_ms: int

        def __init__(self, restart_attempts: int, delay_between_attempts_interval: object
                     ) -> None:
            where = "FixedDelayRestartStrategyConfiguration"
            object.__setattr__(self, "restart_attempts",
                               _count(restart_attempts, f"{where}(restart_attempts)"))
            object.__setattr__(self, "delay_between_attempts_ms", to_millis(
                delay_between_attempts_interval,  # type: ignore[arg-type]
                f"{where}(delay_between_attempts_interval)"))

        def get_restart_attempts(self) -> int:
            """How many restarts are allowed."""
            return self.restart_attempts

        def get_delay_between_attempts_interval(self) -> timedelta:
            """The wait before each restart."""
            return timedelta(milliseconds=self.delay_between_attempts_ms)

        def get_description(self) -> str:
            """A one-line description."""
            return (f"Restart with fixed delay ({self.delay_between_attempts_ms} ms). "
                    f"#{self.restart_attempts} restart attempts.")

    @dataclass(frozen=True, slots=True, init=False)
    class FailureRateRestartStrategyConfiguration(RestartStrategyConfiguration):
        """Restart unless more than ``max_failure_rate`` failures happen within the interval.

        PyFlink's constructor: ``(max_failure_rate, failure_interval,
        delay_between_attempts_interval)``, intervals as int milliseconds, ``timedelta``,
        ``Duration`` or ``Time``.
        """

        max_failure_rate: int
        failure_interval_ms: int
        delay_between_attempts_ms: int

        def __init__(self, max_failure_rate: int, failure_interval: object,
                     delay_between_attempts_interval: object) -> None:
            where = "FailureRateRestartStrategyConfiguration"
            object.__setattr__(self, "max_failure_rate",
                               _count(max_failure_rate, f"{where}(max_failure_rate)"))
            object.__setattr__(self, "failure_interval_ms", to_millis(
                failure_interval, f"{where}(failure_interval)"))  # type: ignore[arg-type]
            object.__setattr__(self, "delay_between_attempts_ms", to_millis(
                delay_between_attempts_interval,  # type: ignore[arg-type]
                f"{where}(delay_between_attempts_interval)"))

        def get_max_failure_rate(self) -> int:
            """The most failures tolerated within the failure interval."""
            return self.max_failure_rate

        def get_failure_interval(self) -> timedelta:
            """The window in which failures are counted."""
            return timedelta(milliseconds=self.failure_interval_ms)

        def get_delay_between_attempts_interval(self) -> timedelta:
            """The wait before each restart."""
            return timedelta(milliseconds=self.delay_between_attempts_ms)

        def get_description(self) -> str:
            """A one-line description."""
            return (f"Failure rate restart with maximum of {self.max_failure_rate} failures "
                    f"within interval {self.failure_interval_ms} ms and fixed delay "
                    f"{self.delay_between_attempts_ms} ms.")

    @dataclass(frozen=True, slots=True)
    class FallbackRestartStrategyConfiguration(RestartStrategyConfiguration):
        """Use the cluster-level (executor default) restart strategy."""

        def get_description(self) -> str:
            """A one-line description."""
            return "Cluster level default restart strategy"

    @staticmethod
    def no_restart() -> RestartStrategies.NoRestartStrategyConfiguration:
        """Never restart."""
        return RestartStrategies.NoRestartStrategyConfiguration()

    @staticmethod
    def fall_back_restart() -> RestartStrategies.FallbackRestartStrategyConfiguration:
        """Use the executor's default restart strategy."""
        return RestartStrategies.FallbackRestartStrategyConfiguration()

    @staticmethod
    def fixed_delay_restart(restart_attempts: int, delay_between_attempts: object
                            ) -> RestartStrategies.FixedDelayRestartStrategyConfiguration:
        """Restart at most ``restart_attempts`` times, ``delay_between_attempts`` apart."""
        return RestartStrategies.FixedDelayRestartStrategyConfiguration(
            _count(restart_attempts, "fixed_delay_restart(restart_attempts)"),
            to_millis(delay_between_attempts,  # type: ignore[arg-type]
                      "fixed_delay_restart(delay_between_attempts)"))

    @staticmethod
    def failure_rate_restart(failure_rate: int, failure_interval: object, delay_interval: object
                             ) -> RestartStrategies.FailureRateRestartStrategyConfiguration:
        """Restart unless ``failure_rate`` failures happen within ``failure_interval``."""
        return RestartStrategies.FailureRateRestartStrategyConfiguration(
            _count(failure_rate, "failure_rate_restart(failure_rate)"),
            to_millis(failure_interval,  # type: ignore[arg-type]
                      "failure_rate_restart(failure_interval)"),
            to_millis(delay_interval, "failure_rate_restart(delay_interval)"))  # type: ignore[arg-type]


def _count(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        msg = (f"{where}: expected an int but got {describe(value)} of type "
               f"{type(value).__name__}")
        raise InvalidTypeError(msg)
    if value < 0:
        msg = f"{where}: expected a count >= 0 but got {value}"
        raise JobDefinitionError(msg)
    return value


class ExecutionConfig:
    """Settings for how a job runs (PyFlink's ``ExecutionConfig``).

    Defaults: parallelism ``PARALLELISM_DEFAULT`` (-1, use the environment's), max parallelism
    128 (Flink's default lower bound for key groups), auto-watermark interval 200 ms, object
    reuse off, no global job parameters, restart strategy unset (``None``).
    """

    PARALLELISM_DEFAULT = -1
    PARALLELISM_UNKNOWN = -2

    def __init__(self) -> None:
        self._parallelism = ExecutionConfig.PARALLELISM_DEFAULT
        self._max_parallelism = 128
        self._auto_watermark_interval = 200
        self._object_reuse = False
        self._global_job_parameters: dict[str, str] = {}
        self._restart_strategy: RestartStrategyConfiguration | None = None
        self._auto_generated_uids = True
        self._closure_cleaner = True
        self._generic_types = True

    def set_auto_watermark_interval(self, interval: int) -> ExecutionConfig:
        """Emit periodic watermarks every ``interval`` ms (0 disables them)."""
        interval = to_millis(interval, "set_auto_watermark_interval")
        if interval < 0:
            msg = f"set_auto_watermark_interval: expected an interval >= 0 ms but got {interval}"
            raise JobDefinitionError(msg)
        self._auto_watermark_interval = interval
        return self

    def get_auto_watermark_interval(self) -> int:
        """The periodic watermark interval in ms."""
        return self._auto_watermark_interval

    def set_parallelism(self, parallelism: int) -> ExecutionConfig:
        """Default parallelism of operators; ``PARALLELISM_DEFAULT`` resets it."""
        if parallelism != ExecutionConfig.PARALLELISM_DEFAULT \
                and _count(parallelism, "set_parallelism") == 0:
            msg = "set_parallelism: parallelism must be >= 1 (or PARALLELISM_DEFAULT) but got 0"
            raise JobDefinitionError(msg)
        self._parallelism = parallelism
        return self

    def get_parallelism(self) -> int:
        """The default parallelism, or ``PARALLELISM_DEFAULT`` if unset."""
        return self._parallelism

    def set_max_parallelism(self, max_parallelism: int) -> ExecutionConfig:
        """Upper bound for rescaling; also the number of key groups (1..32768)."""
        max_parallelism = _count(max_parallelism, "set_max_parallelism")
        if not 1 <= max_parallelism <= 32768:
            msg = f"set_max_parallelism: expected 1..32768 but got {max_parallelism}"
            raise JobDefinitionError(msg)
        self._max_parallelism = max_parallelism
        return self

    def get_max_parallelism(self) -> int:
        """The maximum parallelism (number of key groups)."""
        return self._max_parallelism

    def enable_object_reuse(self) -> ExecutionConfig:
        """Allow operators to pass records on without copying them (strom always does within a
        process, as PyFlink does between chained Python functions: docs/compatibility.md)."""
        self._object_reuse = True
        return self

    def disable_object_reuse(self) -> ExecutionConfig:
        """Flink's default: copy records between chained operators. Recorded; strom, like
        PyFlink's Python functions, passes them by reference (docs/compatibility.md)."""
        self._object_reuse = False
        return self

    def is_object_reuse_enabled(self) -> bool:
        """Whether object reuse is on."""
        return self._object_reuse

    def set_global_job_parameters(self, global_job_parameters_dict: dict) -> ExecutionConfig:
        """Parameters visible to every function; values are stored as strings (as PyFlink)."""
        self._global_job_parameters = {str(k): str(v)
                                       for k, v in global_job_parameters_dict.items()}
        return self

    def get_global_job_parameters(self) -> dict[str, str]:
        """A copy of the global job parameters."""
        return dict(self._global_job_parameters)

    def set_restart_strategy(self, restart_strategy_configuration: RestartStrategyConfiguration
                             ) -> ExecutionConfig:
        """Set the restart strategy (built with :class:`RestartStrategies`)."""
        if not isinstance(restart_strategy_configuration, RestartStrategyConfiguration):
            msg = (f"set_restart_strategy: expected a RestartStrategies configuration but got "
                   f"{describe(restart_strategy_configuration)}; hint: use "
                   f"RestartStrategies.fixed_delay_restart(3, 1000)")
            raise InvalidTypeError(msg)
        self._restart_strategy = restart_strategy_configuration
        return self

    def get_restart_strategy(self) -> RestartStrategyConfiguration | None:
        """The restart strategy, or ``None`` if unset."""
        return self._restart_strategy

    # -- operator uids --
    def enable_auto_generated_uids(self) -> ExecutionConfig:
        """Let operators without ``uid(...)`` get one from their place in the job (default)."""
        self._auto_generated_uids = True
        return self

    def disable_auto_generated_uids(self) -> ExecutionConfig:
        """Require ``uid(...)`` on every operator: building the job fails naming any without."""
        self._auto_generated_uids = False
        return self

    def has_auto_generated_uids_enabled(self) -> bool:
        """Whether operators may go without an explicit ``uid``."""
        return self._auto_generated_uids

    # -- Java-only switches PyFlink keeps: recorded; they change nothing for Python functions --
    def enable_closure_cleaner(self) -> ExecutionConfig:
        """Java's closure cleaner (on by default); strom ships Python functions with cloudpickle,
        which captures only what a function refers to: recorded, warns once."""
        self._closure_cleaner = True
        return self

    def disable_closure_cleaner(self) -> ExecutionConfig:
        """See :meth:`enable_closure_cleaner`: recorded, warns once that it has no effect."""
        warn_no_effect("ExecutionConfig.disable_closure_cleaner",
                       "strom has no Java closures to clean (cloudpickle ships Python functions)")
        self._closure_cleaner = False
        return self

    def is_closure_cleaner_enabled(self) -> bool:
        """The closure-cleaner switch as last set."""
        return self._closure_cleaner

    def enable_generic_types(self) -> ExecutionConfig:
        """Allow Java's generic (Kryo) types (the default); Python records never are: recorded."""
        self._generic_types = True
        return self

    def disable_generic_types(self) -> ExecutionConfig:
        """Forbid Java's generic (Kryo) types. strom's records are pickled Python objects, as
        PyFlink's are, so nothing changes: recorded, warns once."""
        warn_no_effect("ExecutionConfig.disable_generic_types",
                       "strom has no Java generic (Kryo) types; declare output_type to have "
                       "records checked")
        self._generic_types = False
        return self

    def has_generic_types_disabled(self) -> bool:
        """Whether :meth:`disable_generic_types` was called last."""
        return not self._generic_types

    def enable_force_kryo(self) -> ExecutionConfig:
        """Java's Kryo serializer: raises ``UnsupportedFeatureError`` (strom pickles records)."""
        raise _no_java_serializers("enable_force_kryo")

    def disable_force_kryo(self) -> ExecutionConfig:
        """Kryo is never forced in strom (this is its only state): accepted."""
        return self

    def is_force_kryo_enabled(self) -> bool:
        """Always ``False``: strom has no Kryo."""
        return False

    def enable_force_avro(self) -> ExecutionConfig:
        """Java's Avro serializer for POJOs: raises ``UnsupportedFeatureError``."""
        raise _no_java_serializers("enable_force_avro")

    def disable_force_avro(self) -> ExecutionConfig:
        """Avro is never forced in strom (this is its only state): accepted."""
        return self

    def is_force_avro_enabled(self) -> bool:
        """Always ``False``: strom has no Avro serializer for POJOs."""
        return False

    def get_registered_kryo_types(self) -> list[str]:
        """Always empty: there is no Kryo to register types with."""
        return []

    def get_registered_pojo_types(self) -> list[str]:
        """Always empty: there are no Java POJO types."""
        return []

    def get_default_kryo_serializer_classes(self) -> dict[str, str]:
        """Always empty: there is no Kryo."""
        return {}

    # -- runtime knobs strom does not have; the getters report strom's (Flink's default) state --
    def set_latency_tracking_interval(self, interval: int) -> ExecutionConfig:
        """Flink's latency markers; strom has none, so only 0 or less (off) is accepted."""
        if to_millis(interval, "set_latency_tracking_interval") > 0:
            msg = (f"set_latency_tracking_interval({interval}): strom does not send latency "
                   f"markers; hint: leave it out and read the operators' "
                   f"currentInputWatermark / busy-time metrics instead")
            raise UnsupportedError(msg)
        return self

    def get_latency_tracking_interval(self) -> int:
        """0: latency tracking is off (Flink's default; strom has none)."""
        return 0

    def set_task_cancellation_interval(self, interval: int) -> ExecutionConfig:
        """Java's interval between interrupts of a cancelled task's thread: not in strom."""
        raise _no_cancellation_knobs("set_task_cancellation_interval", interval)

    def get_task_cancellation_interval(self) -> int:
        """Flink's default (30000 ms); strom cancels cooperatively and never interrupts."""
        return 30_000

    def set_task_cancellation_timeout(self, timeout: int) -> ExecutionConfig:
        """Java's watchdog that kills a TaskManager whose task does not cancel: not in strom."""
        raise _no_cancellation_knobs("set_task_cancellation_timeout", timeout)

    def get_task_cancellation_timeout(self) -> int:
        """Flink's default (180000 ms); strom has no cancellation watchdog."""
        return 180_000

    def set_use_snapshot_compression(self, use_snapshot_compression: bool) -> ExecutionConfig:
        """Compressed keyed-state snapshots: strom writes them uncompressed, so ``True`` raises."""
        if use_snapshot_compression:
            msg = ("set_use_snapshot_compression(True): strom does not compress state snapshots; "
                   "hint: leave it out (store checkpoints on a compressing file system if size "
                   "matters)")
            raise UnsupportedError(msg)
        return self

    def is_use_snapshot_compression(self) -> bool:
        """Always ``False``: snapshots are not compressed."""
        return False


_WARNED_CALLS: set[str] = set()


def warn_no_effect(call: str, why: str) -> None:
    """Warn once per process that a JVM-only call changes nothing in strom (PyFlink jobs make
    them freely, so they are accepted rather than refused)."""
    if call not in _WARNED_CALLS:
        _WARNED_CALLS.add(call)
        warnings.warn(f"{call}(): {why}; the call has no effect on strom.", RuntimeWarning,
                      stacklevel=3)


def _no_java_serializers(call: str) -> UnsupportedError:
    return UnsupportedError(
        f"ExecutionConfig.{call}(): strom has no Java serializers (Kryo, Avro); records are "
        f"pickled Python objects; hint: leave it out, and declare output_type with Types.* to "
        f"have records checked")


def _no_cancellation_knobs(call: str, value: object) -> UnsupportedError:
    return UnsupportedError(
        f"ExecutionConfig.{call}({describe(value)}): strom cancels a task cooperatively between "
        f"records and has no interrupt interval or watchdog; hint: leave it out")


class CheckpointingMode(Enum):
    """Checkpoint consistency guarantee (PyFlink's values)."""

    EXACTLY_ONCE = 0
    AT_LEAST_ONCE = 1


class TimeCharacteristic(Enum):
    """Legacy notion of time for a job (PyFlink's values)."""

    ProcessingTime = 0
    IngestionTime = 1
    EventTime = 2


class InputDependencyConstraint(Enum):
    """When a task with several inputs may be scheduled (PyFlink's values). strom deploys every
    task of a job at once, which satisfies both."""

    ANY = 0
    ALL = 1
