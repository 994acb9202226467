"""PyFlink's ``Types``: the constructors of type information (``Types.INT()``, ``Types.ROW([...])``).

Re-exported by :mod:`strom.api.typeinfo` (PyFlink's module keeps both together); the
type-information classes themselves are there.

Example:
    >>> Types.TUPLE([Types.STRING(), Types.LONG()])
    Types.TUPLE([Types.STRING(), Types.LONG()])
"""
from __future__ import annotations

from collections.abc import Sequence

from strom.api.typeinfo import (  # noqa: I001
    BasicArrayTypeInfo,
    BasicTypeInfo,
    ListTypeInfo,
    MapTypeInfo,
    ObjectArrayTypeInfo,
    PickledBytesTypeInfo,
    PrimitiveArrayTypeInfo,
    RowTypeInfo,
    TupleTypeInfo,
    TypeInformation,
)


class Types:
    """Constructors for type information, with PyFlink's names.

    Example::

        >>> Types.ROW_NAMED(["word", "count"], [Types.STRING(), Types.LONG()])
        Types.ROW_NAMED(['word', 'count'], [Types.STRING(), Types.LONG()])
    """

    @staticmethod
    def STRING() -> TypeInformation:
        """``str``; supports ``None``."""
        return BasicTypeInfo("STRING")

    @staticmethod
    def BYTE() -> TypeInformation:
        """``int`` in [-128, 127]; does not support ``None``."""
        return BasicTypeInfo("BYTE")

    @staticmethod
    def BOOLEAN() -> TypeInformation:
        """``bool``; does not support ``None``."""
        return BasicTypeInfo("BOOLEAN")

    @staticmethod
    def SHORT() -> TypeInformation:
        """``int`` in the 16-bit range; does not support ``None``."""
        return BasicTypeInfo("SHORT")

    @staticmethod
    def INT() -> TypeInformation:
        """``int`` in the 32-bit range; does not support ``None``."""
        return BasicTypeInfo("INT")

    @staticmethod
    def LONG() -> TypeInformation:
        """``int`` in the 64-bit range; does not support ``None``."""
        return BasicTypeInfo("LONG")

    @staticmethod
    def FLOAT() -> TypeInformation:
        """``float`` (32-bit range) or ``int``; does not support ``None``."""
        return BasicTypeInfo("FLOAT")

    @staticmethod
    def DOUBLE() -> TypeInformation:
        """``float`` or ``int``; does not support ``None``."""
        return BasicTypeInfo("DOUBLE")

    @staticmethod
    def CHAR() -> TypeInformation:
        """A one-character ``str``; does not support ``None``."""
        return BasicTypeInfo("CHAR")

    @staticmethod
    def BIG_INT() -> TypeInformation:
        """Any ``int`` (Java ``BigInteger``); supports ``None``."""
        return BasicTypeInfo("BIG_INT")

    @staticmethod
    def BIG_DEC() -> TypeInformation:
        """``decimal.Decimal`` or ``int`` (Java ``BigDecimal``); supports ``None``."""
        return BasicTypeInfo("BIG_DEC")

    @staticmethod
    def INSTANT() -> TypeInformation:
        """:class:`~strom.time.durations.Instant`; supports ``None``."""
        return BasicTypeInfo("INSTANT")

    @staticmethod
    def SQL_DATE() -> TypeInformation:
        """``datetime.date`` (Java ``java.sql.Date``); supports ``None``."""
        return BasicTypeInfo("SQL_DATE")

    @staticmethod
    def SQL_TIME() -> TypeInformation:
        """``datetime.time`` (Java ``java.sql.Time``); supports ``None``."""
        return BasicTypeInfo("SQL_TIME")

    @staticmethod
    def SQL_TIMESTAMP() -> TypeInformation:
        """``datetime.datetime`` (Java ``java.sql.Timestamp``); supports ``None``."""
        return BasicTypeInfo("SQL_TIMESTAMP")

    @staticmethod
    def LOCAL_DATE() -> TypeInformation:
        """``datetime.date`` (Java ``LocalDate``); supports ``None``."""
        return BasicTypeInfo("LOCAL_DATE")

    @staticmethod
    def LOCAL_TIME() -> TypeInformation:
        """``datetime.time`` (Java ``LocalTime``); supports ``None``."""
        return BasicTypeInfo("LOCAL_TIME")

    @staticmethod
    def LOCAL_DATE_TIME() -> TypeInformation:
        """``datetime.datetime`` (Java ``LocalDateTime``); supports ``None``."""
        return BasicTypeInfo("LOCAL_DATE_TIME")

    @staticmethod
    def PICKLED_BYTE_ARRAY() -> TypeInformation:
        """Any picklable value; the default output type when none is declared."""
        return PickledBytesTypeInfo()

    @staticmethod
    def ROW(field_types: Sequence[TypeInformation]) -> RowTypeInfo:
        """A row with fields of the given types; the row itself must not be ``None``."""
        return RowTypeInfo(field_types)

    @staticmethod
    def ROW_NAMED(field_names: Sequence[str],
                  field_types: Sequence[TypeInformation]) -> RowTypeInfo:
        """A row with named fields of the given types; must not be ``None``."""
        return RowTypeInfo(field_types, field_names)

    @staticmethod
    def TUPLE(field_types: Sequence[TypeInformation]) -> TupleTypeInfo:
        """A tuple with fields of the given types; must not be ``None``."""
        return TupleTypeInfo(field_types)

    @staticmethod
    def PRIMITIVE_ARRAY(element_type: TypeInformation) -> TypeInformation:
        """An array of a primitive type (e.g. ``Types.INT()``); must not be ``None``."""
        return PrimitiveArrayTypeInfo(element_type)

    @staticmethod
    def BASIC_ARRAY(element_type: TypeInformation) -> TypeInformation:
        """An array of a boxed basic type; ``None`` elements are allowed."""
        return BasicArrayTypeInfo(element_type)

    @staticmethod
    def OBJECT_ARRAY(element_type: TypeInformation) -> TypeInformation:
        """An array of any type; ``None`` elements are allowed, the array must not be ``None``."""
        return ObjectArrayTypeInfo(element_type)

    @staticmethod
    def MAP(key_type_info: TypeInformation, value_type_info: TypeInformation) -> TypeInformation:
        """A ``dict`` with typed keys and values."""
        return MapTypeInfo(key_type_info, value_type_info)

    @staticmethod
    def LIST(element_type_info: TypeInformation) -> TypeInformation:
        """A ``list`` of one element type."""
        return ListTypeInfo(element_type_info)
