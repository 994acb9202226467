"""PyFlink's ``pyflink.datastream.functions``: re-exports only."""
from strom.api.functions import *  # noqa: F403
from strom.api.functions import __all__  # noqa: F401
