"""Keyed state: MemoryStateBackend against dict models, snapshots, rescaling, TTL and errors."""
from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from strom.errors import InvalidKeyError, InvalidTypeError, JobDefinitionError, StateAccessError
from strom.state import (
    VOID_NAMESPACE,
    AggregatingStateDescriptor,
    ListStateDescriptor,
    MapStateDescriptor,
    MemoryStateBackend,
    ReducingStateDescriptor,
    StateTtlConfig,
    ValueStateDescriptor,
    assign_key_group,
    key_group_range,
    operator_index,
)
from strom.time.clock import ManualClock

MAXP = 128
KEYS = st.sampled_from(["a", "b", 7, ("t", 1), 2.5])
NAMESPACES = st.sampled_from([VOID_NAMESPACE, "w1", ("w", 2)])
VALUES = st.integers(-5, 5)


class Concat:
    """An AggregateFunction whose result depends on the order of the elements."""

    def create_accumulator(self) -> tuple:
        return ()

    def add(self, value: Any, acc: tuple) -> tuple:
        return (*acc, value)

    def get_result(self, acc: tuple) -> str:
        return ",".join(map(str, acc))

    def merge(self, a: tuple, b: tuple) -> tuple:
        return a + b


class ConcatReduce:
    """A ReduceFunction object (``reduce`` method) that is order-sensitive."""

    def reduce(self, a: str, b: str) -> str:
        return a + b


def new_backend(clock: ManualClock | None = None, groups: range = range(MAXP)) -> MemoryStateBackend:
    return MemoryStateBackend(groups, MAXP, clock or ManualClock())


def ttl_config(ms: int, update: StateTtlConfig.UpdateType = StateTtlConfig.UpdateType.OnCreateAndWrite,
               visibility: StateTtlConfig.StateVisibility = StateTtlConfig.StateVisibility.NeverReturnExpired,
               full_snapshot: bool = False) -> StateTtlConfig:
    builder = StateTtlConfig.new_builder(ms).set_update_type(update).set_state_visibility(visibility)
    if full_snapshot:
        builder.cleanup_full_snapshot()
    return builder.build()


# --------------------------------------------------------------------------------------------
# Models: one machine per state kind, sharing key/namespace switching and snapshot/restore.
# --------------------------------------------------------------------------------------------


class BackendMachine(RuleBasedStateMachine):
    """Switches key and namespace, snapshots and restores; subclasses add the state's rules."""

    def make_descriptor(self) -> Any:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1_000)
        self.backend = new_backend(self.clock)
        self.descriptor = self.make_descriptor()
        self.state = self.backend.state(self.descriptor)
        self.model: dict[tuple[Any, Any], Any] = {}  # (namespace, key) -> model value
        self.key: Any = "a"
        self.ns: Any = VOID_NAMESPACE
        self.backend.current_key = self.key

    @property
    def slot(self) -> tuple[Any, Any]:
        return (self.ns, self.key)

    @rule(key=KEYS)
    def switch_key(self, key: Any) -> None:
        self.key = key
        self.backend.current_key = key

    @rule(ns=NAMESPACES)
    def switch_namespace(self, ns: Any) -> None:
        self.ns = ns
        self.state.set_current_namespace(ns)

    @rule()
    def snapshot_and_restore(self) -> None:
        snap = pickle.loads(pickle.dumps(self.backend.snapshot()))
        self.backend = new_backend(self.clock)
        self.backend.restore([snap])
        self.backend.current_key = self.key
        self.state = self.backend.state(self.descriptor)
        self.state.set_current_namespace(self.ns)

    @rule()
    def clear(self) -> None:
        self.state.clear()
        self.model.pop(self.slot, None)

    @invariant()
    def entries_match_the_model(self) -> None:
        assert self.backend.num_entries() == len(self.model)
        for ns in (VOID_NAMESPACE, "w1", ("w", 2)):
            expected = {k for (n, k) in self.model if n == ns}
            assert set(self.backend.keys(self.descriptor.name, ns)) == expected
        assert set(self.backend.namespaces(self.descriptor.name)) == {n for n, _ in self.model}


