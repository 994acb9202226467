"""CheckpointConfig: PyFlink's methods, the execution.checkpointing.* keys, and state backend choice."""
from __future__ import annotations

from datetime import timedelta

import pytest

from strom.api.configuration import CheckpointingMode, Configuration
from strom.api.environment import StreamExecutionEnvironment
from strom.datastream import (
    CheckpointConfig,
    EmbeddedRocksDBStateBackend,
    ExternalizedCheckpointCleanup,
    ExternalizedCheckpointRetention,
    FileSystemCheckpointStorage,
    FsStateBackend,
    HashMapStateBackend,
    JobManagerCheckpointStorage,
    MemoryStateBackend,
    RocksDBStateBackend,
)
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError
from strom.state import MemoryStateBackend as HeapKeyedBackend
from strom.state import create_keyed_backend, key_group_range
from strom.time.clock import ManualClock
from strom.time.durations import Duration


def _env(**settings: str) -> StreamExecutionEnvironment:
    return StreamExecutionEnvironment(Configuration.from_dict(settings))


def _config(settings: dict[str, str]) -> CheckpointConfig:
    return StreamExecutionEnvironment(Configuration.from_dict(settings)).get_checkpoint_config()


# -- defaults and PyFlink methods ----------------------------------------------------------------

def test_defaults_follow_flink() -> None:
    c = CheckpointConfig()
    assert not c.is_checkpointing_enabled()
    assert c.get_checkpoint_interval() == -1
    assert c.get_checkpointing_mode() is CheckpointingMode.EXACTLY_ONCE
    assert c.get_checkpoint_timeout() == 600_000
    assert c.get_min_pause_between_checkpoints() == 0
    assert c.get_max_concurrent_checkpoints() == 1
    assert c.get_tolerable_checkpoint_failure_number() == 0
    assert c.num_retained == 1
    assert c.get_externalized_checkpoint_retention() is \
        ExternalizedCheckpointRetention.NO_EXTERNALIZED_CHECKPOINTS
    assert not c.is_externalized_checkpoints_enabled()
    assert (c.storage_dir, c.savepoint_dir, c.restore_path) == (None, None, None)
    assert not c.allow_non_restored_state
    assert c.get_checkpoint_storage() is None
    assert not c.is_unaligned_checkpoints_enabled() and not c.is_force_unaligned_checkpoints()


def test_setters_and_getters() -> None:
    c = CheckpointConfig()
    c.set_checkpoint_interval(5000).set_checkpointing_mode(CheckpointingMode.AT_LEAST_ONCE)
    c.set_checkpoint_timeout(Duration.of_seconds(30)).set_min_pause_between_checkpoints(500)
    c.set_max_concurrent_checkpoints(2).set_tolerable_checkpoint_failure_number(3)
    assert (c.get_checkpoint_interval(), c.get_checkpointing_mode(), c.get_checkpoint_timeout(),
            c.get_min_pause_between_checkpoints(), c.get_max_concurrent_checkpoints(),
            c.get_tolerable_checkpoint_failure_number()) == \
        (5000, CheckpointingMode.AT_LEAST_ONCE, 30_000, 500, 2, 3)
    c.set_fail_on_checkpointing_errors(False)
    assert not c.is_fail_on_checkpointing_errors()
    c.set_fail_on_checkpointing_errors(True)
    assert c.get_tolerable_checkpoint_failure_number() == 0
    c.set_aligned_checkpoint_timeout(timedelta(seconds=2))
    assert c.get_aligned_checkpoint_timeout() == Duration.of_seconds(2)
    c.set_alignment_timeout(Duration.of_millis(10))
    assert c.get_alignment_timeout() == Duration.of_millis(10)


@pytest.mark.parametrize(("call", "arg"), [
    ("set_checkpoint_interval", 5), ("set_checkpoint_timeout", 0),
    ("set_min_pause_between_checkpoints", -1), ("set_max_concurrent_checkpoints", 0),
    ("set_tolerable_checkpoint_failure_number", -1), ("set_checkpointing_mode", "EXACTLY_ONCE"),
])
def test_setters_validate(call: str, arg: object) -> None:
    with pytest.raises(JobDefinitionError, match=call):
        getattr(CheckpointConfig(), call)(arg)


def test_externalized_retention_both_enums() -> None:
    c = CheckpointConfig()
    c.set_externalized_checkpoint_retention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION)
    assert c.externalized_retention is ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION
    assert c.is_externalized_checkpoints_enabled()
    c.enable_externalized_checkpoints(ExternalizedCheckpointCleanup.DELETE_ON_CANCELLATION)
    assert c.get_externalized_checkpoint_retention() is \
        ExternalizedCheckpointRetention.DELETE_ON_CANCELLATION
    assert c.get_externalized_checkpoint_cleanup() is ExternalizedCheckpointCleanup.DELETE_ON_CANCELLATION
    c.set_externalized_checkpoint_cleanup(ExternalizedCheckpointCleanup.NO_EXTERNALIZED_CHECKPOINTS)
    assert not c.is_externalized_checkpoints_enabled()
    with pytest.raises(InvalidTypeError, match="set_externalized_checkpoint_retention"):
        c.set_externalized_checkpoint_retention("RETAIN_ON_CANCELLATION")  # type: ignore[arg-type]


