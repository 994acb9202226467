"""PyFlink's ``pyflink.datastream.connectors.file_system``: re-exports only.

``JsonLinesFormat`` is strom's addition (a JSON-lines ``StreamFormat``; PyFlink has none).
"""
from strom.api.serialization import Encoder
from strom.connectors.file_compaction import FileCompactor, FileCompactStrategy
from strom.connectors.file_formats import JsonLinesFormat
from strom.connectors.file_source import (
    BulkFormat,
    FileEnumeratorProvider,
    FileSource,
    FileSourceBuilder,
    FileSplitAssignerProvider,
    StreamFormat,
)
from strom.connectors.file_system import (
    BucketAssigner,
    DefaultRollingPolicy,
    FileSink,
    OnCheckpointRollingPolicy,
    OutputFileConfig,
    RollingPolicy,
    StreamingFileSink,
)

__all__ = [
    "BucketAssigner", "BulkFormat", "DefaultRollingPolicy", "Encoder", "FileCompactStrategy",
    "FileCompactor", "FileEnumeratorProvider", "FileSink", "FileSource", "FileSourceBuilder", "FileSplitAssignerProvider", "JsonLinesFormat",
    "OnCheckpointRollingPolicy", "OutputFileConfig", "RollingPolicy", "StreamFormat", "StreamingFileSink",
]