class ValueMachine(BackendMachine):
    def make_descriptor(self) -> Any:
        return ValueStateDescriptor("v", None)

    @rule()
    def read(self) -> None:
        assert self.state.value() == self.model.get(self.slot)

    @rule(v=st.none() | VALUES)
    def update(self, v: Any) -> None:
        self.state.update(v)
        if v is None:
            self.model.pop(self.slot, None)
        else:
            self.model[self.slot] = v


class ListMachine(BackendMachine):
    def make_descriptor(self) -> Any:
        return ListStateDescriptor("l", None)

    @rule()
    def read(self) -> None:
        assert list(self.state.get()) == self.model.get(self.slot, [])
        assert list(self.state) == self.model.get(self.slot, [])

    @rule(v=VALUES)
    def add(self, v: int) -> None:
        self.state.add(v)
        self.model.setdefault(self.slot, []).append(v)

    @rule(vs=st.lists(VALUES, max_size=3))
    def add_all(self, vs: list[int]) -> None:
        self.state.add_all(vs)
        if vs:
            self.model.setdefault(self.slot, []).extend(vs)

    @rule(vs=st.lists(VALUES, max_size=3))
    def update(self, vs: list[int]) -> None:
        self.state.update(vs)
        if vs:
            self.model[self.slot] = list(vs)
        else:
            self.model.pop(self.slot, None)

    @rule(into=NAMESPACES, sources=st.lists(NAMESPACES, max_size=3, unique=True))
    def merge(self, into: Any, sources: list[Any]) -> None:
        target = into
        self.state.merge_namespaces(target, sources)
        merged = []
        for s in sources:
            if s != target:
                merged.extend(self.model.pop((s, self.key), []))
        if merged:
            self.model.setdefault((target, self.key), []).extend(merged)


class MapMachine(BackendMachine):
    def make_descriptor(self) -> Any:
        return MapStateDescriptor("m", None, None)

    @rule(uk=st.sampled_from(["x", "y", 3]))
    def read(self, uk: Any) -> None:
        m = self.model.get(self.slot, {})
        assert self.state.get(uk) == m.get(uk)
        assert self.state.contains(uk) == (uk in m)
        assert (uk in self.state) == (uk in m)
        assert dict(self.state.items()) == m
        assert list(self.state.keys()) == list(m)
        assert list(self.state) == list(m)
        assert list(self.state.values()) == list(m.values())
        assert self.state.is_empty() == (not m)

    @rule(uk=st.sampled_from(["x", "y", 3]), v=st.none() | VALUES)
    def put(self, uk: Any, v: Any) -> None:
        self.state.put(uk, v)
        self.model.setdefault(self.slot, {})[uk] = v

    @rule(d=st.dictionaries(st.sampled_from(["x", "y", 3]), VALUES, max_size=2))
    def put_all(self, d: dict[Any, int]) -> None:
        self.state.put_all(d)
        if d:
            self.model.setdefault(self.slot, {}).update(d)

    @rule(uk=st.sampled_from(["x", "y", 3]))
    def remove(self, uk: Any) -> None:
        self.state.remove(uk)
        m = self.model.get(self.slot)
        if m is not None:
            m.pop(uk, None)
            if not m:
                del self.model[self.slot]


class ReducingMachine(BackendMachine):
    def make_descriptor(self) -> Any:
        return ReducingStateDescriptor("r", ConcatReduce(), None)

    @rule()
    def read(self) -> None:
        assert self.state.get() == self.model.get(self.slot)

    @rule(v=st.none() | st.sampled_from(["p", "q", "rs"]))
    def add(self, v: Any) -> None:
        self.state.add(v)
        if v is None:
            self.model.pop(self.slot, None)
        else:
            self.model[self.slot] = self.model.get(self.slot, "") + v

    @rule(into=NAMESPACES, sources=st.lists(NAMESPACES, max_size=3, unique=True))
    def merge(self, into: Any, sources: list[Any]) -> None:
        target = into
        self.state.merge_namespaces(target, sources)
        merged = "".join(self.model.pop((s, self.key), "") for s in sources if s != target)
        if merged:
            self.model[(target, self.key)] = self.model.get((target, self.key), "") + merged