def test_unaligned_checkpoints_are_unsupported() -> None:
    c = CheckpointConfig()
    with pytest.raises(UnsupportedError, match="aligned checkpoints only"):
        c.enable_unaligned_checkpoints()
    with pytest.raises(UnsupportedError, match="aligned checkpoints only"):
        c.set_force_unaligned_checkpoints(True)
    c.enable_unaligned_checkpoints(False).disable_unaligned_checkpoints()
    c.set_force_unaligned_checkpoints(False)
    assert not c.is_unaligned_checkpoints_enabled()


def test_checkpoint_storage() -> None:
    c = CheckpointConfig()
    c.set_checkpoint_storage(FileSystemCheckpointStorage("file:///tmp/cp"))
    assert c.storage_dir == "file:///tmp/cp"
    assert c.get_checkpoint_storage() == FileSystemCheckpointStorage("file:///tmp/cp")
    c.set_checkpoint_storage(JobManagerCheckpointStorage())
    assert c.storage_dir is None
    assert isinstance(c.get_checkpoint_storage(), JobManagerCheckpointStorage)
    c.set_checkpoint_storage("/tmp/other")
    assert c.get_checkpoint_storage_dir() == "/tmp/other"
    with pytest.raises(InvalidTypeError, match="set_checkpoint_storage"):
        c.set_checkpoint_storage(42)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedError, match="max_state_size"):
        JobManagerCheckpointStorage(max_state_size=10)
    with pytest.raises(JobDefinitionError, match="FileSystemCheckpointStorage"):
        FileSystemCheckpointStorage()


# -- configuration keys --------------------------------------------------------------------------

def test_flink_2_keys() -> None:
    c = _config({
        "execution.checkpointing.interval": "10 s",
        "execution.checkpointing.mode": "AT_LEAST_ONCE",
        "execution.checkpointing.timeout": "1 min",
        "execution.checkpointing.min-pause": "500 ms",
        "execution.checkpointing.max-concurrent-checkpoints": "2",
        "execution.checkpointing.tolerable-failed-checkpoints": "4",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "3",
        "execution.checkpointing.dir": "file:///tmp/cp",
        "execution.checkpointing.savepoint-dir": "file:///tmp/sp",
        "execution.state-recovery.path": "file:///tmp/cp/chk-7",
        "execution.state-recovery.ignore-unclaimed-state": "true",
        "execution.checkpointing.unaligned.enabled": "false",
    })
    assert (c.interval_ms, c.mode, c.timeout_ms, c.min_pause_ms, c.max_concurrent,
            c.tolerable_failures) == (10_000, CheckpointingMode.AT_LEAST_ONCE, 60_000, 500, 2, 4)
    assert c.externalized_retention is ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION
    assert (c.num_retained, c.storage_dir, c.savepoint_dir, c.restore_path,
            c.allow_non_restored_state) == (3, "file:///tmp/cp", "file:///tmp/sp",
                                            "file:///tmp/cp/chk-7", True)
    assert c.is_checkpointing_enabled()


def test_flink_1x_aliases() -> None:
    c = _config({
        "state.checkpoints.num-retained": "5",
        "state.checkpoints.dir": "/data/cp",
        "state.savepoints.dir": "/data/sp",
        "execution.savepoint.path": "/data/sp/savepoint-1",
        "execution.savepoint.ignore-unclaimed-state": "TRUE",
        "execution.checkpointing.mode": "exactly_once",
    })
    assert (c.num_retained, c.storage_dir, c.savepoint_dir, c.restore_path,
            c.allow_non_restored_state, c.mode) == (5, "/data/cp", "/data/sp",
                                                    "/data/sp/savepoint-1", True,
                                                    CheckpointingMode.EXACTLY_ONCE)


def test_new_key_wins_over_alias() -> None:
    c = _config({"execution.checkpointing.num-retained": "2", "state.checkpoints.num-retained": "9",
                 "execution.checkpointing.dir": "/new", "state.checkpoints.dir": "/old"})
    assert (c.num_retained, c.storage_dir) == (2, "/new")


def test_configure_later_updates_config() -> None:
    env = StreamExecutionEnvironment()
    env.configure(Configuration().set_string("execution.checkpointing.interval", "2 s"))
    assert env.get_checkpoint_interval() == 2000


