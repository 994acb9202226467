"""PyFlink's ``pyflink.datastream.connectors.base``: re-exports only."""
from strom.api.sinks import Sink, StreamTransformer, SupportsPreprocessing  # noqa: F401
from strom.api.sources import Source  # noqa: F401
from strom.connectors.base import DeliveryGuarantee  # noqa: F401
