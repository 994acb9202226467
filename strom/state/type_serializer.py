"""PyFlink's ``TypeSerializer``: writes values of one type to a byte stream and reads them back.

strom's state, channels and checkpoints pickle values; a serializer runs where a program (or a
window assigner's ``get_window_serializer()``) calls it. The window serializers
(``TimeWindowSerializer``, ...) write PyFlink's byte layout.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from io import BytesIO
from typing import Generic, TypeVar

T = TypeVar("T")


class TypeSerializer(ABC, Generic[T]):
    """Writes values of one type to a byte stream and reads them back (PyFlink's
    ``pyflink.common.serializer.TypeSerializer``).

    Custom window assigners declare one in ``get_window_serializer()``; strom's own state and
    channels pickle values, so a serializer is called where a program calls it. Two serializers
    are equal when they are of the same class with equal attributes.
    """

    @abstractmethod
    def serialize(self, element: T, stream: BytesIO) -> None:
        """Write ``element`` to ``stream``."""

    @abstractmethod
    def deserialize(self, stream: BytesIO) -> T:
        """Read one value from ``stream``."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