class AggregatingMachine(BackendMachine):
    def make_descriptor(self) -> Any:
        return AggregatingStateDescriptor("g", Concat(), None)

    @rule()
    def read(self) -> None:
        acc = self.model.get(self.slot)
        assert self.state.get() == (None if acc is None else ",".join(map(str, acc)))

    @rule(v=VALUES)
    def add(self, v: int) -> None:
        self.state.add(v)
        self.model[self.slot] = (*self.model.get(self.slot, ()), v)

    @rule(into=NAMESPACES, sources=st.lists(NAMESPACES, max_size=3, unique=True))
    def merge(self, into: Any, sources: list[Any]) -> None:
        target = into
        self.state.merge_namespaces(target, sources)
        merged: tuple = ()
        found = False
        for s in sources:
            if s != target and (s, self.key) in self.model:
                merged += self.model.pop((s, self.key))
                found = True
        if found:
            self.model[(target, self.key)] = self.model.get((target, self.key), ()) + merged


class TtlValueMachine(BackendMachine):
    """ValueState with TTL against a model of Flink's TTL rules; subclasses pick the config."""

    update_type = StateTtlConfig.UpdateType.OnCreateAndWrite
    visibility = StateTtlConfig.StateVisibility.NeverReturnExpired
    TTL = 10
    switch_namespace = None  # namespaces are covered above; keep the search on time and keys

    @rule(key=st.sampled_from(["a", "b"]))
    def switch_key(self, key: Any) -> None:
        super().switch_key(key)

    def make_descriptor(self) -> Any:
        d = ValueStateDescriptor("tv", None)
        d.enable_time_to_live(ttl_config(self.TTL, self.update_type, self.visibility))
        return d

    @rule(ms=st.integers(0, 12))
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)

    @rule(v=VALUES)
    def update(self, v: int) -> None:
        self.state.update(v)
        self.model[self.slot] = (v, self.clock.now())

    @rule(ms=st.integers(0, 9))
    def advance_and_read(self, ms: int) -> None:
        self.clock.advance(ms)
        self.read()

    @rule()
    def read(self) -> None:
        entry = self.model.get(self.slot)
        got = self.state.value()
        if entry is None:
            assert got is None
            return
        value, ts = entry
        now = self.clock.now()
        if ts + self.TTL <= now:
            del self.model[self.slot]
            assert got == (value if self.visibility.name == "ReturnExpiredIfNotCleanedUp" else None)
        else:
            assert got == value
            if self.update_type is StateTtlConfig.UpdateType.OnReadAndWrite:
                self.model[self.slot] = (value, now)


class TtlValueOnReadMachine(TtlValueMachine):
    update_type = StateTtlConfig.UpdateType.OnReadAndWrite


class TtlValueReturnExpiredMachine(TtlValueMachine):
    visibility = StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp


MACHINE_SETTINGS = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestValueState = ValueMachine.TestCase
TestListState = ListMachine.TestCase
TestMapState = MapMachine.TestCase
TestReducingState = ReducingMachine.TestCase
TestAggregatingState = AggregatingMachine.TestCase
TestTtlValueState = TtlValueMachine.TestCase
TestTtlValueOnReadState = TtlValueOnReadMachine.TestCase
TestTtlValueReturnExpiredState = TtlValueReturnExpiredMachine.TestCase
for _case in (TestValueState, TestListState, TestMapState, TestReducingState,
              TestAggregatingState, TestTtlValueState, TestTtlValueOnReadState,
              TestTtlValueReturnExpiredState):
    _case.settings = MACHINE_SETTINGS


# --------------------------------------------------------------------------------------------
# Registration and errors
# --------------------------------------------------------------------------------------------


