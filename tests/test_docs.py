"""The documentation site: it builds with ``mkdocs build --strict``, and its examples run.

Every fenced ``python`` block of a page under ``docs/`` (and of README.md) is code a reader
pastes: a page's blocks run in order as one script under ``strom run`` (pyflink imports served
by strom), in a fresh process and an empty working directory, and must exit 0. A block preceded
by an HTML comment marker is treated differently:

* ``<!-- fragment -->``: part of a program (a method to put into a class, a sketch with
  placeholders); it is only compiled;
* ``<!-- kafka -->``: needs the Kafka broker; tests/kafka/test_kafka_docs.py runs those pages
  with the test broker's address in place of ``localhost:9092``.

Blocks must start at the beginning of a line (not indented inside a list).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.article import ROOT, run_script

DOCS = ROOT / "docs"
MARKERS = ("fragment", "kafka")
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.S | re.M)
_MARKER = re.compile(r"<!--\s*(\w+)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced python block: where it is, its code and its marker (None: runs)."""
    page: Path
    line: int
    code: str
    marker: str | None


def pages() -> list[Path]:
    """Every Markdown page with python blocks: the site's pages and README.md."""
    found = sorted(DOCS.rglob("*.md")) + [ROOT / "README.md"]
    return [p for p in found if blocks(p)]


def blocks(page: Path) -> list[Block]:
    """The python blocks of ``page`` in order, each with the marker on the line before it."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        name = marker.group(1) if marker else None
        if name is not None and name not in MARKERS:
            raise ValueError(f"{page}: unknown example marker <!-- {name} --> (known: {MARKERS})")
        out.append(Block(page, text.count("\n", 0, m.start()) + 2, m.group(1), name))
    return out


def script(page: Path, include: tuple[str | None, ...] = (None,)) -> str:
    """The page's blocks with a marker in ``include``, in order, as one script. Each block is
    preceded by a comment naming its line, so a traceback points at the page."""
    parts = [f"# {b.page.relative_to(ROOT)}:{b.line}\n{b.code}"
             for b in blocks(page) if b.marker in include]
    return "\n".join(parts)


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = [p for p in pages() if any(b.marker is None for b in blocks(p))]


@pytest.mark.parametrize("page", RUNNABLE, ids=_id)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as a reader runs them: parallel examples go to TaskManager processes (conftest pins
    # the suite's own jobs to the inline executor through this variable)
    monkeypatch.delenv("STROM_EXECUTION_TARGET", raising=False)
    result = run_script(script(page), tmp_path, timeout=180)
    assert result.returncode == 0, f"{_id(page)}:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"


@pytest.mark.parametrize("page", pages(), ids=_id)
def test_every_example_compiles(page: Path) -> None:
    """Fragments and Kafka examples too (the default run starts no broker)."""
    for b in blocks(page):
        compile(b.code, f"{_id(page)}:{b.line}", "exec")


def test_the_docs_have_examples_and_few_fragments() -> None:
    every = [b for p in pages() for b in blocks(p)]
    fragments = [b for b in every if b.marker == "fragment"]
    assert len(every) >= 20, "the example collector found almost nothing: is the fence pattern right?"
    assert len(fragments) <= len(every) // 5, [f"{_id(b.page)}:{b.line}" for b in fragments]


def test_marker_and_fence_parsing(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("text\n\n```python\na = 1\n```\n\n<!-- fragment -->\n```python title=\"x\"\n"
                    "    def f(self): ...\n```\n\n```bash\nls\n```\n", encoding="utf-8")
    assert [(b.line, b.code, b.marker) for b in blocks(page)] == [
        (4, "a = 1\n", None), (9, "    def f(self): ...\n", "fragment")]
    page.write_text("<!-- runs -->\n```python\npass\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown example marker"):
        blocks(page)


def test_cli_reference_names_every_command() -> None:
    """docs/operations/cli.md lists every command of ``strom`` and no command it lacks."""
    from typer.main import get_command

    from strom.cli import app

    group = get_command(app)
    names = set()
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        names |= {f"{name} {s}" for s in sub} if sub else {name}
    page = (DOCS / "operations" / "cli.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## `strom ([a-z ]+?)`", page, re.M))
    assert documented == names


def test_site_builds_strictly(tmp_path: Path) -> None:
    """A broken link, a missing page in the nav or an unresolved API reference fails this."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert result.returncode == 0, result.stderr[-6000:]
    reference = (tmp_path / "site" / "api" / "datastream" / "index.html").read_text(encoding="utf-8")
    assert 'id="strom.datastream.StreamExecutionEnvironment.from_source"' in reference
    # Sphinx roles in docstrings render as code (scripts/griffe_rst_roles.py), not as markup
    for page in (tmp_path / "site" / "api").rglob("index.html"):
        assert not re.search(r":(class|meth|func|mod|data|attr):<code>", page.read_text("utf-8")), page
