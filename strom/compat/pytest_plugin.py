"""A pytest plugin that serves ``import pyflink`` from strom in a project's tests.

Opt in with either:

* ``pytest -p strom.compat.pytest_plugin`` (or ``addopts = -p strom.compat.pytest_plugin``);
* the ini option ``strom_pyflink_alias = true`` (the plugin is registered through the
  ``pytest11`` entry point when strom is installed, and does nothing without the option).

The alias is installed before conftest.py files are imported, so they may ``import pyflink``
too. It is the fallback placement (strom.compat.pyflink_alias.install_pyflink_fallback): a real
PyFlink, when one is installed, is used instead.
"""
from __future__ import annotations

from typing import Any

_MODULE = "strom.compat.pytest_plugin"
_INI = "strom_pyflink_alias"


def pytest_addoption(parser: Any) -> None:
    """Declare the ini option."""
    parser.addini(_INI, type="bool", default=False,
                  help="serve `import pyflink` from strom when PyFlink is not installed")


def _wanted(config: Any) -> bool:
    explicit = _MODULE in (getattr(config.known_args_namespace, "plugins", None) or [])
    return explicit or bool(config.getini(_INI))


def _activate(config: Any) -> None:
    if _wanted(config):
        from strom.compat.pyflink_alias import install_pyflink_fallback

        install_pyflink_fallback()


def pytest_load_initial_conftests(early_config: Any, parser: Any, args: list[str]) -> None:
    """Install the alias before the first conftest.py is imported."""
    _activate(early_config)


def pytest_configure(config: Any) -> None:
    """Install the alias (again, harmlessly) when the plugin was registered late."""
    _activate(config)