def test_same_name_returns_the_same_state_object() -> None:
    backend = new_backend()
    a = backend.state(ValueStateDescriptor("count", None))
    assert backend.state(ValueStateDescriptor("count", None)) is a


def test_reregistering_a_name_as_another_kind_is_rejected() -> None:
    backend = new_backend()
    backend.state(ValueStateDescriptor("count", None))
    with pytest.raises(InvalidTypeError, match="'count'.*value.*list"):
        backend.state(ListStateDescriptor("count", None))
    ttl = ValueStateDescriptor("count", None)
    ttl.enable_time_to_live(ttl_config(100))
    with pytest.raises(InvalidTypeError, match="TTL"):
        backend.state(ttl)


@pytest.mark.parametrize("make", [
    lambda: ValueStateDescriptor("count", None),
    lambda: ListStateDescriptor("count", None),
    lambda: MapStateDescriptor("count", None, None),
    lambda: ReducingStateDescriptor("count", lambda a, b: a + b, None),
    lambda: AggregatingStateDescriptor("count", Concat(), None),
])
@pytest.mark.parametrize("ttl", [False, True])
def test_access_without_current_key_names_the_state(make: Any, ttl: bool) -> None:
    descriptor = make()
    if ttl:
        descriptor.enable_time_to_live(ttl_config(100))
    backend = new_backend()
    state = backend.state(descriptor)
    calls = {
        "value": [lambda: state.value(), lambda: state.update(1)],
        "list": [lambda: state.get(), lambda: state.add(1), lambda: state.update([1])],
        "map": [lambda: state.get("x"), lambda: state.put("x", 1), lambda: state.is_empty()],
        "reducing": [lambda: state.get(), lambda: state.add(1)],
        "aggregating": [lambda: state.get(), lambda: state.add(1)],
    }[descriptor.kind] + [lambda: state.clear()]
    for call in calls:
        with pytest.raises(StateAccessError, match="state 'count'.*outside a keyed context"):
            call()


@pytest.mark.parametrize("ttl", [False, True])
def test_list_state_rejects_none(ttl: bool) -> None:
    descriptor = ListStateDescriptor("l", None)
    if ttl:
        descriptor.enable_time_to_live(ttl_config(100))
    backend = new_backend()
    state = backend.state(descriptor)
    backend.current_key = "k"
    for call in (lambda: state.add(None), lambda: state.add_all([1, None]),
                 lambda: state.update([None]), lambda: state.update(None)):
        with pytest.raises(InvalidTypeError, match="list state 'l'"):
            call()
    assert backend.is_empty()


def test_descriptor_validation() -> None:
    with pytest.raises(InvalidTypeError):
        ReducingStateDescriptor("r", 42, None)
    with pytest.raises(InvalidTypeError, match="get_result"):
        AggregatingStateDescriptor("g", object(), None)
    with pytest.raises(InvalidTypeError):
        ValueStateDescriptor("v").enable_time_to_live("1s")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        StateTtlConfig.new_builder(0).build()
    with pytest.raises(InvalidTypeError):
        StateTtlConfig.new_builder("soon").build()
    assert ValueStateDescriptor("v").get_name() == "v"


def test_unhashable_current_key_fails_in_the_dict_lookup() -> None:
    backend = new_backend()
    state = backend.state(ValueStateDescriptor("v", None))
    backend.current_key = ("ok", 1)
    state.update(1)
    backend.current_key = [1, 2]  # the router normally rejects this earlier
    with pytest.raises(TypeError):  # dict lookup of an unhashable key
        state.update(2)
    backend.current_key = frozenset({1})
    state.update(3)
    assert backend.snapshot()["tables"]


def test_router_error_for_unhashable_key_is_invalid_key_error() -> None:
    from strom.state import KeyGroupRouter

    with pytest.raises(InvalidKeyError, match=r"\[1, 2\].*list.*unhashable"):
        KeyGroupRouter(2).channel([1, 2])


