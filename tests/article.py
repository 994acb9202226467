"""Access to the article's code blocks (``../shared/seed``), which the project must run unchanged.

The article is not copied into the project: tests read it from the shared folder beside the
repository and are skipped when it is absent.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = Path(os.environ.get("STROM_ARTICLE", ROOT.parent / "shared" / "seed" / "apache-flink-part1-basics.md"))


def blocks() -> list[str]:
    if not ARTICLE.exists():
        pytest.skip(f"the article is not at {ARTICLE}")
    return re.findall(r"```python\n(.*?)```", ARTICLE.read_text(encoding="utf-8"), re.S)


def run_script(source: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``source`` as a job script with ``strom run`` (pyflink imports served by strom)."""
    script = tmp_path / "job.py"
    script.write_text(source, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "strom", "run", str(script)], capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path, env=env)
