"""PyFlink's Python dependency calls, in strom's terms (strom.api.python_deps):
``add_python_file`` makes a module importable by user functions on every executor (TaskManager
processes included), ``add_python_archive`` extracts a zip into the working directory,
``set_python_requirements`` checks the installed packages, ``set_python_executable`` accepts
only the running interpreter."""
from __future__ import annotations

import importlib
import os
import pickle
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from strom.common import Configuration
from strom.datastream import StreamExecutionEnvironment
from strom.datastream.functions import MapFunction
from strom.errors import JobDefinitionError, UnsupportedError


class CallHelper(MapFunction):
    """Imports the module only when it runs, so the import happens where the task runs."""

    def __init__(self, module: str) -> None:
        self.module = module

    def map(self, value: Any) -> Any:
        return importlib.import_module(self.module).twice(value)


def _module(folder: Path) -> str:
    name = f"strom_dep_{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text("def twice(v):\n    return v * 2\n")
    return name


@pytest.fixture
def clean_path() -> Any:
    before = list(sys.path)
    yield
    sys.path[:] = before


def _run(env: StreamExecutionEnvironment, module: str) -> list:
    env.set_parallelism(2)
    stream = env.from_collection([1, 2, 3]).map(CallHelper(module))
    with stream.execute_and_collect() as results:
        return sorted(results)


def test_a_python_file_is_importable_by_functions_on_every_executor(
        env: StreamExecutionEnvironment, tmp_path: Path, clean_path: Any) -> None:
    name = _module(tmp_path / "deps")
    env.add_python_file(str(tmp_path / "deps" / f"{name}.py"))  # the file's folder is added
    assert _run(env, name) == [2, 4, 6]


def test_a_directory_goes_on_the_path_itself(env: StreamExecutionEnvironment, tmp_path: Path,
                                             clean_path: Any) -> None:
    name = _module(tmp_path / "libdir")
    env.add_python_file(str(tmp_path / "libdir"))
    assert _run(env, name) == [2, 4, 6]


def test_the_python_files_key_does_the_same(executor: str, tmp_path: Path,
                                            clean_path: Any) -> None:
    name = _module(tmp_path / "viaconf")
    conf = Configuration().set_string("python.files", str(tmp_path / "viaconf" / f"{name}.py"))
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.executor = executor
    assert _run(env, name) == [2, 4, 6]


def test_a_missing_python_file_fails_when_added(tmp_path: Path) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match="no such file"):
        env.add_python_file(str(tmp_path / "absent.py"))


def _archive(tmp_path: Path) -> Path:
    (tmp_path / "archives").mkdir(exist_ok=True)
    path = tmp_path / "archives" / "resources.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("data/words.txt", "alpha\nbeta\n")
    return path


class ReadRelative(MapFunction):
    def __init__(self, relative: str) -> None:
        self.relative = relative

    def map(self, value: Any) -> Any:
        with open(self.relative) as f:  # relative to the working directory, as in PyFlink
            return f.read().split()[value]


@pytest.mark.in_process("the archive is extracted into this process's working directory")
def test_an_archive_is_extracted_into_the_working_directory(
        env: StreamExecutionEnvironment, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    env.add_python_archive(str(_archive(tmp_path)), "res")
    stream = env.from_collection([0, 1]).map(ReadRelative("res/data/words.txt"))
    with stream.execute_and_collect() as results:
        assert sorted(results) == ["alpha", "beta"]
    env.add_python_archive(str(_archive(tmp_path)))  # no target: the archive's file name
    assert (tmp_path / "resources.zip" / "data" / "words.txt").is_file()


def test_a_taskmanager_extracts_a_missing_archive_into_its_own_directory(
        tmp_path: Path, monkeypatch: Any) -> None:
    """What a TaskManager does when it unpickles the job's dependencies."""
    monkeypatch.chdir(tmp_path)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_python_archive(str(_archive(tmp_path)), "res")
    elsewhere = tmp_path / "taskmanager"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    pickle.loads(pickle.dumps(env._python))
    assert (elsewhere / "res" / "data" / "words.txt").read_text() == "alpha\nbeta\n"


def test_only_zip_archives_are_accepted(tmp_path: Path) -> None:
    tarball = tmp_path / "env.tar.gz"
    tarball.write_bytes(b"\x1f\x8b not a zip")
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(JobDefinitionError, match="not a zip archive"):
        env.add_python_archive(str(tarball))


def _requirements(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_requirements_that_are_installed_pass(tmp_path: Path) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_requirements(_requirements(
        tmp_path, "# what the job needs", "pytest>=1", "cloudpickle",
        'not-a-real-package-strom==1.0; python_version < "3"'))  # a marker that does not apply


def test_missing_or_mismatched_requirements_fail_naming_them(tmp_path: Path) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    path = _requirements(tmp_path, "pytest<1", "not-a-real-package-strom==1.0", "cloudpickle")
    with pytest.raises(JobDefinitionError) as info:
        env.set_python_requirements(path, "cached_dir")
    message = str(info.value)
    assert "pytest<1 (installed: " in message
    assert "not-a-real-package-strom==1.0 (not installed)" in message
    assert "cloudpickle" not in message.split("missing:")[1].split("hint")[0]
    assert "pip install -r" in message


def test_pip_options_in_requirements_are_refused(tmp_path: Path) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    with pytest.raises(UnsupportedError, match="pip options"):
        env.set_python_requirements(_requirements(tmp_path, "--index-url https://x", "pytest"))


def test_the_executable_must_be_the_running_interpreter() -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_python_executable(sys.executable)
    with pytest.raises(UnsupportedError, match="run the job script with"):
        env.set_python_executable("py_env.zip/py_env/bin/python")
    assert os.path.exists(sys.executable)


def test_a_submitted_job_installs_its_python_files_before_its_functions(
        tmp_path: Path, clean_path: Any) -> None:
    """A session cluster unpickles the submission: the functions' module, known by name only,
    becomes importable through the configuration unpickled before them."""
    from strom.cluster.submission import JobSubmission, pack, unpack

    name = _module(tmp_path / "submitted")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.add_python_file(str(tmp_path / "submitted" / f"{name}.py"))
    function = importlib.import_module(name).twice
    payload = pack(JobSubmission("job", function, env._executor("inline").config))
    sys.path.remove(str(tmp_path / "submitted"))
    del sys.modules[name]
    assert unpack(payload).graph(21) == 42
