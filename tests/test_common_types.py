"""Tests for the PyFlink common value types: Types, Row, java_string, durations, configuration."""
from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strom.api.java_strings import java_string
from strom.common import (
    ByteArraySchema,
    CheckpointingMode,
    Configuration,
    Duration,
    Encoder,
    ExecutionConfig,
    Instant,
    RestartStrategies,
    Row,
    RowKind,
    SimpleStringSchema,
    Time,
    TimeCharacteristic,
    Types,
)
from strom.common.typeinfo import RowTypeInfo
from strom.errors import InvalidTypeError, JobDefinitionError
from strom.time.durations import to_millis

# ------------------------------------------------------------------ validation

GOOD = [
    (Types.STRING(), "a"), (Types.STRING(), None),
    (Types.BYTE(), -128), (Types.BYTE(), 127), (Types.SHORT(), 32767),
    (Types.INT(), -(2**31)), (Types.INT(), 2**31 - 1), (Types.LONG(), 2**63 - 1),
    (Types.BOOLEAN(), False), (Types.FLOAT(), 1.5), (Types.FLOAT(), 2), (Types.DOUBLE(), 1e300),
    (Types.DOUBLE(), 3), (Types.CHAR(), "x"), (Types.BIG_INT(), 2**100), (Types.BIG_INT(), None),
    (Types.BIG_DEC(), Decimal("1.5")), (Types.INSTANT(), Instant.of_epoch_milli(5)),
    (Types.SQL_DATE(), dt.date(2024, 1, 1)), (Types.SQL_TIME(), dt.time(1, 2)),
    (Types.SQL_TIMESTAMP(), dt.datetime(2024, 1, 1)), (Types.LOCAL_DATE(), dt.date(2024, 1, 1)),
    (Types.LOCAL_TIME(), dt.time(1, 2)), (Types.LOCAL_DATE_TIME(), dt.datetime(2024, 1, 1)),
    (Types.PICKLED_BYTE_ARRAY(), object()), (Types.PICKLED_BYTE_ARRAY(), None),
    (Types.ROW([Types.STRING(), Types.INT()]), Row("a", 1)),
    (Types.ROW([Types.STRING(), Types.INT()]), ("a", 1)),
    (Types.ROW([Types.STRING(), Types.INT()]), Row("a", None)),  # row fields are nullable
    (Types.ROW_NAMED(["a", "b"], [Types.STRING(), Types.INT()]), Row(b=1, a="x")),
    (Types.TUPLE([Types.STRING(), Types.INT()]), ("a", 1)),
    (Types.TUPLE([Types.STRING(), Types.ROW([Types.INT()])]), ("a", Row(1))),
    (Types.LIST(Types.INT()), [1, 2]), (Types.MAP(Types.STRING(), Types.INT()), {"a": 1, "b": None}),
    (Types.PRIMITIVE_ARRAY(Types.INT()), [1, 2]), (Types.PRIMITIVE_ARRAY(Types.BYTE()), b"\xff"),
    (Types.BASIC_ARRAY(Types.INT()), [1, None]), (Types.OBJECT_ARRAY(Types.STRING()), ["a", None]),
]

BAD = [
    (Types.STRING(), 1), (Types.INT(), "1"), (Types.INT(), True), (Types.INT(), 2**31),
    (Types.INT(), None), (Types.BYTE(), 128), (Types.SHORT(), -32769), (Types.LONG(), 2**63),
    (Types.BOOLEAN(), 1), (Types.DOUBLE(), "1.0"), (Types.FLOAT(), 1e39), (Types.CHAR(), "ab"),
    (Types.SQL_DATE(), dt.datetime(2024, 1, 1)), (Types.BIG_DEC(), 1.5),
    (Types.ROW([Types.STRING()]), None), (Types.ROW([Types.STRING()]), "a"),
    (Types.ROW([Types.STRING(), Types.INT()]), Row("a")),
    (Types.ROW([Types.STRING(), Types.INT()]), Row("a", "b")),
    (Types.ROW_NAMED(["a"], [Types.INT()]), Row(b=1)),
    (Types.TUPLE([Types.STRING(), Types.INT()]), ("a", 1, 2)),
    (Types.TUPLE([Types.STRING(), Types.INT()]), ("a", None)),
    (Types.LIST(Types.INT()), (1, 2)), (Types.LIST(Types.INT()), [1, None]),
    (Types.MAP(Types.STRING(), Types.INT()), {1: 1}), (Types.MAP(Types.STRING(), Types.INT()), [1]),
    (Types.PRIMITIVE_ARRAY(Types.INT()), [1, None]), (Types.PRIMITIVE_ARRAY(Types.INT()), b"x"),
]


