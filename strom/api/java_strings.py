"""How values of a declared type are shown as text, as PyFlink shows them: the line ``ds.print()``
prints (:func:`java_string`) and Java's ``toString`` that Java sinks such as file encoders write
(:func:`java_to_string`)."""
from __future__ import annotations

from strom.api.row import Row, RowKind
from strom.api.typeinfo import PickledBytesTypeInfo, RowTypeInfo, TypeInformation


def java_string(value: object, type_info: TypeInformation | None = None) -> str:
    """The line ``ds.print()`` shows for ``value`` on a stream of type ``type_info``.

    What PyFlink does, read from ``DataStream.print`` and ``DataStream._align_output_type`` in
    ``pyflink/datastream/data_stream.py`` (apache/flink, flink-python; apache-flink 2.3.0 wheel):

    * no declared type or ``PICKLED_BYTE_ARRAY``: PyFlink maps the stream to ``Types.STRING()``
      with ``value if isinstance(value, (str, bytes)) else str(value)`` before the Java print
      sink, so it is Python's ``str``: ``True``, ``1.0``, ``None``, ``(1, 'a')``, ``{'a': 1}``.
      Bytes go through as they are; strom decodes them as UTF-8.
    * ``ROW`` (``RowTypeInfo``): PyFlink also formats in Python, as
      ``'{}[{}]'.format(row.get_row_kind(), ','.join(str(item) for item in row._values))``,
      e.g. ``+I[a,1]``: no space after the comma, Python ``str`` of every field
      (``True``, ``None``, nested rows as their ``repr``). Older PyFlink (before that branch
      was added) printed Java's ``Row.toString`` ``+I[a, 1]`` instead.
    * every other type reaches Flink's ``PrintSinkOutputWriter``, which prints Java's
      ``toString``: ``true``/``false``, ``null``, ``Double.toString`` (``45.67``, ``1.0E10``,
      ``1.0E-4``), ``Tuple2`` ``(a,1)``, ``List`` ``[a, b]``, ``Map`` ``{a=1, b=2}``, rows
      nested in those ``+I[a, 1]``, ``LocalDateTime`` ``2024-01-01T10:00``, ``Instant``
      ``2024-01-01T10:00:00Z``. Top-level arrays are shown like ``Arrays.toString`` (Java itself
      would print an identity hash).

    The value is assumed valid for ``type_info`` (see :meth:`TypeInformation.validate`).
    """
    if isinstance(type_info, RowTypeInfo) and value is not None:
        kind = value.get_row_kind() if isinstance(value, Row) else RowKind.INSERT
        return "{}[{}]".format(kind, ",".join(str(item) for item in value))  # type: ignore[attr-defined]
    return java_to_string(value, type_info)


def java_to_string(value: object, type_info: TypeInformation | None) -> str:
    """Java ``toString`` of a value of the declared type, as Java sinks (file encoders) write
    it; untyped/pickled values use Python's ``str``. Unlike :func:`java_string` a top-level row
    is Java's ``+I[a, 1]``."""
    if type_info is None or isinstance(type_info, PickledBytesTypeInfo):
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value if isinstance(value, str) else str(value)
    return type_info._java(value)