def test_ttl_config_builder_and_pyflink_accessors() -> None:
    class Time:
        def __init__(self, ms: int) -> None:
            self.ms = ms

        def to_milliseconds(self) -> int:
            return self.ms

    config = (StateTtlConfig.new_builder(Time(1000))
              .set_update_type(StateTtlConfig.UpdateType.OnReadAndWrite)
              .set_state_visibility(StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp)
              .set_ttl_time_characteristic(StateTtlConfig.TtlTimeCharacteristic.ProcessingTime)
              .cleanup_full_snapshot()
              .cleanup_incrementally(10, True)
              .cleanup_in_rocksdb_compact_filter(500)
              .disable_cleanup_in_background()
              .build())
    assert config.ttl_ms == 1000 and config.is_enabled()
    assert config.get_update_type() is StateTtlConfig.UpdateType.OnReadAndWrite
    assert (config.get_state_visibility()
            is StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp)
    strategies = config.get_cleanup_strategies()
    assert strategies.in_full_snapshot() and not strategies.is_cleanup_in_background()
    assert strategies.get_incremental_cleanup_strategy().get_cleanup_size() == 10
    assert strategies.get_incremental_cleanup_strategy().run_cleanup_for_every_record()
    assert (strategies.get_rocksdb_compact_filter_cleanup_strategy()
            .get_query_time_after_num_entries() == 500)
    default = StateTtlConfig.new_builder(5).build()
    assert default.update_type is StateTtlConfig.UpdateType.OnCreateAndWrite
    assert default.state_visibility is StateTtlConfig.StateVisibility.NeverReturnExpired
    assert default.cleanup_strategies.get_incremental_cleanup_strategy().get_cleanup_size() == 5
    disabled = StateTtlConfig.new_builder(5).set_update_type(
        StateTtlConfig.UpdateType.Disabled).build()
    descriptor = ValueStateDescriptor("plain", None)
    descriptor.enable_time_to_live(disabled)
    backend = new_backend()
    backend.current_key = "k"
    backend.state(descriptor).update(1)
    assert backend.state_for("k") == {"plain": {VOID_NAMESPACE: 1}}  # no timestamps stored


# --------------------------------------------------------------------------------------------
# Snapshots and rescaling
# --------------------------------------------------------------------------------------------


def fill(backend: MemoryStateBackend, keys: list[Any]) -> None:
    value = backend.state(ValueStateDescriptor("v", None))
    items = backend.state(ListStateDescriptor("l", None))
    windowed = backend.state(MapStateDescriptor("m", None, None))
    for key in keys:
        backend.current_key = key
        value.update([key, "mutable"])
        items.add_all([1, 2])
        windowed.set_current_namespace(("window", 1))
        windowed.put("k", key)
        windowed.set_current_namespace(VOID_NAMESPACE)


def test_snapshot_is_independent_of_live_state() -> None:
    backend = new_backend()
    fill(backend, ["a"])
    snap = backend.snapshot()
    backend.current_key = "a"
    backend.state(ValueStateDescriptor("v", None)).value().append("changed later")
    backend.state(ListStateDescriptor("l", None)).add(3)
    restored = new_backend()
    restored.restore([snap])
    restored.current_key = "a"
    assert restored.state(ValueStateDescriptor("v", None)).value() == ["a", "mutable"]
    assert restored.state(ListStateDescriptor("l", None)).get() == [1, 2]
    m = restored.state(MapStateDescriptor("m", None, None))
    m.set_current_namespace(("window", 1))
    assert m.get("k") == "a"
    assert snap["states"] == {"v": {"kind": "value", "ttl": False},
                              "l": {"kind": "list", "ttl": False},
                              "m": {"kind": "map", "ttl": False}}


def test_snapshot_restores_by_key_group_at_another_parallelism() -> None:
    backend = new_backend()
    keys = [f"user-{i}" for i in range(50)]
    fill(backend, keys)
    snap = pickle.loads(pickle.dumps(backend.snapshot()))
    seen = []
    for subtask in range(3):
        own = key_group_range(subtask, 3, MAXP)
        part = MemoryStateBackend(own, MAXP, ManualClock())
        part.restore([snap])
        mine = list(part.keys("v"))
        assert all(assign_key_group(k, MAXP) in own for k in mine)
        seen.extend(mine)
    assert sorted(seen) == sorted(keys)


