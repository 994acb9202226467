"""PyFlink's ``pyflink.datastream.output_tag``: re-exports only."""
from strom.runtime.elements import OutputTag  # noqa: F401