@pytest.mark.parametrize(("key", "value"), [
    ("execution.checkpointing.interval", "5 ms"),
    ("execution.checkpointing.interval", "often"),
    ("execution.checkpointing.mode", "MOSTLY_ONCE"),
    ("execution.checkpointing.timeout", "0"),
    ("execution.checkpointing.min-pause", "soon"),
    ("execution.checkpointing.max-concurrent-checkpoints", "0"),
    ("execution.checkpointing.tolerable-failed-checkpoints", "-1"),
    ("execution.checkpointing.externalized-checkpoint-retention", "KEEP"),
    ("execution.checkpointing.num-retained", "0"),
    ("state.checkpoints.num-retained", "many"),
    ("execution.checkpointing.dir", ""),
    ("execution.state-recovery.ignore-unclaimed-state", "yes"),
    ("execution.checkpointing.storage", "s3"),
])
def test_invalid_values_name_the_key(key: str, value: str) -> None:
    with pytest.raises(JobDefinitionError, match=f"'{key}'"):
        _config({key: value})


@pytest.mark.parametrize("key", ["execution.checkpointing.unaligned.enabled",
                                 "execution.checkpointing.unaligned"])
def test_unaligned_key_is_unsupported(key: str) -> None:
    with pytest.raises(UnsupportedError, match="aligned checkpoints only"):
        _config({key: "true"})


# -- state backend choice ------------------------------------------------------------------------

def test_state_backend_default_is_hashmap() -> None:
    env = StreamExecutionEnvironment()
    assert env.state_backend == "hashmap"
    assert env.get_state_backend() is None


def test_set_hashmap_state_backend() -> None:
    env = StreamExecutionEnvironment()
    backend = HashMapStateBackend()
    env.set_state_backend(backend)
    assert env.state_backend == "hashmap" and env.get_state_backend() is backend


def test_deprecated_backends_imply_checkpoint_storage() -> None:
    env = StreamExecutionEnvironment()
    env.set_state_backend(FsStateBackend("file:///tmp/fs", "file:///tmp/sp"))
    c = env.get_checkpoint_config()
    assert (env.state_backend, c.storage_dir, c.savepoint_dir) == ("hashmap", "file:///tmp/fs",
                                                                   "file:///tmp/sp")
    env.set_state_backend(MemoryStateBackend())
    assert env.state_backend == "hashmap" and c.storage_dir is None
    assert isinstance(c.get_checkpoint_storage(), JobManagerCheckpointStorage)
    with pytest.raises(UnsupportedError, match="max_state_size"):
        MemoryStateBackend(max_state_size=1 << 20)


@pytest.mark.parametrize("backend", [EmbeddedRocksDBStateBackend(), RocksDBStateBackend("/tmp/r")])
def test_rocksdb_backend_is_unsupported_at_set_time(backend: object) -> None:
    env = StreamExecutionEnvironment()
    with pytest.raises(UnsupportedError, match="no RocksDB state backend yet; use HashMapStateBackend"):
        env.set_state_backend(backend)  # type: ignore[arg-type]
    assert env.state_backend == "hashmap"


def test_set_state_backend_rejects_other_objects() -> None:
    with pytest.raises(InvalidTypeError, match="set_state_backend"):
        StreamExecutionEnvironment().set_state_backend("hashmap")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["state.backend.type", "state.backend"])
def test_state_backend_key(key: str) -> None:
    assert _env(**{key: "HashMap"}).state_backend == "hashmap"
    assert _env(**{key: "filesystem"}).state_backend == "hashmap"
    with pytest.raises(UnsupportedError, match=f"'{key}'.*no RocksDB"):
        _env(**{key: "rocksdb"})
    with pytest.raises(JobDefinitionError, match=f"'{key}'"):
        _env(**{key: "forst"})


def test_factory_builds_the_heap_backend() -> None:
    backend = create_keyed_backend("hashmap", key_group_range(0, 2, 128), 128, ManualClock())
    assert isinstance(backend, HeapKeyedBackend)
    assert backend.key_group_range == key_group_range(0, 2, 128)
    with pytest.raises(UnsupportedError, match="rocksdb"):
        create_keyed_backend("rocksdb", key_group_range(0, 1, 128), 128, ManualClock())


def test_executor_receives_state_backend_kind() -> None:
    env = StreamExecutionEnvironment()
    assert env._executor().config["state_backend"] == "hashmap"


def test_pyflink_module_paths() -> None:
    from strom.datastream.checkpoint_config import ExternalizedCheckpointCleanup as Cleanup
    from strom.datastream.checkpoint_storage import FileSystemCheckpointStorage as Fs
    from strom.datastream.externalized_checkpoint_retention import (
        ExternalizedCheckpointRetention as Retention,
    )
    from strom.datastream.state_backend import HashMapStateBackend as HashMap

    assert (Cleanup, Fs, Retention, HashMap) == (ExternalizedCheckpointCleanup,
                                                 FileSystemCheckpointStorage,
                                                 ExternalizedCheckpointRetention,
                                                 HashMapStateBackend)