@pytest.mark.parametrize(("type_info", "value"), GOOD, ids=repr)
def test_validate_accepts(type_info, value):
    type_info.validate(value, "Map")


@pytest.mark.parametrize(("type_info", "value"), BAD, ids=repr)
def test_validate_rejects(type_info, value):
    with pytest.raises(InvalidTypeError) as info:
        type_info.validate(value, "Map 'parse'")
    assert str(info.value).startswith("Map 'parse': expected ")
    assert "hint:" in str(info.value)


def test_validate_message_names_where_expected_value_type_and_path():
    row_type = Types.ROW_NAMED(["word", "counts"], [Types.STRING(), Types.LIST(Types.INT())])
    with pytest.raises(InvalidTypeError) as info:
        row_type.validate(Row(word="a", counts=[1, "two"]), "FlatMap 'split'")
    msg = str(info.value)
    assert msg.startswith("FlatMap 'split': expected Types.INT() at field 'counts'[1]")
    assert "declared Types.ROW_NAMED(['word', 'counts']" in msg
    assert "got 'two' of type str" in msg
    assert "Types.PICKLED_BYTE_ARRAY()" in msg


def test_validate_message_gives_range():
    with pytest.raises(InvalidTypeError, match=r"out of range \[-128, 127\]"):
        Types.BYTE().validate(300, "op")


def test_invalid_type_error_is_a_type_error():
    with pytest.raises(TypeError):
        Types.INT().validate("x", "op")


def test_constructors_reject_uncalled_types():
    with pytest.raises(InvalidTypeError, match="Types.INT\\(\\) not"):
        Types.ROW([Types.INT])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="not primitive"):
        Types.PRIMITIVE_ARRAY(Types.STRING())
    with pytest.raises(InvalidTypeError, match="2 names"):
        Types.ROW_NAMED(["a", "b"], [Types.INT()])


def test_equality_hash_and_repr():
    assert Types.INT() == Types.INT() and hash(Types.INT()) == hash(Types.INT())
    assert Types.INT() != Types.LONG()
    assert Types.SQL_DATE() != Types.LOCAL_DATE()
    assert Types.ROW([Types.INT()]) == Types.ROW_NAMED(["f0"], [Types.INT()])
    assert Types.ROW_NAMED(["a"], [Types.INT()]) != Types.ROW_NAMED(["b"], [Types.INT()])
    assert Types.LIST(Types.INT()) != Types.BASIC_ARRAY(Types.INT())
    assert len({Types.MAP(Types.STRING(), Types.INT()), Types.MAP(Types.STRING(), Types.INT())}) == 1
    for t in [Types.TUPLE([Types.STRING(), Types.MAP(Types.STRING(), Types.LIST(Types.INT()))]),
              Types.ROW_NAMED(["a"], [Types.PRIMITIVE_ARRAY(Types.BYTE())]),
              Types.OBJECT_ARRAY(Types.PICKLED_BYTE_ARRAY())]:
        assert eval(repr(t), {"Types": Types}) == t


@pytest.mark.parametrize("type_info", sorted({t for t, _ in GOOD}, key=repr), ids=repr)
def test_types_pickle(type_info):
    assert pickle.loads(pickle.dumps(type_info)) == type_info


