"""PyFlink's ``ConfigOptions`` builder and ``ConfigOption``: a typed configuration key with an
optional default, read and written through ``Configuration.get`` / ``Configuration.set``.

Example::

    >>> parallelism = ConfigOptions.key("parallelism.default").int_type().default_value(1)
    >>> conf = Configuration().set(parallelism, 4)
    >>> conf.get(parallelism), conf.get_string("parallelism.default", "")
    (4, '4')
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from strom.api.configuration import Configuration
from strom.errors import InvalidTypeError, describe

T = TypeVar("T")


class ConfigOption(Generic[T]):
    """A configuration key with its value type and default (immutable once built).

    Build one with :meth:`ConfigOptions.key`. ``ConfigOption(...)`` directly is for the
    builder; PyFlink's constructor wraps a Java option instead.
    """

    def __init__(self, key: str | None = None, kind: str = "string", default: T | None = None,
                 has_default: bool = False) -> None:
        if not isinstance(key, str) or kind not in _GETTERS:
            msg = (f"ConfigOption({describe(key)}, {kind!r}): hint: build options with "
                   f"ConfigOptions.key('my.key').string_type().default_value('x')")
            raise InvalidTypeError(msg)
        self._key = key
        self._kind = kind
        self._default = default
        self._has_default = has_default

    def key(self) -> str:
        """The configuration key."""
        return self._key

    def default_value(self) -> T | None:
        """The default, or ``None`` if the option has none."""
        return self._default

    def has_default_value(self) -> bool:
        """Whether the option was built with ``default_value``."""
        return self._has_default

    def read(self, conf: Configuration) -> T | None:
        """The option's value in ``conf`` (typed), or its default."""
        getter = getattr(conf, _GETTERS[self._kind])
        return getter(self._key, self._default)

    def write(self, conf: Configuration, value: T) -> None:
        """Set the option in ``conf``; the value must be of the option's type."""
        check = _CHECKS[self._kind]
        if not check(value):
            msg = (f"ConfigOption {self._key!r} holds {self._kind} values but got "
                   f"{describe(value)} of type {type(value).__name__}")
            raise InvalidTypeError(msg)
        getattr(conf, "set_" + _GETTERS[self._kind].removeprefix("get_"))(self._key, value)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ConfigOption) and other._key == self._key
                and other._kind == self._kind and other._default == self._default)

    def __hash__(self) -> int:
        return hash((self._key, self._kind))

    def __repr__(self) -> str:
        default = f", default {self._default!r}" if self._has_default else ""
        return f"ConfigOption({self._key!r}, {self._kind}{default})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_GETTERS = {"boolean": "get_boolean", "int": "get_integer", "long": "get_integer",
            "float": "get_float", "double": "get_float", "string": "get_string"}
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "boolean": lambda v: isinstance(v, bool), "int": _is_int, "long": _is_int,
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str)}


class ConfigOptions:
    """Builds :class:`ConfigOption` s: ``ConfigOptions.key("tmp.dir").string_type()
    .default_value("/tmp")``, ``...int_type().no_default_value()``."""

    @staticmethod
    def key(key: str) -> ConfigOptions.OptionBuilder:
        """Start building an option for ``key``."""
        if not isinstance(key, str) or not key:
            raise InvalidTypeError(f"ConfigOptions.key: expected a non-empty str but got "
                                   f"{describe(key)}")
        return ConfigOptions.OptionBuilder(key)

    class OptionBuilder:
        """Chooses the option's value type."""

        def __init__(self, key: str) -> None:
            self._key = key

        def boolean_type(self) -> ConfigOptions.TypedConfigOptionBuilder[bool]:
            """Values are ``bool``."""
            return ConfigOptions.TypedConfigOptionBuilder(self._key, "boolean")

        def int_type(self) -> ConfigOptions.TypedConfigOptionBuilder[int]:
            """Values are ``int`` (Java's 32-bit int)."""
            return ConfigOptions.TypedConfigOptionBuilder(self._key, "int")

        def long_type(self) -> ConfigOptions.TypedConfigOptionBuilder[int]:
            """Values are ``int`` (Java's 64-bit long)."""
            return ConfigOptions.TypedConfigOptionBuilder(self._key, "long")

        def float_type(self) -> ConfigOptions.TypedConfigOptionBuilder[float]:
            """Values are ``float``."""
            return ConfigOptions.TypedConfigOptionBuilder(self._key, "float")

        def double_type(self) -> ConfigOptions.TypedConfigOptionBuilder[float]:
            """Values are ``float``."""
            return ConfigOptions.TypedConfigOptionBuilder(self._key, "double")

        def string_type(self) -> ConfigOptions.TypedConfigOptionBuilder[str]:
            """Values are ``str``."""
            return ConfigOptions.TypedConfigOptionBuilder(self._key, "string")

    class TypedConfigOptionBuilder(Generic[T]):
        """Finishes the option with or without a default."""

        def __init__(self, key: str, kind: str) -> None:
            self._key = key
            self._kind = kind

        def default_value(self, value: T) -> ConfigOption[T]:
            """The option, defaulting to ``value``."""
            option: ConfigOption[T] = ConfigOption(self._key, self._kind)
            option.write(Configuration(), value)  # the default must have the option's type
            return ConfigOption(self._key, self._kind, value, True)

        def no_default_value(self) -> ConfigOption[T]:
            """The option, without a default (``Configuration.get`` gives ``None`` if unset)."""
            return ConfigOption(self._key, self._kind)
