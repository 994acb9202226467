"""The article's ``pyflink.common.state`` (PyFlink keeps these in ``pyflink.datastream.state``):
re-exports only."""
from strom.datastream.state import *  # noqa: F403
from strom.datastream.state import __all__  # noqa: F401