def test_row_type_info_fields():
    named = Types.ROW_NAMED(["a", "b"], [Types.STRING(), Types.INT()])
    assert isinstance(named, RowTypeInfo)
    assert named.get_field_names() == ["a", "b"]
    assert named.get_field_index("b") == 1 and named.get_field_index("zz") == -1
    assert named.get_field_types() == [Types.STRING(), Types.INT()]
    assert Types.ROW([Types.INT()]).get_field_names() == ["f0"]
    assert Types.TUPLE([Types.INT()]).get_field_types() == [Types.INT()]


# ------------------------------------------------------------------ java_string

@pytest.mark.parametrize(("value", "type_info", "expected"), [
    # untyped / pickled: PyFlink maps to str(value) before the print sink
    ("hello", None, "hello"), (1.0, None, "1.0"), (True, None, "True"), (None, None, "None"),
    (("a", 1), None, "('a', 1)"), ({"a": 1}, None, "{'a': 1}"), (Row("a", 1), None, "<Row('a', 1)>"),
    ([1, 2], Types.PICKLED_BYTE_ARRAY(), "[1, 2]"), (b"raw", None, "raw"),
    # ROW: formatted in Python as kind[str(f0),str(f1)]
    (Row("a", 1), Types.ROW([Types.STRING(), Types.INT()]), "+I[a,1]"),
    (("a", True, None), Types.ROW([Types.STRING(), Types.BOOLEAN(), Types.STRING()]),
     "+I[a,True,None]"),
    (Row.of_kind(RowKind.UPDATE_BEFORE, 1), Types.ROW([Types.INT()]), "-U[1]"),
    # Java toString for every other type
    ("x", Types.STRING(), "x"), (None, Types.STRING(), "null"), (42, Types.INT(), "42"),
    (True, Types.BOOLEAN(), "true"), (False, Types.BOOLEAN(), "false"),
    (45.67, Types.DOUBLE(), "45.67"), (1e10, Types.DOUBLE(), "1.0E10"),
    (0.001, Types.DOUBLE(), "0.001"), (1e-4, Types.DOUBLE(), "1.0E-4"),
    (100.0, Types.DOUBLE(), "100.0"), (3, Types.DOUBLE(), "3.0"), (-0.0, Types.DOUBLE(), "-0.0"),
    (1e7, Types.DOUBLE(), "1.0E7"), (9999999.0, Types.DOUBLE(), "9999999.0"),
    (123456789.125, Types.DOUBLE(), "1.23456789125E8"), (float("nan"), Types.DOUBLE(), "NaN"),
    (float("-inf"), Types.DOUBLE(), "-Infinity"), (0.1, Types.FLOAT(), "0.1"),
    (1 / 3, Types.FLOAT(), "0.33333334"), (Decimal("1.50"), Types.BIG_DEC(), "1.50"),
    (("a", 1), Types.TUPLE([Types.STRING(), Types.INT()]), "(a,1)"),
    (("a", ("b", 2.0)), Types.TUPLE([Types.STRING(), Types.TUPLE([Types.STRING(), Types.DOUBLE()])]),
     "(a,(b,2.0))"),
    (("k", Row("a", 1)), Types.TUPLE([Types.STRING(), Types.ROW([Types.STRING(), Types.INT()])]),
     "(k,+I[a, 1])"),
    (["a", "b"], Types.LIST(Types.STRING()), "[a, b]"),
    ({"a": 1, "b": None}, Types.MAP(Types.STRING(), Types.INT()), "{a=1, b=null}"),
    ([True], Types.BASIC_ARRAY(Types.BOOLEAN()), "[true]"),
    (b"\xff\x01", Types.PRIMITIVE_ARRAY(Types.BYTE()), "[-1, 1]"),
    (dt.date(2024, 1, 2), Types.SQL_DATE(), "2024-01-02"),
    (dt.time(9, 5), Types.SQL_TIME(), "09:05:00"),
    (dt.datetime(2024, 1, 2, 9, 5), Types.SQL_TIMESTAMP(), "2024-01-02 09:05:00.0"),
    (dt.datetime(2024, 1, 2, 9, 5, 1, 120000), Types.SQL_TIMESTAMP(), "2024-01-02 09:05:01.12"),
    (dt.time(9, 5), Types.LOCAL_TIME(), "09:05"),
    (dt.time(9, 5, 0, 1), Types.LOCAL_TIME(), "09:05:00.000001"),
    (dt.datetime(2024, 1, 2, 9, 5, 7), Types.LOCAL_DATE_TIME(), "2024-01-02T09:05:07"),
    (Instant.of_epoch_milli(1_704_186_300_123), Types.INSTANT(), "2024-01-02T09:05:00.123Z"),
    (Instant(0), Types.INSTANT(), "1970-01-01T00:00:00Z"),
])
def test_java_string(value, type_info, expected):
    assert java_string(value, type_info) == expected


