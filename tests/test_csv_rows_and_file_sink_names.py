"""PyFlink's CSV message schemas (``pyflink.datastream.formats.csv``) and the file-sink names
around ``FileSink``: the legacy ``StreamingFileSink`` (builds a FileSink), the compaction
settings (``enable_compact`` raises: strom does not compact) and the bulk-format builders."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from strom.common import Encoder, Row, Types
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.connectors.file_system import (
    FileCompactor,
    FileCompactStrategy,
    FileSink,
    StreamingFileSink,
)
from strom.datastream.formats.csv import (
    CsvBulkWriters,
    CsvRowDeserializationSchema,
    CsvRowSerializationSchema,
    CsvSchema,
)
from strom.errors import InvalidTypeError, JobDefinitionError, UnsupportedError

ROW = Types.ROW_NAMED(["id", "name", "score", "ok", "tags"],
                      [Types.INT(), Types.STRING(), Types.DOUBLE(), Types.BOOLEAN(),
                       Types.LIST(Types.STRING())])


def test_rows_round_trip_with_flinks_defaults() -> None:
    out = CsvRowSerializationSchema.Builder(ROW).build()
    back = CsvRowDeserializationSchema.Builder(ROW).build()
    row = Row(id=7, name='say "hi", bye', score=1.5, ok=True, tags=["a", "b"])
    line = out.serialize(row)
    assert line == b'7,"say ""hi"", bye",1.5,true,a;b\n'
    assert back.deserialize(line) == row
    assert back.deserialize(line).as_dict()["tags"] == ["a", "b"]
    assert back.produced_type == ROW
    nulls = Row(id=None, name=None, score=None, ok=None, tags=None)
    assert out.serialize(nulls) == b",,,,\n"
    assert back.deserialize(b",,,,") == nulls


def test_builder_options() -> None:
    out = (CsvRowSerializationSchema.Builder(ROW).set_field_delimiter("|")
           .set_line_delimiter("\r\n").set_array_element_delimiter("/")
           .set_null_literal("NULL").disable_quote_character().set_escape_character("\\")
           .build())
    line = out.serialize(Row(id=1, name="a|b", score=None, ok=False, tags=["x", "y"]))
    assert line == b"1|a\\|b|NULL|false|x/y\r\n"
    back = (CsvRowDeserializationSchema.Builder(ROW).set_field_delimiter("|")
            .set_array_element_delimiter("/").set_null_literal("NULL")
            .set_escape_character("\\").set_quote_character("'").build())
    assert back.deserialize(line) == Row(id=1, name="a|b", score=None, ok=False, tags=["x", "y"])
    with pytest.raises(JobDefinitionError, match="line delimiter|one of"):
        CsvRowSerializationSchema.Builder(ROW).set_line_delimiter(";")
    with pytest.raises(JobDefinitionError, match="one character"):
        CsvRowSerializationSchema.Builder(ROW).set_field_delimiter("||")
    with pytest.raises(InvalidTypeError, match="Types.ROW"):
        CsvRowSerializationSchema.Builder(Types.STRING())


def test_lines_that_do_not_fit_fail_or_are_dropped_with_a_warning(caplog: Any) -> None:
    strict = CsvRowDeserializationSchema.Builder(ROW).build()
    with pytest.raises(InvalidTypeError, match="field 'id'"):
        strict.deserialize(b"x,a,1.0,true,")
    with pytest.raises(InvalidTypeError, match="expected 5 fields"):
        strict.deserialize(b"1,a")
    lenient = (CsvRowDeserializationSchema.Builder(ROW).set_ignore_parse_errors(True)
               .set_allow_comments(True).build())
    with caplog.at_level(logging.WARNING, logger="strom.connectors.csv_rows"):
        assert lenient.deserialize(b"1,a") is None
    assert "dropped" in caplog.text
    assert lenient.deserialize(b"# a comment") is None
    assert lenient.deserialize(b"2,b,0.5,false,") == Row(id=2, name="b", score=0.5, ok=False,
                                                          tags=None)


def test_bulk_writers_raise_naming_the_row_format() -> None:
    schema = CsvSchema.builder().add_string_column("name").build()
    with pytest.raises(UnsupportedError, match="for_row_format"):
        CsvBulkWriters.for_schema(schema)
    with pytest.raises(UnsupportedError, match="bulk"):
        FileSink.BulkFormatBuilder("/tmp/x", object())
    with pytest.raises(UnsupportedError, match="bulk"):
        StreamingFileSink.for_bulk_format("/tmp/x", object())


def test_streaming_file_sink_builds_a_file_sink(tmp_path: Path) -> None:
    builder = StreamingFileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder())
    sink = builder.with_rolling_policy(policy=FileSink.for_row_format(
        str(tmp_path), Encoder.simple_string_encoder())._policy).build()
    assert isinstance(sink, FileSink)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection(["a", "b"]).sink_to(sink)
    env.execute()
    written = sorted(line for f in tmp_path.rglob("*") if f.is_file() and not f.name.startswith(".")
                     for line in f.read_text().splitlines())
    assert written == ["a", "b"]


def test_compaction_settings_build_but_compaction_raises(tmp_path: Path) -> None:
    strategy = (FileCompactStrategy.builder().enable_compaction_on_checkpoint(3)
                .set_size_threshold(1024).set_num_compact_threads(2).build())
    assert (strategy.num_checkpoints_before_compaction, strategy.size_threshold,
            strategy.num_compact_threads) == (3, 1024, 2)
    assert FileCompactor.concat_file_compactor(b"\n") == FileCompactor.concat_file_compactor(b"\n")
    assert FileCompactor.identical_file_compactor().kind == "identical"
    with pytest.raises(JobDefinitionError, match="set a trigger"):
        FileCompactStrategy.builder().build()
    with pytest.raises(JobDefinitionError, match="int > 0"):
        FileCompactStrategy.builder().set_size_threshold(0)
    builder = FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder())
    with pytest.raises(UnsupportedError, match="does not compact"):
        builder.enable_compact(strategy, FileCompactor.identical_file_compactor())
    assert builder.disable_compact() is builder
