"""State descriptors and TTL configuration, with PyFlink's names and signatures.

A descriptor names a piece of keyed state, says what kind it is and carries what the backend
needs to build it (the reduce / aggregate function, the TTL config). Type information is kept
for PyFlink compatibility and documentation; the heap backend stores Python objects as they are.

Example:
    >>> from datetime import timedelta
    >>> ttl = (StateTtlConfig.new_builder(60_000)
    ...        .set_update_type(StateTtlConfig.UpdateType.OnReadAndWrite)
    ...        .set_state_visibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
    ...        .build())
    >>> desc = ValueStateDescriptor("last_seen", None)
    >>> desc.enable_time_to_live(ttl)
    >>> desc.get_name(), ttl.ttl_ms
    ('last_seen', 60000)
"""
from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from strom.errors import InvalidTypeError, JobDefinitionError, describe

__all__ = [
    "AggregatingStateDescriptor",
    "ListStateDescriptor",
    "MapStateDescriptor",
    "ReducingStateDescriptor",
    "StateDescriptor",
    "StateTtlConfig",
    "ValueStateDescriptor",
]


def _to_ms(duration: Any, what: str) -> int:
    """Milliseconds of a ``Time``/``Duration`` (anything with ``to_milliseconds()``), an int or a
    ``datetime.timedelta``."""
    if hasattr(duration, "to_milliseconds"):
        ms = duration.to_milliseconds()
    elif hasattr(duration, "total_seconds"):
        ms = round(duration.total_seconds() * 1000)
    elif isinstance(duration, int) and not isinstance(duration, bool):
        ms = duration
    else:
        msg = (f"{what}: expected a Time/Duration (with to_milliseconds()), a timedelta or int "
               f"milliseconds, got {describe(duration)} ({type(duration).__name__})")
        raise InvalidTypeError(msg)
    if ms <= 0:
        msg = f"{what}: the TTL must be positive, got {ms} ms"
        raise InvalidTypeError(msg)
    return int(ms)


