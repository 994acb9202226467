"""PyFlink's ``StreamExecutionEnvironment``: where a job is defined, configured and executed.

Example:
    >>> env = StreamExecutionEnvironment.get_execution_environment()
    >>> env.from_collection([1, 2, 3]).map(lambda x: x * 10).print()  # doctest: +SKIP
    >>> env.execute("tens")  # doctest: +SKIP

Where a job runs (``execution.target``, or ``env.executor``): ``inline`` (every subtask on this
thread), ``threads`` (a thread per subtask), ``local`` (a mini-cluster of TaskManager processes,
every core used) or ``remote`` (a session cluster). Unless one is chosen, a job whose operators
all run one subtask runs ``inline`` and a wider one on ``local``, as ``env.execute()`` on Flink
starts a mini-cluster (``STROM_EXECUTION_TARGET`` in the environment overrides that choice;
the test suite sets it to ``inline``). The default parallelism differs from Flink in one
deliberate way: it is 1, not the number of cores, except on an explicitly chosen ``local``
target, so that a script runs in-process with deterministic, unprefixed ``print()`` output
until it asks for more. Set it with ``set_parallelism`` or ``parallelism.default``.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import random
import threading
from typing import Any

from strom.api.checkpoint_config import CheckpointConfig
from strom.api.configuration import (
    CheckpointingMode,
    Configuration,
    ExecutionConfig,
    RestartStrategyConfiguration,
    TimeCharacteristic,
    warn_no_effect,
)
from strom.api.datastream import DataStream
from strom.api.file_source import FileSplitSource, TextLineFormat
from strom.api.python_deps import (
    FILE_DELIMITER,
    PARAM_DELIMITER,
    PythonDependencies,
    check_executable,
    check_requirements,
)
from strom.api.row import Row
from strom.api.slot_sharing_group import SlotSharingGroup, group_name
from strom.api.sources import CollectionSource, SocketTextStreamSource, Source, SourceFunctionSource
from strom.api.state_backend import HASHMAP, StateBackend, backend_kind, chosen_kind
from strom.api.typeinfo import RowTypeInfo, TypeInformation
from strom.checkpoint.restart import restart_strategy
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError, describe
from strom.graph.job_graph import build_job_graph
from strom.graph.transformations import Kind, Transformation
from strom.runtime.executors import executor_class
from strom.runtime.job import JobClient, JobControl, JobExecutionResult, notify_job_started
from strom.runtime.operators.timestamps import ingestion_time
from strom.runtime.task import DEFAULT_BUFFER_TIMEOUT_MS
from strom.time.clock import Clock, ManualClock, SystemClock
from strom.time.duration_text import parse_duration_ms


class RuntimeExecutionMode:
    """PyFlink's execution modes; strom runs every job as a stream (bounded inputs end it)."""

    STREAMING = "STREAMING"
    BATCH = "BATCH"
    AUTOMATIC = "AUTOMATIC"


DEFAULT_CONFIGURATION = Configuration()
"""Settings every new environment starts from, before its own ``configuration``: how ``strom
run`` hands the job script its command line (``-D key=value``, ``-s``/``--from-savepoint``
as ``execution.state-recovery.path``, ``--allow-non-restored-state`` as
``execution.state-recovery.ignore-unclaimed-state``), since the script creates its own
environment. Empty unless set through :func:`set_default_configuration`."""


def set_default_configuration(settings: dict[str, str] | None) -> None:
    """Replace :data:`DEFAULT_CONFIGURATION` with ``settings`` (None or empty: no defaults)."""
    for key in DEFAULT_CONFIGURATION.key_set():
        DEFAULT_CONFIGURATION.remove_config(key)
    for key, value in (settings or {}).items():
        DEFAULT_CONFIGURATION.set_string(key, str(value))


