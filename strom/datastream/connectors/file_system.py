"""PyFlink's ``pyflink.datastream.connectors.file_system``: re-exports only.

``JsonLinesFormat`` is strom's addition (a JSON-lines ``StreamFormat``; PyFlink has none).
"""
from strom.api.serialization import Encoder  # noqa: F401
from strom.connectors.file_formats import JsonLinesFormat  # noqa: F401
from strom.connectors.file_source import (  # noqa: F401
    BulkFormat,
    FileEnumeratorProvider,
    FileSource,
    FileSourceBuilder,
    FileSplitAssignerProvider,
    StreamFormat,
)
from strom.connectors.file_system import (  # noqa: F401
    BucketAssigner,
    DefaultRollingPolicy,
    FileSink,
    OnCheckpointRollingPolicy,
    OutputFileConfig,
    RollingPolicy,
)
