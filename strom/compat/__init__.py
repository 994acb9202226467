"""Compatibility with PyFlink programs: ``pyflink`` imports served by strom, and the older API.

:func:`install_pyflink_alias` makes ``import pyflink.x.y`` load ``strom.x.y`` (only when the real
PyFlink is not installed). :data:`ARTICLE_GLOBALS` are PyFlink names that the article's programs
use without importing them; ``strom run`` pre-defines them in the script's namespace.
"""
from strom.compat.pyflink_alias import (
           install_pyflink_alias,
           install_pyflink_fallback,
           pyflink_installed,
           uninstall_pyflink_alias,
)
from strom.compat.script_globals import ARTICLE_GLOBALS, article_globals

__all__ = ["ARTICLE_GLOBALS", "article_globals", "install_pyflink_alias",
           "install_pyflink_fallback", "pyflink_installed",
           "uninstall_pyflink_alias"]