def test_restored_state_survives_a_second_snapshot_before_registration() -> None:
    backend = new_backend()
    fill(backend, ["a", "b"])
    middle = new_backend()
    middle.restore([backend.snapshot()])
    assert middle.num_entries() == backend.num_entries()
    final = new_backend()
    final.restore([middle.snapshot()])  # nobody registered the states in `middle`
    final.current_key = "b"
    assert final.state(ListStateDescriptor("l", None)).get() == [1, 2]
    with pytest.raises(InvalidTypeError, match="'v'"):
        final.state(ListStateDescriptor("v", None))


def test_restore_rejects_another_max_parallelism() -> None:
    backend = new_backend()
    fill(backend, ["a"])
    other = MemoryStateBackend(range(256), 256, ManualClock())
    with pytest.raises(JobDefinitionError, match="max_parallelism"):
        other.restore([backend.snapshot()])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(max_size=6) | st.integers() | st.tuples(st.integers(), st.text(max_size=3)),
                unique=True, max_size=60),
       st.integers(1, 5), st.integers(1, 5))
def test_rescaling_moves_every_key_to_exactly_its_new_subtask(
        keys: list[Any], old_p: int, new_p: int) -> None:
    old = [new_backend(groups=key_group_range(i, old_p, MAXP)) for i in range(old_p)]
    for key in keys:
        owner = operator_index(assign_key_group(key, MAXP), old_p, MAXP)
        fill(old[owner], [key])
    snapshots = [pickle.loads(pickle.dumps(b.snapshot())) for b in old]
    new = [new_backend(groups=key_group_range(i, new_p, MAXP)) for i in range(new_p)]
    for b in new:
        b.restore(snapshots)
    for key in keys:
        owner = operator_index(assign_key_group(key, MAXP), new_p, MAXP)
        for index, b in enumerate(new):
            stored = b.state_for(key)
            if index == owner:
                assert stored == {"v": {VOID_NAMESPACE: [key, "mutable"]},
                                  "l": {VOID_NAMESPACE: [1, 2]},
                                  "m": {("window", 1): {"k": key}}}
            else:
                assert stored == {}
    assert sum(b.num_entries() for b in new) == 3 * len(keys)


def test_split_two_subtasks_into_three() -> None:
    keys = [f"k{i}" for i in range(300)]
    old = [new_backend(groups=key_group_range(i, 2, MAXP)) for i in range(2)]
    for key in keys:
        fill(old[operator_index(assign_key_group(key, MAXP), 2, MAXP)], [key])
    new = [new_backend(groups=key_group_range(i, 3, MAXP)) for i in range(3)]
    for b in new:
        b.restore([o.snapshot() for o in old])
    owners = {}
    for i, b in enumerate(new):
        for key in b.keys("v"):
            assert key not in owners
            owners[key] = i
    assert owners == {k: operator_index(assign_key_group(k, MAXP), 3, MAXP) for k in keys}


# --------------------------------------------------------------------------------------------
# Namespaces
# --------------------------------------------------------------------------------------------


def test_empty_namespaces_are_dropped_and_clear_all_removes_a_key() -> None:
    backend = new_backend()
    state = backend.state(ValueStateDescriptor("v", None))
    backend.current_key = "k"
    for window in range(100):
        state.set_current_namespace(window)
        state.update(window)
        state.clear()
    state.set_current_namespace(VOID_NAMESPACE)
    assert len(state._tables) == 1 and backend.is_empty()
    state.update(1)
    state.set_current_namespace("w")
    state.update(2)
    backend.clear_all("k")
    assert backend.is_empty()
    assert pickle.loads(pickle.dumps(VOID_NAMESPACE)) is VOID_NAMESPACE


# --------------------------------------------------------------------------------------------
# TTL, per kind, with a manual clock
# --------------------------------------------------------------------------------------------

