"""A job's Python dependencies, PyFlink's way: ``env.add_python_file``, ``add_python_archive``,
``set_python_requirements`` and ``set_python_executable`` (or the configuration keys
``python.files``, ``python.archives``, ``python.requirements``, ``python.executable``).

strom runs user functions in the interpreter that runs the job (``inline``, ``threads``) or in
TaskManager processes started from it on the same machine (``local``, a session cluster).

* A python file puts a folder on the import path: a ``.py`` file's folder, a directory itself,
  a ``.zip``/``.whl``/``.egg`` file itself (imported with zipimport), as PyFlink's workers do.
  The folder goes on ``sys.path`` here at once, and on every TaskManager before the job's
  functions are unpickled there: :class:`PythonDependencies` travels first in the job's
  configuration and installs itself when it is unpickled.
* An archive (zip format, as in PyFlink) is extracted into the working directory of the
  processes that run user functions, under ``target_dir`` or the archive's file name, so user
  code opens its files by relative path. It is extracted here when added, and on a TaskManager
  whose working directory lacks it.
* Requirements are checked, not installed: every requirement that applies to this interpreter
  must be installed in a matching version, or adding the file fails naming what is missing.
* The executable must be the interpreter running the job.

Example::

    >>> deps = PythonDependencies()
    >>> deps.add_file("helpers/udfs.py")  # doctest: +SKIP
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import zipfile
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from strom.errors import JobDefinitionError, UnsupportedError

FILE_DELIMITER = ","
PARAM_DELIMITER = "#"


class PythonDependencies:
    """The import-path entries and archives of one environment (picklable; see the module
    docstring for what unpickling does)."""

    def __init__(self, paths: tuple[str, ...] = (), archives: tuple[tuple[str, str], ...] = ()
                 ) -> None:
        self.paths: list[str] = list(paths)
        self.archives: list[tuple[str, str]] = list(archives)  # (archive path, target dir)

    def add_file(self, file_path: str) -> str:
        """Put ``file_path``'s import folder on the path (here and for the job); returns it."""
        path = os.path.abspath(os.path.expanduser(file_path))
        if not os.path.exists(path):
            raise JobDefinitionError(f"add_python_file({file_path!r}): no such file or directory; "
                                     "hint: give a .py file, a package's parent directory or a "
                                     ".zip/.whl/.egg")
        entry = os.path.dirname(path) if os.path.isfile(path) and path.endswith(".py") else path
        if entry not in self.paths:
            self.paths.append(entry)
        _on_path(entry)
        return entry

    def add_archive(self, archive_path: str, target_dir: str | None = None) -> str:
        """Extract ``archive_path`` into the working directory (under ``target_dir`` or the
        archive's name) and have TaskManagers do the same; returns the extracted folder."""
        path = os.path.abspath(os.path.expanduser(archive_path))
        if not zipfile.is_zipfile(path):
            what = "no such file" if not os.path.exists(path) else "not a zip archive"
            raise JobDefinitionError(
                f"add_python_archive({archive_path!r}): {what}; hint: only zip-format archives "
                "(.zip, .jar, .whl, .egg) are supported, as in PyFlink")
        target = target_dir or os.path.basename(path)
        if os.path.isabs(target) or ".." in target.split(os.sep):
            raise JobDefinitionError(f"add_python_archive({archive_path!r}, {target_dir!r}): the "
                                     "target must be a folder name relative to the working "
                                     "directory")
        if (path, target) not in self.archives:
            self.archives.append((path, target))
        return _extract(path, target, force=True)

    def __reduce__(self) -> tuple[Any, tuple]:
        return _install, (tuple(self.paths), tuple(self.archives))

    def __repr__(self) -> str:
        return f"PythonDependencies(paths={self.paths!r}, archives={self.archives!r})"


def _install(paths: tuple[str, ...], archives: tuple[tuple[str, str], ...]) -> PythonDependencies:
    """Unpickling a :class:`PythonDependencies` (in a TaskManager): make the entries importable
    and the archives present, then return it."""
    for entry in paths:
        if not os.path.exists(entry):
            raise JobDefinitionError(f"python file {entry!r} (add_python_file) does not exist on "
                                     "the machine running the TaskManager; hint: make it "
                                     "available there under the same path")
        _on_path(entry)
    for archive, target in archives:
        _extract(archive, target, force=False)
    return PythonDependencies(paths, archives)


def _on_path(entry: str) -> None:
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _extract(archive: str, target: str, force: bool) -> str:
    folder = os.path.join(os.getcwd(), target)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise JobDefinitionError(f"python archive {archive!r}: cannot extract it into {folder!r}, "
                                 "which is a file; hint: give add_python_archive a target_dir")
    if force or not os.path.isdir(folder):
        if not os.path.exists(archive):
            raise JobDefinitionError(f"python archive {archive!r} (add_python_archive) does not "
                                     "exist on the machine running the TaskManager")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(folder)
    return folder


def check_requirements(requirements_file_path: str) -> None:
    """Fail unless every requirement in the file that applies here is installed in a matching
    version (strom installs nothing: user functions run in this interpreter)."""
    where = f"set_python_requirements({requirements_file_path!r})"
    try:
        with open(requirements_file_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise JobDefinitionError(f"{where}: cannot read the file ({exc})") from exc
    problems = []
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise UnsupportedError(f"{where}: line {number} {line!r}: pip options are not "
                                   "supported; hint: list plain requirements such as "
                                   "'numpy>=1.20'")
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise JobDefinitionError(f"{where}: line {number} {line!r} is not a requirement "
                                     f"({exc})") from exc
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{req} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req} (installed: {version})")
    if problems:
        raise JobDefinitionError(
            f"{where}: strom runs user functions in this interpreter ({sys.executable}) and "
            f"installs nothing; missing: {', '.join(problems)}; hint: "
            f"{sys.executable} -m pip install -r {requirements_file_path}")


def check_executable(python_exec: str) -> None:
    """Accept ``python_exec`` only if it is the interpreter running the job."""
    found = shutil.which(python_exec) or python_exec
    if os.path.exists(found) and os.path.samefile(found, sys.executable):
        return
    raise UnsupportedError(
        f"set_python_executable({python_exec!r}): strom runs user functions in the interpreter "
        f"that runs the job ({sys.executable}) and in TaskManagers started from it; hint: run "
        f"the job script with {python_exec} instead")
