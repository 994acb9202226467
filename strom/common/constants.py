"""PyFlink's ``pyflink.common.constants``: Java's long bounds and the main output's tag id."""
from strom.window.windows import MAX_LONG, MIN_LONG

MAX_LONG_VALUE = MAX_LONG
"""The largest Java long, 2^63 - 1."""

MIN_LONG_VALUE = MIN_LONG
"""The smallest Java long, -2^63."""

DEFAULT_OUTPUT_TAG = ""
"""The tag id of the main output."""

__all__ = ["DEFAULT_OUTPUT_TAG", "MAX_LONG_VALUE", "MIN_LONG_VALUE"]
