"""What flows between operators and tasks besides plain record values.

Records travel as ``(value, timestamp)`` argument pairs inside a chain and as
``(values, timestamps)`` list pairs between tasks, so the hot path allocates no wrapper
per record. Everything else that travels in a channel is one of the objects here, or a
watermark element from :mod:`strom.time.watermarks` (``Watermark``, ``WatermarkStatus``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from strom.errors import JobDefinitionError, UnsupportedError
from strom.state.typed import Declared


@dataclass(frozen=True, slots=True)
class EndOfPartition:
    """The producing subtask will send nothing more on this channel."""


END_OF_PARTITION = EndOfPartition()


class OutputTag:
    """Names a side output and the type of its records.

    Example:
        >>> late = OutputTag("late", Types.STRING())  # doctest: +SKIP
        >>> def process_element(self, value, ctx):  # doctest: +SKIP
        ...     yield late, value
    """

    __slots__ = ("tag_id", "type_info")

    def __init_subclass__(cls, **kwargs: object) -> None:
        # Emitted records are recognised as side outputs by ``type(x[0]) is OutputTag``.
        raise TypeError("OutputTag cannot be subclassed; create OutputTag(id, type_info) instead")

    def __init__(self, tag_id: str, type_info: object = None) -> None:
        if not isinstance(tag_id, str) or not tag_id:
            raise JobDefinitionError(
                f"OutputTag: expected a non-empty string id, got {tag_id!r}. Hint: OutputTag('late-data').")
        self.tag_id = tag_id
        self.type_info = type_info

    def get_id(self) -> str:
        """PyFlink-compatible accessor."""
        return self.tag_id

    def get_java_output_tag(self) -> Any:
        """Java's ``OutputTag``: strom has none (raises ``UnsupportedFeatureError``)."""
        raise UnsupportedError(f"OutputTag({self.tag_id!r}).get_java_output_tag(): strom runs "
                               "without a JVM; hint: pass the OutputTag itself to "
                               "get_side_output")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OutputTag) and other.tag_id == self.tag_id

    def __hash__(self) -> int:
        return hash(("OutputTag", self.tag_id))

    def __repr__(self) -> str:
        return f"OutputTag({self.tag_id!r})"


def side_value(tag: OutputTag, value: Any, operator: str) -> Any:
    """``value``, checked against the type ``tag`` declares (as PyFlink fails to serialize a side
    output record of another type): InvalidTypeError naming the operator and the tag."""
    type_info = tag.type_info
    if type_info is None or not hasattr(type_info, "fast_check"):
        return value
    check = _side_check(type_info, tag.tag_id, operator)
    return value if check is None else check(value)


@functools.lru_cache(maxsize=1024)
def _side_check(type_info: Any, tag_id: str, operator: str) -> Declared | None:
    return Declared.of(type_info, f"operator '{operator}': side output '{tag_id}'",
                       "emit values of the OutputTag's declared type, or declare it "
                       "Types.PICKLED_BYTE_ARRAY() for any value")