UT = StateTtlConfig.UpdateType
SV = StateTtlConfig.StateVisibility


def ttl_state(descriptor: Any, update: Any = UT.OnCreateAndWrite, visibility: Any = SV.NeverReturnExpired,
              full_snapshot: bool = False) -> tuple[MemoryStateBackend, ManualClock, Any]:
    clock = ManualClock(0)
    descriptor.enable_time_to_live(ttl_config(100, update, visibility, full_snapshot))
    backend = new_backend(clock)
    state = backend.state(descriptor)
    backend.current_key = "k"
    return backend, clock, state


def test_ttl_value_on_create_and_write() -> None:
    backend, clock, state = ttl_state(ValueStateDescriptor("v", None))
    state.update(1)
    clock.advance(60)
    assert state.value() == 1  # a read does not refresh
    clock.advance(40)
    assert state.value() is None  # expired at ts + ttl
    assert backend.is_empty()  # cleaned up on read
    state.update(2)
    clock.advance(99)
    state.update(3)  # a write refreshes
    clock.advance(99)
    assert state.value() == 3


def test_ttl_value_on_read_and_write() -> None:
    _, clock, state = ttl_state(ValueStateDescriptor("v", None), UT.OnReadAndWrite)
    state.update(1)
    for _ in range(5):
        clock.advance(99)
        assert state.value() == 1  # each read prolongs
    clock.advance(100)
    assert state.value() is None


def test_ttl_return_expired_if_not_cleaned_up() -> None:
    backend, clock, state = ttl_state(ValueStateDescriptor("v", None),
                                      visibility=SV.ReturnExpiredIfNotCleanedUp)
    state.update(1)
    clock.advance(500)
    assert backend.num_entries() == 1
    assert state.value() == 1  # still stored: returned once, and cleaned up by that read
    assert state.value() is None
    assert backend.is_empty()


def test_ttl_list_is_per_element() -> None:
    backend, clock, state = ttl_state(ListStateDescriptor("l", None))
    state.add(1)
    clock.advance(50)
    state.add_all([2, 3])
    clock.advance(50)
    assert state.get() == [2, 3]
    assert backend.state_for("k") == {"l": {VOID_NAMESPACE: [2, 3]}}
    clock.advance(50)
    assert state.get() == []
    assert backend.is_empty()


def test_ttl_list_on_read_and_return_expired() -> None:
    _, clock, state = ttl_state(ListStateDescriptor("l", None), UT.OnReadAndWrite,
                                SV.ReturnExpiredIfNotCleanedUp)
    state.add(1)
    clock.advance(50)
    state.add(2)
    clock.advance(60)
    assert state.get() == [1, 2]  # 1 expired but is returned once
    clock.advance(90)
    assert state.get() == [2]  # 2 was refreshed by the last read
    state.update([7])
    assert state.get() == [7]


def test_ttl_map_is_per_entry() -> None:
    backend, clock, state = ttl_state(MapStateDescriptor("m", None, None), UT.OnReadAndWrite)
    state.put("a", 1)
    clock.advance(50)
    state.put_all({"b": 2, "c": None})
    clock.advance(50)
    assert not state.contains("a") and state.get("a") is None
    assert state.contains("c") and state.get("c") is None and state.get("b") == 2
    clock.advance(99)
    assert dict(state.items()) == {"b": 2, "c": None}  # refreshed by contains/get/items
    clock.advance(99)
    assert list(state.keys()) == ["b", "c"] and list(state.values()) == [2, None]
    clock.advance(100)
    assert state.is_empty()
    assert backend.is_empty()


def test_ttl_map_return_expired() -> None:
    _, clock, state = ttl_state(MapStateDescriptor("m", None, None),
                                visibility=SV.ReturnExpiredIfNotCleanedUp)
    state.put("a", 1)
    clock.advance(100)
    assert state.get("a") == 1
    assert state.get("a") is None
    state.put("b", 2)
    clock.advance(100)
    assert list(state.items()) == [("b", 2)]
    assert state.is_empty()