class StateTtlConfig:
    """When keyed state expires, mirroring Flink's ``StateTtlConfig``.

    Build one with :meth:`new_builder`. Time is processing time from the backend's clock; the
    last-access timestamp is refreshed on writes (``OnCreateAndWrite``) or also on reads
    (``OnReadAndWrite``). Expired entries are removed when read; with ``cleanup_full_snapshot``
    they are also left out of snapshots.
    """

    class UpdateType(Enum):
        """When the last-access timestamp (which prolongs the TTL) is updated."""

        Disabled = 0
        OnCreateAndWrite = 1
        OnReadAndWrite = 2

    class StateVisibility(Enum):
        """Whether an expired value that is still stored may be returned (once) by a read."""

        ReturnExpiredIfNotCleanedUp = 0
        NeverReturnExpired = 1

    class TtlTimeCharacteristic(Enum):
        """The time scale of the TTL; only processing time, as in Flink."""

        ProcessingTime = 0

    class CleanupStrategies:
        """Which background cleanups are configured (strom's heap backend honours the full
        snapshot cleanup; incremental cleanup is recorded for :meth:`MemoryStateBackend.
        cleanup_expired` callers; the RocksDB filter is recorded for a RocksDB backend).

        PyFlink's constructor: ``CleanupStrategies(strategies, is_cleanup_in_background)``, with
        ``strategies`` a dict from :class:`Strategies` to a :class:`CleanupStrategy` (usually
        built by :class:`StateTtlConfig.Builder`).
        """

        class Strategies(Enum):
            """The kinds of cleanup, the keys of the ``strategies`` dict."""

            FULL_STATE_SCAN_SNAPSHOT = 0
            INCREMENTAL_CLEANUP = 1
            ROCKSDB_COMPACTION_FILTER = 2

        class CleanupStrategy:
            """Base of the cleanup strategies' configurations."""

        class EmptyCleanupStrategy(CleanupStrategy):
            """A strategy without settings (the full snapshot cleanup's)."""

        class IncrementalCleanupStrategy(CleanupStrategy):
            """Check ``cleanup_size`` entries per state access (and per record if asked)."""

            def __init__(self, cleanup_size: int, run_cleanup_for_every_record: bool) -> None:
                self.cleanup_size = cleanup_size
                self.every_record = run_cleanup_for_every_record

            def get_cleanup_size(self) -> int:
                """PyFlink-compatible accessor of ``cleanup_size``."""
                return self.cleanup_size

            def run_cleanup_for_every_record(self) -> bool:
                """Whether incremental cleanup also runs once per processed record."""
                return self.every_record

        class RocksdbCompactFilterCleanupStrategy(CleanupStrategy):
            """Cleanup in RocksDB compaction, querying the time every N entries."""

            def __init__(self, query_time_after_num_entries: int,
                         periodic_compaction_time: Any = None) -> None:
                self.query_time_after_num_entries = query_time_after_num_entries
                self.periodic_compaction_time = periodic_compaction_time

            def get_query_time_after_num_entries(self) -> int:
                """PyFlink-compatible accessor."""
                return self.query_time_after_num_entries

            def get_periodic_compaction_time(self) -> Any:
                """PyFlink-compatible accessor."""
                return self.periodic_compaction_time

        EMPTY_STRATEGY: Any = None  # an EmptyCleanupStrategy, set below the class

        def __init__(self, strategies: dict[Any, Any], is_cleanup_in_background: bool) -> None:
            kinds = StateTtlConfig.CleanupStrategies.Strategies
            for kind in strategies:
                if not isinstance(kind, kinds):
                    msg = (f"CleanupStrategies: the keys of strategies are "
                           f"StateTtlConfig.CleanupStrategies.Strategies members, got "
                           f"{describe(kind)} ({type(kind).__name__})")
                    raise JobDefinitionError(msg)
            self.strategies = dict(strategies)
            self.cleanup_in_background = is_cleanup_in_background

        def is_cleanup_in_background(self) -> bool:
            """Whether the default background cleanup is on (it is unless disabled)."""
            return self.cleanup_in_background

        def in_full_snapshot(self) -> bool:
            """Whether expired entries are dropped from full snapshots."""
            return (StateTtlConfig.CleanupStrategies.Strategies.FULL_STATE_SCAN_SNAPSHOT
                    in self.strategies)

        def get_incremental_cleanup_strategy(self) -> Any:
            """The incremental strategy, defaulting to (5, False) when background cleanup is on."""
            found = self.strategies.get(
                StateTtlConfig.CleanupStrategies.Strategies.INCREMENTAL_CLEANUP)
            if found is None and self.cleanup_in_background:
                return StateTtlConfig.CleanupStrategies.IncrementalCleanupStrategy(5, False)
            return found

        def get_rocksdb_compact_filter_cleanup_strategy(self) -> Any:
            """The RocksDB strategy, defaulting to 1000 entries when background cleanup is on."""
            found = self.strategies.get(
                StateTtlConfig.CleanupStrategies.Strategies.ROCKSDB_COMPACTION_FILTER)
            if found is None and self.cleanup_in_background:
                return StateTtlConfig.CleanupStrategies.RocksdbCompactFilterCleanupStrategy(1000)
            return found

    class Builder:
        """Builder of :class:`StateTtlConfig` (PyFlink's fluent API)."""

        def __init__(self, ttl: Any) -> None:
            self._ttl = ttl
            self._update_type = StateTtlConfig.UpdateType.OnCreateAndWrite
            self._visibility = StateTtlConfig.StateVisibility.NeverReturnExpired
            self._characteristic = StateTtlConfig.TtlTimeCharacteristic.ProcessingTime
            self._full_snapshot = False
            self._incremental: Any = None
            self._rocksdb: Any = None
            self._background = True

        def set_update_type(self, update_type: StateTtlConfig.UpdateType) -> StateTtlConfig.Builder:
            """When to refresh the last-access timestamp."""
            self._update_type = update_type
            return self

        def update_ttl_on_create_and_write(self) -> StateTtlConfig.Builder:
            """Refresh on writes only (the default)."""
            return self.set_update_type(StateTtlConfig.UpdateType.OnCreateAndWrite)

        def update_ttl_on_read_and_write(self) -> StateTtlConfig.Builder:
            """Refresh on reads and writes."""
            return self.set_update_type(StateTtlConfig.UpdateType.OnReadAndWrite)

        def set_state_visibility(
                self, state_visibility: StateTtlConfig.StateVisibility) -> StateTtlConfig.Builder:
            """Whether expired values still stored may be returned."""
            self._visibility = state_visibility
            return self

        def return_expired_if_not_cleaned_up(self) -> StateTtlConfig.Builder:
            """Return an expired value if it is still stored (it is removed by that read)."""
            return self.set_state_visibility(
                StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp)

        def never_return_expired(self) -> StateTtlConfig.Builder:
            """Never return expired values (the default)."""
            return self.set_state_visibility(StateTtlConfig.StateVisibility.NeverReturnExpired)

        def set_ttl_time_characteristic(
                self, ttl_time_characteristic: StateTtlConfig.TtlTimeCharacteristic,
        ) -> StateTtlConfig.Builder:
            """The time scale (processing time is the only one)."""
            self._characteristic = ttl_time_characteristic
            return self

        def use_processing_time(self) -> StateTtlConfig.Builder:
            """Use processing time (the default and only choice)."""
            return self.set_ttl_time_characteristic(
                StateTtlConfig.TtlTimeCharacteristic.ProcessingTime)

        def cleanup_full_snapshot(self) -> StateTtlConfig.Builder:
            """Leave expired entries out of full snapshots."""
            self._full_snapshot = True
            return self

        def cleanup_incrementally(self, cleanup_size: int,
                                  run_cleanup_for_every_record: bool) -> StateTtlConfig.Builder:
            """Record an incremental cleanup (see :class:`CleanupStrategies`)."""
            self._incremental = StateTtlConfig.CleanupStrategies.IncrementalCleanupStrategy(
                cleanup_size, run_cleanup_for_every_record)
            return self

        def cleanup_in_rocksdb_compact_filter(
                self, query_time_after_num_entries: int,
                periodic_compaction_time: Any = None) -> StateTtlConfig.Builder:
            """Record a RocksDB compaction-filter cleanup (no effect on the heap backend)."""
            self._rocksdb = StateTtlConfig.CleanupStrategies.RocksdbCompactFilterCleanupStrategy(
                query_time_after_num_entries, periodic_compaction_time)
            return self

        def disable_cleanup_in_background(self) -> StateTtlConfig.Builder:
            """Turn off the default background cleanup (explicit strategies stay on)."""
            self._background = False
            return self

        def set_ttl(self, ttl: Any) -> StateTtlConfig.Builder:
            """Set the time to live (``Time``/``Duration``, timedelta or int milliseconds)."""
            self._ttl = ttl
            return self

        def build(self) -> StateTtlConfig:
            """The immutable config."""
            kinds = StateTtlConfig.CleanupStrategies.Strategies
            chosen: dict[Any, Any] = {}
            if self._full_snapshot:
                chosen[kinds.FULL_STATE_SCAN_SNAPSHOT] = \
                    StateTtlConfig.CleanupStrategies.EMPTY_STRATEGY
            if self._incremental is not None:
                chosen[kinds.INCREMENTAL_CLEANUP] = self._incremental
            if self._rocksdb is not None:
                chosen[kinds.ROCKSDB_COMPACTION_FILTER] = self._rocksdb
            strategies = StateTtlConfig.CleanupStrategies(chosen, self._background)
            return StateTtlConfig(self._update_type, self._visibility, self._characteristic,
                                  self._ttl, strategies)

    def __init__(self, update_type: StateTtlConfig.UpdateType,
                 state_visibility: StateTtlConfig.StateVisibility,
                 ttl_time_characteristic: StateTtlConfig.TtlTimeCharacteristic,
                 ttl: Any, cleanup_strategies: StateTtlConfig.CleanupStrategies) -> None:
        self.update_type = update_type
        self.state_visibility = state_visibility
        self.ttl_time_characteristic = ttl_time_characteristic
        self.ttl = ttl
        self.ttl_ms = _to_ms(ttl, "StateTtlConfig")
        self.cleanup_strategies = cleanup_strategies

    @staticmethod
    def new_builder(ttl: Any) -> StateTtlConfig.Builder:
        """Start a builder; ``ttl`` is a ``Time``/``Duration``, timedelta or int milliseconds."""
        return StateTtlConfig.Builder(ttl)

    def is_enabled(self) -> bool:
        """Whether TTL applies (the update type is not ``Disabled``)."""
        return self.update_type is not StateTtlConfig.UpdateType.Disabled

    def get_update_type(self) -> StateTtlConfig.UpdateType:
        """PyFlink-compatible accessor of ``update_type``."""
        return self.update_type

    def get_state_visibility(self) -> StateTtlConfig.StateVisibility:
        """PyFlink-compatible accessor of ``state_visibility``."""
        return self.state_visibility

    def get_ttl(self) -> Any:
        """PyFlink-compatible accessor of ``ttl`` (as given)."""
        return self.ttl

    def get_ttl_time_characteristic(self) -> StateTtlConfig.TtlTimeCharacteristic:
        """PyFlink-compatible accessor of ``ttl_time_characteristic``."""
        return self.ttl_time_characteristic

    def get_cleanup_strategies(self) -> StateTtlConfig.CleanupStrategies:
        """PyFlink-compatible accessor of ``cleanup_strategies``."""
        return self.cleanup_strategies

    def __repr__(self) -> str:
        return (f"StateTtlConfig(update_type={self.update_type.name}, "
                f"state_visibility={self.state_visibility.name}, ttl_ms={self.ttl_ms})")