class StreamExecutionEnvironment:
    """Defines and runs a streaming job.

    Attributes:
        clock: the processing-time clock jobs run with (inject a ``ManualClock`` in tests).
        executor: ``"inline"`` (default): every task on one thread in this process;
            ``"threads"``: one thread per task (I/O-bound functions overlap).
    """

    _default_local_parallelism: int | None = None  # process-wide, as Flink's static setting

    def __init__(self, configuration: Configuration | None = None) -> None:
        self._config = ExecutionConfig()
        self._configuration = Configuration(DEFAULT_CONFIGURATION)  # the command line's first
        if configuration:
            self._configuration.add_all(configuration)
        self._checkpoint_config = CheckpointConfig()
        self._transformations: dict[int, Transformation] = {}
        self._pending_sinks: set[int] = set()  # sinks of the next job; cleared by execute
        self._next_id = 1
        self._chaining = True
        self._time_characteristic = TimeCharacteristic.EventTime
        self._buffer_timeout = DEFAULT_BUFFER_TIMEOUT_MS
        self._state_backend: StateBackend | None = None
        self.state_backend = HASHMAP  # the kind of keyed state backend the runtime builds
        self._runtime_mode = RuntimeExecutionMode.STREAMING
        self._gc_young_threshold = 50_000  # see strom/runtime/executors/_gc.py
        self.clock: Clock = SystemClock()
        self.executor: str | None = None  # None: chosen per job (see the module docstring)
        self._python = PythonDependencies()
        self._slot_sharing_groups: dict[str, SlotSharingGroup] = {}
        self._changelog: bool | None = None
        self._apply_configuration(self._configuration)

    @staticmethod
    def get_execution_environment(configuration: Configuration | None = None) -> StreamExecutionEnvironment:
        """A new environment for the embedded (in-process) runtime."""
        return StreamExecutionEnvironment(configuration)

    # -- configuration --
    def _apply_configuration(self, conf: Configuration) -> None:
        if conf.contains_key("parallelism.default"):
            self.set_parallelism(conf.get_integer("parallelism.default", 1))
        if conf.contains_key("pipeline.max-parallelism"):
            self.set_max_parallelism(conf.get_integer("pipeline.max-parallelism", 128))
        if conf.contains_key("pipeline.auto-watermark-interval"):
            self._config.set_auto_watermark_interval(
                parse_duration_ms(conf.get_string("pipeline.auto-watermark-interval", "200"),
                                  "pipeline.auto-watermark-interval"))
        settings = conf.to_dict()
        self._checkpoint_config.configure(settings)  # execution.checkpointing.*, state.checkpoints.*
        kind = backend_kind(settings)
        if kind is not None:
            self.state_backend = kind
        if any(key.startswith("restart-strategy") for key in settings):  # fail early on bad values
            restart_strategy(settings, None, False, random.Random(0))
        if conf.contains_key("pipeline.operator-chaining"):
            self._chaining = conf.get_string("pipeline.operator-chaining", "true").strip().lower() == "true"
        if conf.contains_key("pipeline.time-characteristic"):
            self.set_stream_time_characteristic(
                TimeCharacteristic[conf.get_string("pipeline.time-characteristic", "EventTime")])
        if conf.contains_key("execution.buffer-timeout"):
            self._buffer_timeout = parse_duration_ms(
                conf.get_string("execution.buffer-timeout", "100"), "execution.buffer-timeout")
        if conf.contains_key("execution.runtime-mode"):
            self.set_runtime_mode(conf.get_string("execution.runtime-mode", "STREAMING"))
        if conf.contains_key("strom.gc.young-threshold"):
            self._gc_young_threshold = conf.get_integer("strom.gc.young-threshold", 50_000)
        if conf.contains_key("strom.executor"):
            self.executor = conf.get_string("strom.executor", "inline")
        if conf.contains_key("execution.target"):
            self.executor = conf.get_string("execution.target", "inline")
        self._apply_python_options(conf)

    def _apply_python_options(self, conf: Configuration) -> None:
        """PyFlink's ``python.*`` keys, as the ``add_python_*``/``set_python_*`` calls."""
        for entry in filter(None, conf.get_string("python.files", "").split(FILE_DELIMITER)):
            self._python.add_file(entry.strip())
        for entry in filter(None, conf.get_string("python.archives", "").split(FILE_DELIMITER)):
            archive, _, target = entry.strip().partition(PARAM_DELIMITER)
            self._python.add_archive(archive, target or None)
        if conf.contains_key("python.requirements"):
            check_requirements(conf.get_string("python.requirements", "").split(PARAM_DELIMITER)[0])
        if conf.contains_key("python.executable"):
            check_executable(conf.get_string("python.executable", ""))
        if conf.contains_key("state.changelog.enabled"):
            self.enable_changelog_state_backend(conf.get_boolean("state.changelog.enabled", False))

    def configure(self, configuration: Configuration) -> None:
        self._configuration.add_all(configuration)
        self._apply_configuration(configuration)

    def get_config(self) -> ExecutionConfig:
        return self._config

    def set_parallelism(self, parallelism: int) -> StreamExecutionEnvironment:
        if not isinstance(parallelism, int) or parallelism < 1:
            raise JobDefinitionError(f"set_parallelism: expected an int >= 1, got {parallelism!r}")
        self._config.set_parallelism(parallelism)
        return self

    def get_parallelism(self) -> int:
        return self._parallelism

    @property
    def _parallelism(self) -> int:
        """The default parallelism: ``get_config().set_parallelism``'s (the same setting), or 1."""
        chosen = self._config.get_parallelism()
        return 1 if chosen == ExecutionConfig.PARALLELISM_DEFAULT else chosen

    @property
    def _parallelism_set(self) -> bool:
        return self._config.get_parallelism() != ExecutionConfig.PARALLELISM_DEFAULT

    def set_max_parallelism(self, max_parallelism: int) -> StreamExecutionEnvironment:
        self._config.set_max_parallelism(max_parallelism)
        return self

    def get_max_parallelism(self) -> int:
        return self._config.get_max_parallelism()

    def set_runtime_mode(self, execution_mode: Any) -> StreamExecutionEnvironment:
        """STREAMING (default), BATCH or AUTOMATIC (treated as STREAMING).

        In BATCH mode rolling aggregations (reduce, sum, min, max, min_by, max_by) emit only
        each key's final result when the input ends; see docs/semantics.md for what else does
        and does not change.
        """
        mode = str(getattr(execution_mode, "name", execution_mode)).upper()
        if mode not in (RuntimeExecutionMode.STREAMING, RuntimeExecutionMode.BATCH,
                        RuntimeExecutionMode.AUTOMATIC):
            raise JobDefinitionError(
                f"set_runtime_mode: expected RuntimeExecutionMode.STREAMING, BATCH or AUTOMATIC, got {execution_mode!r}")
        self._runtime_mode = mode
        return self

    def set_buffer_timeout(self, timeout_millis: int) -> StreamExecutionEnvironment:
        self._buffer_timeout = timeout_millis
        return self

    def get_buffer_timeout(self) -> int:
        return self._buffer_timeout

    def disable_operator_chaining(self) -> StreamExecutionEnvironment:
        self._chaining = False
        return self

    def is_chaining_enabled(self) -> bool:
        return self._chaining

    def set_stream_time_characteristic(self, characteristic: TimeCharacteristic) -> None:
        """The older API: ProcessingTime, IngestionTime or EventTime (Flink's default since 1.12)."""
        if not isinstance(characteristic, TimeCharacteristic):
            raise JobDefinitionError(
                f"set_stream_time_characteristic: expected a TimeCharacteristic, got {describe(characteristic)}")
        self._time_characteristic = characteristic
        if characteristic is TimeCharacteristic.ProcessingTime:
            self._config.set_auto_watermark_interval(0)
        elif self._config.get_auto_watermark_interval() == 0:
            self._config.set_auto_watermark_interval(200)

    def get_stream_time_characteristic(self) -> TimeCharacteristic:
        return self._time_characteristic

    def enable_checkpointing(self, interval: int, mode: CheckpointingMode | None = None) -> StreamExecutionEnvironment:
        self._checkpoint_config.enable_checkpointing(interval, mode)
        return self

    def get_checkpoint_config(self) -> CheckpointConfig:
        return self._checkpoint_config

    def get_checkpoint_interval(self) -> int:
        return self._checkpoint_config.interval_ms

    def get_checkpointing_mode(self) -> CheckpointingMode:
        return self._checkpoint_config.mode

    def set_state_backend(self, state_backend: StateBackend) -> StreamExecutionEnvironment:
        """Choose the keyed state backend: ``HashMapStateBackend()`` (strom's only one).

        The deprecated ``MemoryStateBackend``/``FsStateBackend`` also set the checkpoint storage
        (and savepoint directory) they imply; RocksDB backends raise ``UnsupportedError``.
        """
        self.state_backend = chosen_kind(state_backend)
        self._state_backend = state_backend
        if state_backend.checkpoint_storage is not None:
            self._checkpoint_config.set_checkpoint_storage(state_backend.checkpoint_storage)
        if state_backend.savepoint_dir is not None:
            self._checkpoint_config.savepoint_dir = state_backend.savepoint_dir
        return self

    def get_state_backend(self) -> StateBackend | None:
        """The backend given to ``set_state_backend``, or ``None`` (the hashmap default)."""
        return self._state_backend

    def set_restart_strategy(self, restart_strategy_configuration: RestartStrategyConfiguration) -> None:
        self._config.set_restart_strategy(restart_strategy_configuration)

    def add_jars(self, *jars_path: str) -> None:
        """Accepted so PyFlink jobs port unchanged; strom needs no jars (its connectors are
        Python), so the jars are not used: says so once per process."""
        warn_no_effect("add_jars", "strom's connectors are Python; the jars are not loaded")

    def add_classpaths(self, *classpaths: str) -> None:
        """Accepted so PyFlink jobs port unchanged; strom has no JVM classpath: says so once."""
        warn_no_effect("add_classpaths", "strom runs without a JVM; the classpaths are not used")

    def add_python_file(self, file_path: str) -> None:
        """Make a Python dependency importable by the job's functions on every executor: a
        ``.py`` file's folder, a directory itself, or a ``.zip``/``.whl``/``.egg`` goes on the
        import path (strom.api.python_deps)."""
        self._python.add_file(file_path)

    def add_python_archive(self, archive_path: str, target_dir: str | None = None) -> None:
        """Extract a zip archive into the working directory of the processes running the job's
        functions, under ``target_dir`` or the archive's file name, so functions open its
        files by relative path (strom.api.python_deps)."""
        self._python.add_archive(archive_path, target_dir)

    def set_python_requirements(self, requirements_file_path: str,
                                requirements_cache_dir: str | None = None) -> None:
        """Check that this interpreter has the file's requirements; strom installs nothing
        (user functions run in this interpreter), so a missing or mismatched package fails
        here, naming it. ``requirements_cache_dir`` (an offline install source) is not needed."""
        check_requirements(requirements_file_path)

    def set_python_executable(self, python_exec: str) -> None:
        """Accepted only for the interpreter running the job: strom runs user functions there
        and in TaskManagers started from it; anything else raises ``UnsupportedFeatureError``."""
        check_executable(python_exec)

    def register_cached_file(self, file_path: str, name: str, executable: bool = False) -> None:
        """Flink's distributed cache: not in strom (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError(
            f"register_cached_file({file_path!r}, {name!r}): strom has no distributed cache "
            "(its TaskManagers share this machine's files); hint: open the file by path, or "
            "use add_python_archive to unpack files into the working directory")

    def create_input(self, input_format: Any, type_info: TypeInformation | None = None) -> DataStream:
        """A Java ``InputFormat``: not in strom (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError(
            f"create_input({describe(input_format)}): Java input formats need a JVM; hint: use "
            "from_source(FileSource...) or read_text_file, or a Python SourceFunction with "
            "add_source")

    def register_slot_sharing_group(self, slot_sharing_group: SlotSharingGroup
                                    ) -> StreamExecutionEnvironment:
        """Declare a slot sharing group's resources; operators join it with
        ``slot_sharing_group(name)``. strom reserves no resources per group (warns once)."""
        if not isinstance(slot_sharing_group, SlotSharingGroup):
            raise InvalidTypeError(f"register_slot_sharing_group: expected a SlotSharingGroup but "
                                   f"got {describe(slot_sharing_group)}")
        name = group_name(slot_sharing_group, "register_slot_sharing_group")
        self._slot_sharing_groups[name] = slot_sharing_group
        return self

    def enable_changelog_state_backend(self, enabled: bool) -> StreamExecutionEnvironment:
        """Flink's changelog state backend: strom has none, so ``True`` raises."""
        if enabled:
            raise UnsupportedError("enable_changelog_state_backend(True): strom has no changelog "
                                   "state backend; hint: leave it out (checkpoints snapshot the "
                                   "hashmap state backend)")
        self._changelog = False
        return self

    def is_changelog_state_backend_enabled(self) -> bool | None:
        """``False`` if disabled explicitly, ``None`` if never set (as PyFlink)."""
        return self._changelog

    def set_default_savepoint_directory(self, directory: str) -> StreamExecutionEnvironment:
        """Where savepoints go when none is named (``execution.checkpointing.savepoint-dir``)."""
        self._checkpoint_config.savepoint_dir = directory
        return self

    def get_default_savepoint_directory(self) -> str | None:
        """The default savepoint directory, or ``None``."""
        return self._checkpoint_config.savepoint_dir

    def get_checkpointing_consistency_mode(self) -> CheckpointingMode:
        """The checkpointing mode (exactly-once or at-least-once)."""
        return self._checkpoint_config.mode

    def is_unaligned_checkpoints_enabled(self) -> bool:
        """Whether unaligned checkpoints are on (see ``CheckpointConfig``)."""
        return self._checkpoint_config.is_unaligned_checkpoints_enabled()

    def is_force_unaligned_checkpoints(self) -> bool:
        """Whether unaligned checkpoints are forced (see ``CheckpointConfig``)."""
        return self._checkpoint_config.is_force_unaligned_checkpoints()

    def is_chaining_of_operators_with_different_max_parallelism_enabled(self) -> bool:
        """``True``: strom chains operators whatever their max parallelism (Flink's default)."""
        return True

    def set_default_local_parallelism(self, parallelism: int) -> None:
        """The parallelism of jobs on the ``local`` target when none is set (default: cores)."""
        if not isinstance(parallelism, int) or isinstance(parallelism, bool) or parallelism < 1:
            raise JobDefinitionError(f"set_default_local_parallelism: expected an int >= 1 but "
                                     f"got {describe(parallelism)}")
        StreamExecutionEnvironment._default_local_parallelism = parallelism

    def get_default_local_parallelism(self) -> int:
        """See :meth:`set_default_local_parallelism`."""
        return StreamExecutionEnvironment._default_local_parallelism or os.cpu_count() or 1

    def close(self) -> None:
        """Drop the plan built so far (the environment can define a new job afterwards)."""
        self._transformations.clear()
        self._pending_sinks = set()

    # -- the plan --
    def _add(self, kind: Kind, name: str, inputs: tuple[int, ...], **fields: Any) -> int:
        tid = self._next_id
        self._next_id += 1
        self._transformations[tid] = Transformation(id=tid, kind=kind, name=name, inputs=inputs, **fields)
        if fields.get("is_sink"):
            self._pending_sinks.add(tid)
        return tid

    def _update(self, tid: int, **changes: Any) -> None:
        self._transformations[tid] = dataclasses.replace(self._transformations[tid], **changes)

    def _transformation(self, tid: int) -> Transformation:
        return self._transformations[tid]

    # -- sources --
    def _source(self, source: Source, name: str, type_info: Any) -> DataStream:
        if type_info is not None and not isinstance(type_info, TypeInformation):
            raise JobDefinitionError(f"source '{name}': type_info must be a TypeInformation, got {describe(type_info)}")
        tid = self._add(Kind.SOURCE, name, (), operator_factory=lambda: ingestion_time(source.create_operator(name)),
                        output_type=type_info, non_parallel=not source.parallel)
        return DataStream(self, tid)

    def from_collection(self, collection: Any, type_info: TypeInformation | None = None) -> DataStream:
        """A stream of the collection's elements (any list, iterable or generator). Non-parallel."""
        source = CollectionSource(collection)
        if type_info is not None and source.inline:
            for i, element in enumerate(source.data):
                type_info.validate(element, f"from_collection element #{i}")
            if isinstance(type_info, RowTypeInfo):
                # PyFlink hands a ROW-typed stream's elements to functions as Rows named after
                # the type's fields (f0, f1, ... or ROW_NAMED's names), whatever was passed in
                names = type_info.get_field_names()
                source.data = [_as_row(e, names) for e in source.data]
        return self._source(source, "Source: Collection Source", type_info)

    def from_source(self, source: Any, watermark_strategy: Any, source_name: str,
                    type_info: TypeInformation | None = None) -> DataStream:
        """A stream from a source object (NumberSequenceSource, a connector source)."""
        if not callable(getattr(source, "create_operator", None)):
            raise JobDefinitionError(
                f"from_source: expected a Source (e.g. NumberSequenceSource or a connector source), "
                f"got {describe(source)}. Hint: for a Python SourceFunction use add_source().")
        if (isinstance(source, Source) and type(source).read is Source.read
                and not source.has_splits
                and type(source).create_operator is Source.create_operator):
            raise JobDefinitionError(
                f"from_source '{source_name}': {type(source).__name__} overrides neither "
                "splits()/read_split(), read(subtask_index, parallelism) nor create_operator(name). "
                "Hint: implement read() to return the records, or splits() and read_split() to "
                "make it resumable.")
        if type_info is None:  # the type the source declares (its format's), as in PyFlink
            type_info = getattr(source, "produced_type", None)
        if getattr(source, "generates_watermarks", False):
            # a connector that generates watermarks itself (per partition, as Flink's Kafka
            # source): it gets the strategy instead of a generic operator chained after it
            return self._source(source.with_watermark_strategy(watermark_strategy),
                                f"Source: {source_name}", type_info)
        stream = self._source(source, f"Source: {source_name}", type_info)
        if watermark_strategy is not None and not getattr(watermark_strategy, "is_no_watermarks", False):
            stream = stream.assign_timestamps_and_watermarks(watermark_strategy)
        return stream

    def add_source(self, source_func: Any, source_name: str = "Custom Source",
                   type_info: TypeInformation | None = None) -> DataStream:
        """A stream from a ``SourceFunction`` (``run(ctx)`` with ``ctx.collect``) or a connector."""
        if callable(getattr(source_func, "create_operator", None)):
            return self._source(source_func, f"Source: {source_name}", type_info)
        if not callable(getattr(source_func, "run", None)):
            raise JobDefinitionError(
                f"add_source: expected a SourceFunction with run(ctx), got {describe(source_func)}")
        return self._source(SourceFunctionSource(source_func), f"Source: {source_name}", type_info)

    def read_text_file(self, file_path: str, charset_name: str = "UTF-8") -> DataStream:
        """Lines of a text file, or of every file under a directory (without line endings).

        A resumable file source (Flink's ``readTextFile``): a checkpoint records how many lines
        of each file were read, so a restart resumes exactly there. Local paths, ``file://`` and
        fsspec URLs such as ``s3://bucket/key``.
        """
        source = FileSplitSource([file_path], TextLineFormat(charset_name), where="read_text_file")
        return self._source(source, f"Source: {file_path}", None)

    def socket_text_stream(self, hostname: str, port: int, delimiter: str = "\n",
                           max_retry: int = 0) -> DataStream:
        """Text records read from a TCP server at ``hostname:port``, split at ``delimiter``.

        Flink Java's ``socketTextStream`` (PyFlink does not have it; strom adds it): non-parallel
        and unbounded; when the server closes the connection it retries ``max_retry`` times, 500
        ms apart (-1: forever, 0: the source ends). Not resumable: after a restart it reads what
        the server sends from then on (a warning says so). Try it with ``nc -lk 9999``.
        """
        source = SocketTextStreamSource(hostname, port, delimiter, max_retry)
        return self._source(source, "Source: Socket Stream", None)

    # -- running --
    def _job_graph(self, job_name: str, clear: bool = True, target: str | None = None) -> Any:
        """Build the job graph; as in Flink, executing clears the plan for the next job."""
        target = target or self._target()
        cls = executor_class(target)
        parallelism = self._parallelism
        if not self._parallelism_set and target == self.executor and hasattr(cls, "default_parallelism"):
            # a cluster target chosen explicitly: cores, or set_default_local_parallelism's
            parallelism = self._default_local_parallelism or cls.default_parallelism()
        if not self._config.has_auto_generated_uids_enabled():
            missing = [t.name for t in self._transformations.values()
                       if t.kind.physical and t.uid is None]
            if missing:
                raise JobDefinitionError(
                    f"auto-generated uids are disabled (ExecutionConfig.disable_auto_generated_uids)"
                    f" but operator(s) {', '.join(repr(n) for n in missing)} have no uid; hint: "
                    "call .uid('...') on each")
        graph = build_job_graph(job_name, list(self._transformations.values()),
                                default_parallelism=parallelism,
                                default_max_parallelism=self._config.get_max_parallelism(),
                                chaining=self._chaining, sinks=self._pending_sinks,
                                chain_single_subtask_exchanges=cls.chains_single_subtask_exchanges)
        if clear:
            self._pending_sinks = set()
        return graph

    def _target(self) -> str:
        """Where the next job runs: the chosen target; else ``STROM_EXECUTION_TARGET``; else
        ``local`` when some operator runs more than one subtask, ``inline`` otherwise."""
        if self.executor:
            return self.executor
        chosen = os.environ.get("STROM_EXECUTION_TARGET")
        if chosen:
            return chosen
        if isinstance(self.clock, ManualClock):
            return "inline"  # manual time exists in this process only
        widest = max((t.parallelism or self._parallelism for t in self._transformations.values()
                      if t.kind.physical and not t.non_parallel), default=1)
        return "local" if widest > 1 else "inline"

    def _executor_class(self) -> Any:
        return executor_class(self._target())

    def _executor(self, target: str | None = None) -> Any:
        # python_dependencies first: unpickled before the job's functions on a TaskManager, it
        # makes their modules importable there (strom.api.python_deps)
        return executor_class(target or self._target())(self.clock, {
                                                   "python_dependencies": self._python,
                                                   "runtime_mode": self._runtime_mode,
                                                   "gc_young_threshold": self._gc_young_threshold,
                                                   "auto_watermark_interval": self._config.get_auto_watermark_interval(),
                                         "checkpoint_config": self._checkpoint_config,
                                         "time_characteristic": self._time_characteristic,
                                         "buffer_timeout": self._buffer_timeout,
                                         # every key as set (rest.*, taskmanager.*, ...)
                                         "configuration": self._configuration.to_dict(),
                                         "state_backend": self.state_backend,
                                         # call with a random.Random to get the job's RestartStrategy
                                         "restart_strategy": functools.partial(
                                             restart_strategy, self._configuration.to_dict(),
                                             self._config.get_restart_strategy(),
                                             self._checkpoint_config.is_checkpointing_enabled())})

    def execute(self, job_name: str | None = None) -> JobExecutionResult:
        """Run the job to completion on this thread; raises ``JobExecutionError`` if it fails."""
        name = job_name or "Flink Streaming Job"
        target = self._target()
        graph = self._job_graph(name, target=target)
        control = JobControl(name)
        executor = self._executor(target)
        notify_job_started(control, graph, executor)
        return executor.run(graph, control, self._config.get_global_job_parameters())

    def execute_async(self, job_name: str | None = None) -> JobClient:
        """Start the job on a background thread and return a ``JobClient``."""
        name = job_name or "Flink Streaming Job"
        target = self._target()
        graph = self._job_graph(name, target=target)
        control = JobControl(name)
        executor = self._executor(target)
        params = self._config.get_global_job_parameters()
        notify_job_started(control, graph, executor)

        def run() -> None:
            try:
                executor.run(graph, control, params)
            except BaseException:  # recorded in control; the client re-raises it
                pass

        thread = threading.Thread(target=run, name=f"job {name}", daemon=True)
        thread.start()
        return JobClient(control, thread)

    def get_execution_plan(self) -> str:
        """The job graph as JSON, in the shape of Flink's execution plan."""
        graph = self._job_graph("plan", clear=False)
        nodes = []
        for v in graph.vertices:
            for n in v.nodes:
                t = graph.nodes[n]
                preds = [{"id": e.source, "ship_strategy": e.partitioner.name, "side": "second" if e.input_no == 2 else "first"}
                         for vv in graph.vertices for e in (*vv.chained, *vv.outputs) if e.target == n]
                nodes.append({"id": n, "type": t.name, "pact": "Data Source" if t.kind is Kind.SOURCE else
                              ("Data Sink" if t.is_sink else "Operator"), "contents": t.name,
                              "parallelism": t.parallelism, "predecessors": preds})
        return json.dumps({"nodes": nodes}, indent=2)


def _as_row(element: Any, names: list[str]) -> Any:
    """``element`` (Row, tuple or list) as a Row with the declared field names, in their order."""
    if isinstance(element, Row) and element._fields is not None:
        row = Row(*(element[n] for n in names))
    else:
        row = Row(*element)
    row.set_field_names(names)
    if isinstance(element, Row):
        row.set_row_kind(element.get_row_kind())
    return row