def test_encoder_writes_java_rows():
    encoder = Encoder.simple_string_encoder()
    assert encoder.encode(Row("a", 1), Types.ROW([Types.STRING(), Types.INT()])) == b"+I[a, 1]\n"
    assert encoder.encode(True) == b"True\n"


def test_serialization_schemas():
    schema = SimpleStringSchema("latin-1")
    assert schema.serialize("é") == b"\xe9" and schema.deserialize(b"\xe9") == "é"
    assert SimpleStringSchema().produced_type == Types.STRING()
    assert not SimpleStringSchema().is_end_of_stream("x")
    with pytest.raises(InvalidTypeError):
        SimpleStringSchema().serialize(1)
    with pytest.raises(InvalidTypeError, match="unknown charset"):
        SimpleStringSchema("nope")
    assert ByteArraySchema().deserialize(bytearray(b"ab")) == b"ab"
    assert pickle.loads(pickle.dumps(SimpleStringSchema())).deserialize(b"x") == "x"


# ------------------------------------------------------------------ Row

def test_row_positional_and_named():
    row = Row("a", 1)
    assert row[0] == "a" and len(row) == 2 and list(row) == ["a", 1] and "a" in row
    assert repr(row) == "<Row('a', 1)>"
    named = Row(name="Alice", age=11)
    assert named._fields == ["name", "age"]  # given order is kept (PyFlink >= 1.16)
    assert repr(named) == "Row(name='Alice', age=11)" == str(named)
    assert named.name == "Alice" and named["age"] == 11 and named[1] == 11
    assert "name" in named and "Alice" not in named
    assert named.as_dict() == {"name": "Alice", "age": 11}
    named["age"] = 12
    named[0] = "Bob"
    assert named.as_dict() == {"name": "Bob", "age": 12}


def test_row_factory_and_errors():
    person = Row("name", "age")
    assert person("Alice", 11) == Row(name="Alice", age=11)
    with pytest.raises(InvalidTypeError):
        person(1, 2, 3)
    with pytest.raises(InvalidTypeError):
        Row(1, a=2)
    with pytest.raises(InvalidTypeError):
        Row(1).as_dict()
    with pytest.raises(AttributeError):
        _ = Row(a=1).b
    with pytest.raises(KeyError):
        _ = Row(a=1)["b"]
    with pytest.raises(AttributeError):
        Row(a=1).a = 2  # type: ignore[misc]
    assert not hasattr(Row(1), "name")


def test_row_equality_and_kind():
    assert Row(a=1, b=2) == Row(b=2, a=1)
    assert hash(Row(a=1, b=2)) == hash(Row(b=2, a=1))
    assert Row(1, 2) != Row(2, 1)
    assert Row(a=1) != Row(1)
    assert Row(1) != (1,)
    deleted = Row.of_kind(RowKind.DELETE, 1)
    assert deleted != Row(1) and deleted.get_row_kind() is RowKind.DELETE
    row = Row(1)
    row.set_row_kind(RowKind.UPDATE_AFTER)
    assert row == Row.of_kind(RowKind.UPDATE_AFTER, 1)
    assert [str(k) for k in RowKind] == ["+I", "-U", "+U", "-D"]
    row.set_field_names(["x"])
    assert row.x == 1 and row.get_fields_by_names(["x"]) == [1]