StateTtlConfig.CleanupStrategies.EMPTY_STRATEGY = StateTtlConfig.CleanupStrategies.EmptyCleanupStrategy()


class StateDescriptor:
    """Names a piece of keyed state and describes how to build it.

    Attributes:
        name: the state's name, unique per operator.
        type_info: the type information given (opaque to the heap backend).
        ttl_config: the :class:`StateTtlConfig`, or ``None`` without TTL.
    """

    kind: str = ""
    """The state kind, as stored in snapshots: value, list, map, reducing or aggregating."""

    def __init__(self, name: str, type_info: Any) -> None:
        if not isinstance(name, str) or not name:
            msg = f"state descriptor: the name must be a non-empty str, got {describe(name)}"
            raise InvalidTypeError(msg)
        self.name = name
        self.type_info = type_info
        self.ttl_config: StateTtlConfig | None = None

    def get_name(self) -> str:
        """The state's name (PyFlink-compatible)."""
        return self.name

    def enable_time_to_live(self, ttl_config: StateTtlConfig) -> None:
        """Let entries of this state expire as ``ttl_config`` says."""
        if not isinstance(ttl_config, StateTtlConfig):
            msg = (f"state '{self.name}': enable_time_to_live expects a StateTtlConfig, got "
                   f"{describe(ttl_config)}; hint: StateTtlConfig.new_builder(ttl).build()")
            raise InvalidTypeError(msg)
        self.ttl_config = ttl_config

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ValueStateDescriptor(StateDescriptor):
    """Describes a :class:`~strom.state.api.ValueState`."""

    kind = "value"

    def __init__(self, name: str, value_type_info: Any = None) -> None:
        super().__init__(name, value_type_info)


