"""``import pyflink`` served by strom: under ``strom run``, through the ``.pth`` file of
``strom alias install`` (in a temporary site dir, never this venv's site-packages) and through the
pytest plugin; a real PyFlink always wins."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from strom.compat import site_alias

REPO = Path(__file__).resolve().parent.parent

JOB = """\
from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment

env = StreamExecutionEnvironment.get_execution_environment()
ds = env.from_collection([("a", 1), ("b", 2), ("a", 3)],
                         type_info=Types.TUPLE([Types.STRING(), Types.INT()]))
with ds.key_by(lambda e: e[0]).reduce(lambda x, y: (x[0], x[1] + y[1])).execute_and_collect() as it:
    print(sorted(it))
"""
JOB_OUTPUT = "[('a', 1), ('a', 4), ('b', 2)]"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *extra.pop("path", "").split(os.pathsep)])
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    env.update(extra)
    return env


def _python(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(**env), capture_output=True,
                          text=True, timeout=120)


def _with_site(site: Path, code: str) -> str:
    """Python that processes ``site`` as a site dir (its .pth files) and then runs ``code``."""
    return f"import site; site.addsitedir({str(site)!r})\n{code}"


def test_strom_run_serves_pyflink(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(JOB)
    done = _python(["-m", "strom", "run", "job.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == JOB_OUTPUT


def test_alias_install_writes_a_pth_that_serves_pyflink(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = _python(["-m", "strom", "alias", "install", "--site-dir", str(site)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (site / site_alias.PTH_NAME).read_text() == site_alias.PTH_LINE
    (tmp_path / "job.py").write_text(JOB)
    check = ("import sys, pyflink.datastream, strom.datastream\n"
             "assert pyflink.datastream is strom.datastream\n"
             "import runpy; runpy.run_path('job.py', run_name='__main__')\n")
    ran = _python(["-c", _with_site(site, check)], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == JOB_OUTPUT
    assert ran.stderr == ""

    done = _python(["-m", "strom", "alias", "uninstall", "--site-dir", str(site)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (site / site_alias.PTH_NAME).exists()
    gone = _python(["-c", _with_site(site, "import pyflink")], tmp_path)
    assert gone.returncode != 0 and "No module named 'pyflink'" in gone.stderr
    again = _python(["-m", "strom", "alias", "uninstall", "--site-dir", str(site)], tmp_path)
    assert again.returncode == 1 and "nothing to remove" in again.stderr


def test_the_pth_does_not_import_strom_at_startup(tmp_path: Path) -> None:
    site_alias.install(tmp_path / "site")
    check = "import sys; print('strom' in sys.modules)"
    ran = _python(["-c", _with_site(tmp_path / "site", check)], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "False"


def test_a_real_pyflink_is_never_shadowed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "pyflink").mkdir(parents=True)
    (real / "pyflink" / "__init__.py").write_text("REAL = True\n")
    site_alias.install(tmp_path / "site")
    check = "import pyflink; print(getattr(pyflink, 'REAL', False))"
    ran = _python(["-c", _with_site(tmp_path / "site", check)], tmp_path, path=str(real))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True"
    # the same PyFlink on a site dir processed after the .pth file's (a later site-packages)
    late = _with_site(tmp_path / "site", f"site.addsitedir({str(real)!r})\n{check}")
    ran = _python(["-c", late], tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True"


PROJECT_TEST = """\
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.functions import MapFunction


class Double(MapFunction):
    def map(self, value):
        return value * 2


def test_job():
    env = StreamExecutionEnvironment.get_execution_environment()
    with env.from_collection([1, 2, 3]).map(Double()).execute_and_collect() as it:
        assert sorted(it) == [2, 4, 6]
"""


def _project(tmp_path: Path, ini: str) -> Path:
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}")
    (tmp_path / "conftest.py").write_text("import pyflink.common  # before any test module\n")
    (tmp_path / "test_job.py").write_text(PROJECT_TEST)
    return tmp_path


def test_pytest_plugin_by_p_option(tmp_path: Path) -> None:
    project = _project(tmp_path, "")
    done = _python(["-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "-p", "strom.compat.pytest_plugin"], project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.mark.parametrize(("ini", "passes"), [("strom_pyflink_alias = true\n", True),
                                             ("", False)])
def test_pytest_plugin_by_ini_option(tmp_path: Path, ini: str, passes: bool) -> None:
    """Registered as installed plugins are (PYTEST_PLUGINS stands in for the entry point), the
    plugin serves pyflink only when the ini option asks."""
    project = _project(tmp_path, ini)
    done = _python(["-m", "pytest", "-q", "-p", "no:cacheprovider"], project,
                   PYTEST_PLUGINS="strom.compat.pytest_plugin")
    assert (done.returncode == 0) is passes, done.stdout + done.stderr
    if not passes:
        assert "No module named 'pyflink'" in done.stdout + done.stderr


def test_pyproject_registers_the_plugin() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {
        "strom.compat.pytest_plugin": "strom.compat.pytest_plugin"}
