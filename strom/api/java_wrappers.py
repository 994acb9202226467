"""PyFlink classes whose only constructor wraps a Java object: the names exist so ported code
imports, and building one raises :class:`~strom.errors.UnsupportedError` naming what strom
offers instead (docs/compatibility.md lists them).
"""
from __future__ import annotations

from typing import Any

from strom.api.checkpoint_storage import CheckpointStorage
from strom.api.state_backend import StateBackend
from strom.errors import UnsupportedError


def _no_java(name: str, instead: str) -> UnsupportedError:
    return UnsupportedError(f"{name}(...) wraps a Java object and strom runs without a JVM; "
                            f"hint: {instead}")


class CustomStateBackend(StateBackend):
    """A Java state backend: strom's keyed state is ``HashMapStateBackend``."""

    def __init__(self, j_custom_state_backend: Any = None) -> None:
        raise _no_java("CustomStateBackend", "use HashMapStateBackend() (strom's state backend)")


class CustomCheckpointStorage(CheckpointStorage):
    """A Java checkpoint storage: strom writes checkpoints with ``FileSystemCheckpointStorage``
    (any fsspec URL) or keeps them in memory (``JobManagerCheckpointStorage``)."""

    def __init__(self, j_custom_checkpoint_storage: Any = None) -> None:
        raise _no_java("CustomCheckpointStorage",
                       "use FileSystemCheckpointStorage('s3://...' or any fsspec URL) or "
                       "JobManagerCheckpointStorage()")


class AssignerWithPeriodicWatermarksWrapper:
    """A Java periodic watermark assigner (PyFlink's Kinesis consumer takes one)."""

    def __init__(self, j_assigner_with_periodic_watermarks: Any = None) -> None:
        raise _no_java("AssignerWithPeriodicWatermarksWrapper",
                       "use WatermarkStrategy.for_bounded_out_of_orderness(...) or a "
                       "WatermarkGenerator of your own")


class BulkWriterFactory:
    """Makes the writers of a bulk-format file sink (Parquet, ORC, Avro in PyFlink); strom has
    no bulk writers."""

    def __init__(self, j_bulk_writer_factory: Any = None) -> None:
        raise _no_java("BulkWriterFactory",
                       "FileSink.for_row_format(path, Encoder.simple_string_encoder()) writes "
                       "rows as lines")


class InputFormat:
    """A Java input format (``env.create_input`` reads one in PyFlink); strom has none."""

    def __init__(self, j_input_format: Any = None) -> None:
        raise _no_java("InputFormat", "read files with FileSource or env.read_text_file, or "
                                      "write a Python SourceFunction for env.add_source")
