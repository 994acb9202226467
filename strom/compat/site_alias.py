"""``strom alias install``: serve ``import pyflink`` from strom in every interpreter of an
environment, for ``python job.py`` and pytest as much as for ``strom run``.

The alias is a ``strom_pyflink_alias.pth`` file in the environment's site-packages. Python runs
its one ``import`` line at start-up; the line loads strom/compat/pyflink_alias.py by its path
(without importing the ``strom`` package, which would slow every start-up) and puts the hook
*last* on ``sys.meta_path`` (:func:`~strom.compat.pyflink_alias.install_pyflink_fallback`): a
real PyFlink, when one is installed, is always found first. If strom is uninstalled the line
does nothing. ``strom alias uninstall`` removes the file.

Example::

    strom alias install      # writes .../site-packages/strom_pyflink_alias.pth
    python job.py            # `from pyflink.datastream import ...` runs on strom
    strom alias uninstall
"""
from __future__ import annotations

import sysconfig
from pathlib import Path

PTH_NAME = "strom_pyflink_alias.pth"

PTH_LINE = (
    "import importlib.util as _sa_u; _sa_s = _sa_u.find_spec('strom'); "
    "_sa_p = _sa_s and _sa_s.submodule_search_locations and "
    "__import__('os').path.join(list(_sa_s.submodule_search_locations)[0], 'compat', "
    "'pyflink_alias.py'); "
    "_sa_f = _sa_p and __import__('os').path.isfile(_sa_p) and "
    "_sa_u.spec_from_file_location('_strom_pyflink_alias', _sa_p); "
    "_sa_m = _sa_f and _sa_u.module_from_spec(_sa_f); "
    "_sa_m and (_sa_f.loader.exec_module(_sa_m), _sa_m.install_pyflink_fallback())\n"
)
"""The ``.pth`` file's content: one line (``site`` executes lines that start with ``import``)."""


def site_packages() -> Path:
    """The running environment's site-packages (``purelib``), where the ``.pth`` file goes."""
    return Path(sysconfig.get_paths()["purelib"])


def install(site_dir: str | Path | None = None) -> Path:
    """Write the ``.pth`` file into ``site_dir`` (default: :func:`site_packages`); its path."""
    target = Path(site_dir) if site_dir is not None else site_packages()
    target.mkdir(parents=True, exist_ok=True)
    pth = target / PTH_NAME
    pth.write_text(PTH_LINE, encoding="utf-8")
    return pth


def uninstall(site_dir: str | Path | None = None) -> Path | None:
    """Remove the ``.pth`` file; its path, or None if there was none."""
    pth = (Path(site_dir) if site_dir is not None else site_packages()) / PTH_NAME
    if not pth.exists():
        return None
    pth.unlink()
    return pth


def installed(site_dir: str | Path | None = None) -> bool:
    """Whether the ``.pth`` file is in ``site_dir`` (default: :func:`site_packages`)."""
    return ((Path(site_dir) if site_dir is not None else site_packages()) / PTH_NAME).exists()