def test_ttl_reducing_and_aggregating() -> None:
    _, clock, reducing = ttl_state(ReducingStateDescriptor("r", lambda a, b: a + b, None))
    reducing.add(1)
    clock.advance(50)
    reducing.add(2)
    assert reducing.get() == 3
    clock.advance(100)
    reducing.add(5)  # the expired sum is not reduced into
    assert reducing.get() == 5
    _, clock, aggregating = ttl_state(AggregatingStateDescriptor("g", Concat(), None))
    aggregating.add(1)
    aggregating.add(2)
    assert aggregating.get() == "1,2"
    clock.advance(100)
    assert aggregating.get() is None
    aggregating.add(3)
    assert aggregating.get() == "3"


def test_ttl_merge_namespaces_drops_expired_sources() -> None:
    _, clock, state = ttl_state(ReducingStateDescriptor("r", ConcatReduce(), None))
    state.set_current_namespace("old")
    state.add("x")
    clock.advance(100)
    state.set_current_namespace("new")
    state.add("y")
    state.set_current_namespace("target")
    state.add("t")
    state.merge_namespaces("target", ["old", "new"])
    assert state.get() == "ty"


def test_ttl_full_snapshot_cleanup_and_restore_keeps_timestamps() -> None:
    backend, clock, state = ttl_state(ValueStateDescriptor("v", None), full_snapshot=True)
    state.update("old")
    clock.advance(60)
    backend.current_key = "young"
    state.update("young")
    clock.advance(40)
    snap = backend.snapshot()
    tables = [pickle.loads(b) for b in snap["tables"]["v"]]
    assert [k for t in tables for k in t[VOID_NAMESPACE]] == ["young"]
    assert backend.num_entries() == 2  # the live state is not changed by the snapshot
    restored = new_backend(clock)
    restored.restore([snap])
    descriptor = ValueStateDescriptor("v", None)
    descriptor.enable_time_to_live(ttl_config(100))
    restored_state = restored.state(descriptor)
    restored.current_key = "young"
    assert restored_state.value() == "young"
    clock.advance(60)
    assert restored_state.value() is None  # the timestamp travelled with the snapshot


def test_ttl_without_full_snapshot_keeps_expired_in_snapshot_and_cleanup_expired() -> None:
    backend, clock, state = ttl_state(ListStateDescriptor("l", None))
    state.add(1)
    clock.advance(100)
    state.add(2)
    assert backend.snapshot()["tables"]
    assert backend.cleanup_expired() == 0  # only one element of the list expired
    assert backend.state_for("k") == {"l": {VOID_NAMESPACE: [2]}}
    clock.advance(100)
    assert backend.cleanup_expired() == 1
    assert backend.is_empty()


def test_ttl_durations_accept_time_like_objects_and_timedelta() -> None:
    import datetime as dt

    assert StateTtlConfig.new_builder(dt.timedelta(seconds=2)).build().ttl_ms == 2000


def test_snapshot_is_independent_of_later_writes_and_in_place_changes() -> None:
    """Immutable values are shared by the snapshot (declared or found by type), mutable ones are
    copied at the snapshot: neither later updates nor in-place changes leak into it."""
    from strom.api.typeinfo import Types

    backend = new_backend()
    declared = backend.state(ValueStateDescriptor("declared", Types.LONG()))
    plain = backend.state(ValueStateDescriptor("plain", None))
    mutable = backend.state(ValueStateDescriptor("mutable", None))
    backend.current_key = "k"
    declared.update(1)
    plain.update("one")
    mutable.update([1])
    snap = backend.snapshot()
    declared.update(2)
    plain.update("two")
    mutable.value().append(2)  # changed in place after value(), without update()
    restored = new_backend()
    restored.restore([pickle.loads(pickle.dumps(snap))])
    assert restored.state_for("k") == {"declared": {VOID_NAMESPACE: 1},
                                       "plain": {VOID_NAMESPACE: "one"},
                                       "mutable": {VOID_NAMESPACE: [1]}}
