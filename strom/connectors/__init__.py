"""Connectors: sources and sinks for external systems; the core never imports this package.

Connectors may import ``strom.api``, ``strom.runtime``, ``strom.state`` and ``strom.errors``;
nothing outside ``strom.connectors`` (except the PyFlink façades under
``strom.datastream.connectors``) imports them.

* :mod:`strom.connectors.file_system`: :class:`FileSink`, exactly-once row-format part files
  in bucket directories (Flink's ``FileSink``).
* :mod:`strom.connectors.file_source`: :class:`FileSource`, files as resumable splits, bounded
  or continuously monitored; formats in :mod:`strom.connectors.file_formats` (CSV, JSON lines).
* :mod:`strom.connectors.datagen`: :class:`DataGeneratorSource`, rate-limited generated records.
"""
from strom.connectors.file_system import (
    BucketAssigner,
    DefaultRollingPolicy,
    FileSink,
    OnCheckpointRollingPolicy,
    OutputFileConfig,
    RollingPolicy,
)

__all__ = [
    "BucketAssigner",
    "DefaultRollingPolicy",
    "FileSink",
    "OnCheckpointRollingPolicy",
    "OutputFileConfig",
    "RollingPolicy",
]