def test_row_as_dict_recursive():
    row = Row(key=1, value=Row(name="a", tags=[Row(t=1)]))
    assert row.as_dict(True) == {"key": 1, "value": {"name": "a", "tags": [{"t": 1}]}}


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=8,
)


@st.composite
def rows(draw):
    values = draw(st.lists(_values, max_size=4))
    if draw(st.booleans()):
        names = draw(st.lists(st.from_regex(r"[a-z]{1,4}", fullmatch=True), min_size=len(values),
                              max_size=len(values), unique=True))
        row = Row(**dict(zip(names, values, strict=True)))
    else:
        row = Row(*values)
    row.set_row_kind(draw(st.sampled_from(RowKind)))
    if draw(st.booleans()):
        row = Row(row, "nested")
    return row


@given(rows())
def test_row_survives_pickling(row):
    copy = pickle.loads(pickle.dumps(row))
    assert copy == row
    try:
        expected_hash = hash(row)
    except TypeError:  # a list field makes a row unhashable, as it does a tuple
        pass
    else:
        assert hash(copy) == expected_hash
    assert repr(copy) == repr(row)
    assert copy.get_row_kind() is row.get_row_kind()


# ------------------------------------------------------------------ durations

def test_duration_and_time():
    assert Duration.of_seconds(2).to_milliseconds() == 2000
    assert Duration.of_minutes(1) == Duration.of_millis(60_000)
    assert Duration.of_hours(1) < Duration.of_days(1)
    assert Duration.of_nanos(1_500_000).to_milliseconds() == 1
    assert Duration.of_nanos(-1).to_milliseconds() == -1  # rounds down like Java
    assert repr(Duration.of_seconds(1)) == "Duration.of_millis(1000)"
    assert Time.seconds(1) == Time.milliseconds(1000) and Time.days(1).to_milliseconds() == 86_400_000
    assert str(Time.minutes(1)) == "60000 ms"
    assert len({Time.hours(1), Time.minutes(60)}) == 1
    with pytest.raises(AttributeError):
        Time.seconds(1)._milliseconds = 5  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(Duration.of_millis(5))) == Duration.of_millis(5)


def test_instant():
    assert Instant.of_epoch_milli(-1) == Instant(-1, 999_000_000)
    assert Instant.of_epoch_milli(-1).to_epoch_milli() == -1
    assert Instant(1, 1_500_000_000) == Instant(2, 500_000_000)
    assert repr(Instant(1, 2)) == "Instant<1, 2>"


@pytest.mark.parametrize(("value", "millis"), [
    (Duration.of_seconds(3), 3000), (Time.minutes(2), 120_000), (250, 250),
    (dt.timedelta(seconds=1.5), 1500),
])
def test_to_millis(value, millis):
    assert to_millis(value, "x") == millis


@pytest.mark.parametrize("value", [1.5, "100", True, None])
def test_to_millis_rejects(value):
    with pytest.raises(InvalidTypeError, match="^window size: expected a length of time"):
        to_millis(value, "window size")


# ------------------------------------------------------------------ configuration

def test_configuration():
    conf = Configuration()
    conf.set_string("a", "x").set_integer("n", 3).set_boolean("b", True).set_float("f", 0.5)
    assert conf.get_string("a", "") == "x" and conf.get_integer("n", 0) == 3
    assert conf.get_string("n", "") == "3" and conf.get_boolean("b", False) is True
    assert conf.get_float("f", 0.0) == 0.5 and conf.get_integer("missing", 7) == 7
    assert conf.contains_key("a") and conf.key_set() == {"a", "n", "b", "f"}
    assert Configuration(conf) == conf and Configuration(conf) is not conf
    assert conf.remove_config("a") and not conf.remove_config("a")
    other = Configuration.from_dict({"x": "1"})
    conf.add_all(other, prefix="p.")
    assert conf.to_dict()["p.x"] == "1"
    target: dict = {}
    other.add_all_to_dict(target)
    assert target == {"x": "1"}
    assert Configuration().set_string("b", "TRUE").get_boolean("b", False) is True
    with pytest.raises(InvalidTypeError, match="not integer"):
        Configuration().set_string("n", "x").get_integer("n", 0)


