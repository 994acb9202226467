"""The package layering holds: the import-linter contracts in pyproject.toml are kept.

The rule (docs/architecture.md, "Layers"): ``api -> {graph, runtime}``, ``runtime -> graph``,
``runtime -> {checkpoint, window, state, time}``, ``checkpoint -> {state, time}``,
``window -> {state, time}``, ``state -> time``; no core package imports connectors, cluster,
web, cli, the PyFlink façades, compat, testing or ``ray``. A second test proves the check can
fail, so a broken setup (wrong config, a CLI that does nothing) cannot pass silently.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the 'test' extra")

REPO = Path(__file__).resolve().parents[1]

# `python -m importlinter.cli` runs nothing (the module has no __main__ block), so call the
# console script's function; this works whatever the venv's script directory is called.
_CLI = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` with the repo as cwd (so ``strom`` is the package analysed)."""
    return subprocess.run([sys.executable, "-c", _CLI, "--no-cache", "--no-logo", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_layering_contracts_are_kept() -> None:
    result = lint_imports()
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"import-linter contracts broken:\n{output}"
    assert "0 broken" in output, output


def test_the_check_reports_a_violation(tmp_path: Path) -> None:
    # The runtime does use state (keyed backends), so this contract must be reported broken.
    config = tmp_path / "layering.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "strom"\n\n'
        '[[tool.importlinter.contracts]]\n'
        'name = "runtime must not import state (deliberately false)"\n'
        'type = "forbidden"\nsource_modules = ["strom.runtime"]\n'
        'forbidden_modules = ["strom.state"]\n')
    result = lint_imports(str(config))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "BROKEN" in output and "strom.runtime" in output and "strom.state" in output, output
