"""An import hook that serves ``pyflink`` and ``pyflink.*`` from ``strom`` and ``strom.*``.

The module object is shared: ``pyflink.datastream is strom.datastream``, so isinstance checks
and state across both names agree. A PyFlink module strom does not provide fails with a
``ModuleNotFoundError`` naming the strom module that was looked for.

Two placements: :func:`install_pyflink_alias` (``strom run``) puts the hook first, after checking
that no real PyFlink is on ``sys.path``; :func:`install_pyflink_fallback` (the ``.pth`` file of
``strom alias install``, strom.compat.site_alias) puts it last, behind the path finder, so a real
PyFlink, wherever it is installed, is always found first. This module imports only the standard
library: the ``.pth`` file loads it without importing the ``strom`` package (strom is imported
when ``pyflink`` first is).

Example:
    >>> install_pyflink_alias()  # doctest: +SKIP
    >>> from pyflink.datastream import StreamExecutionEnvironment  # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

_PREFIX = "pyflink"


class PyflinkAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``pyflink.*`` names and loads the matching ``strom.*`` module."""

    strom_pyflink_alias = True  # marks the hook, whichever copy of this module made it

    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        target_name = "strom" + fullname[len(_PREFIX):]
        try:
            found = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise ModuleNotFoundError(
                f"No module named '{fullname}': strom serves pyflink imports from '{target_name}', "
                f"which does not exist. strom covers PyFlink's DataStream API; see the README for "
                f"what is provided.", name=fullname)
        return importlib.util.spec_from_loader(
            fullname, self, is_package=found.submodule_search_locations is not None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module("strom" + spec.name[len(_PREFIX):])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the strom module is already executed."""


def _installed_finder() -> importlib.abc.MetaPathFinder | None:
    """The hook already on ``sys.meta_path`` (the ``.pth`` file's copy of this module made it)."""
    return next((f for f in sys.meta_path if getattr(f, "strom_pyflink_alias", False)), None)


_finder = _installed_finder() or PyflinkAliasFinder()


def pyflink_installed() -> bool:
    """True when the real PyFlink is importable from ``sys.path`` (then no alias is installed)."""
    return importlib.machinery.PathFinder.find_spec(_PREFIX) is not None


def install_pyflink_alias() -> bool:
    """Serve ``pyflink`` from strom unless real PyFlink is installed; returns True if installed."""
    if _finder in sys.meta_path:
        return True
    if pyflink_installed():
        return False
    sys.meta_path.insert(0, _finder)
    return True


def install_pyflink_fallback() -> None:
    """Serve ``pyflink`` from strom only when nothing else finds it: the hook goes last on
    ``sys.meta_path``, so a real PyFlink is used whenever it is importable."""
    if _finder not in sys.meta_path:
        sys.meta_path.append(_finder)


def uninstall_pyflink_alias() -> None:
    """Remove the hook and forget the aliased modules."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == _PREFIX or n.startswith(_PREFIX + ".")]:
        del sys.modules[name]