def test_execution_config():
    config = ExecutionConfig()
    assert config.get_auto_watermark_interval() == 200
    assert config.get_parallelism() == ExecutionConfig.PARALLELISM_DEFAULT
    assert config.get_max_parallelism() == 128
    assert not config.is_object_reuse_enabled()
    assert config.get_restart_strategy() is None
    config.set_parallelism(4).set_max_parallelism(256).set_auto_watermark_interval(50)
    config.enable_object_reuse().set_global_job_parameters({"k": 1})
    assert (config.get_parallelism(), config.get_max_parallelism()) == (4, 256)
    assert config.get_auto_watermark_interval() == 50 and config.is_object_reuse_enabled()
    assert config.get_global_job_parameters() == {"k": "1"}
    assert not config.disable_object_reuse().is_object_reuse_enabled()
    for bad in (lambda: config.set_parallelism(0), lambda: config.set_max_parallelism(0),
                lambda: config.set_auto_watermark_interval(-1)):
        with pytest.raises(JobDefinitionError):
            bad()
    with pytest.raises(InvalidTypeError):
        config.set_restart_strategy("fixed")  # type: ignore[arg-type]


def test_restart_strategies():
    fixed = RestartStrategies.fixed_delay_restart(3, 1000)
    assert fixed.get_restart_attempts() == 3
    assert fixed.get_delay_between_attempts_interval() == dt.timedelta(seconds=1)
    assert fixed == RestartStrategies.fixed_delay_restart(3, Duration.of_seconds(1))
    assert "3" in repr(fixed) and "1000" in repr(fixed)
    rate = RestartStrategies.failure_rate_restart(2, dt.timedelta(minutes=1), Time.seconds(5))
    assert rate.get_max_failure_rate() == 2
    assert rate.get_failure_interval() == dt.timedelta(minutes=1)
    assert "Restart deactivated" in RestartStrategies.no_restart().get_description()
    assert ExecutionConfig().set_restart_strategy(fixed).get_restart_strategy() == fixed
    assert RestartStrategies.fall_back_restart() == RestartStrategies.fall_back_restart()
    with pytest.raises(InvalidTypeError):
        RestartStrategies.fixed_delay_restart("3", 1000)  # type: ignore[arg-type]


def test_enums():
    assert CheckpointingMode.EXACTLY_ONCE.value == 0 and CheckpointingMode.AT_LEAST_ONCE.value == 1
    assert [t.name for t in TimeCharacteristic] == ["ProcessingTime", "IngestionTime", "EventTime"]


def test_facades_match_pyflink_paths():
    from strom.common.checkpointing import CheckpointingMode as C
    from strom.common.configuration import Configuration as Conf
    from strom.common.execution_config import ExecutionConfig as E
    from strom.common.restart_strategy import RestartStrategies as R
    from strom.common.serialization import SimpleStringSchema as S
    from strom.common.time import Duration as D
    from strom.common.types import Row as Rw
    assert (C, Conf, E, R, S, D, Rw) == (CheckpointingMode, Configuration, ExecutionConfig,
                                         RestartStrategies, SimpleStringSchema, Duration, Row)


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(),
                 st.tuples(st.text(), st.integers()), st.tuples(st.integers()),
                 st.lists(st.integers(), max_size=2)))
def test_fast_check_never_accepts_what_validate_rejects(value):
    types = [Types.STRING(), Types.BOOLEAN(), Types.BYTE(), Types.SHORT(), Types.INT(), Types.LONG(),
             Types.DOUBLE(), Types.BIG_INT(), Types.PICKLED_BYTE_ARRAY(), Types.FLOAT(),
             Types.TUPLE([Types.STRING(), Types.LONG()]), Types.ROW([Types.STRING(), Types.INT()]),
             Types.TUPLE([Types.INT()]), Types.LIST(Types.INT())]
    for t in types:
        if t.fast_check()(value):
            t.validate(value, "test")  # must not raise