class ListStateDescriptor(StateDescriptor):
    """Describes a :class:`~strom.state.api.ListState` of elements of ``elem_type_info``."""

    kind = "list"

    def __init__(self, name: str, elem_type_info: Any = None) -> None:
        super().__init__(name, elem_type_info)
        self.elem_type_info = elem_type_info


class MapStateDescriptor(StateDescriptor):
    """Describes a :class:`~strom.state.api.MapState`."""

    kind = "map"

    def __init__(self, name: str, key_type_info: Any = None, value_type_info: Any = None) -> None:
        super().__init__(name, (key_type_info, value_type_info))
        self.key_type_info = key_type_info
        self.value_type_info = value_type_info


class ReducingStateDescriptor(StateDescriptor):
    """Describes a :class:`~strom.state.api.ReducingState`.

    Args:
        reduce_function: a ``ReduceFunction`` (an object with ``reduce(a, b)``) or a callable.
    """

    kind = "reducing"

    def __init__(self, name: str, reduce_function: Any, type_info: Any = None) -> None:
        super().__init__(name, type_info)
        reduce = getattr(reduce_function, "reduce", None)
        if not callable(reduce):
            reduce = reduce_function if callable(reduce_function) else None
        if reduce is None:
            msg = (f"ReducingStateDescriptor '{name}': expected a ReduceFunction or a callable, "
                   f"got {describe(reduce_function)}")
            raise InvalidTypeError(msg)
        self._reduce_function = reduce_function
        self.reduce: Callable[[Any, Any], Any] = reduce

    def get_reduce_function(self) -> Any:
        """The reduce function as given (PyFlink-compatible)."""
        return self._reduce_function


class AggregatingStateDescriptor(StateDescriptor):
    """Describes an :class:`~strom.state.api.AggregatingState`.

    Args:
        agg_function: an ``AggregateFunction``: ``create_accumulator()``, ``add(value, acc) ->
            acc``, ``get_result(acc)`` and (for merging windows) ``merge(acc_a, acc_b) -> acc``.
        state_type_info: the type information of the accumulator.
    """

    kind = "aggregating"

    def __init__(self, name: str, agg_function: Any, state_type_info: Any = None) -> None:
        super().__init__(name, state_type_info)
        missing = [m for m in ("create_accumulator", "add", "get_result")
                   if not callable(getattr(agg_function, m, None))]
        if missing:
            msg = (f"AggregatingStateDescriptor '{name}': expected an AggregateFunction, but "
                   f"{describe(agg_function)} lacks {', '.join(missing)}")
            raise InvalidTypeError(msg)
        self._agg_function = agg_function

    def get_agg_function(self) -> Any:
        """The aggregate function (PyFlink-compatible)."""
        return self._agg_function
