#!/usr/bin/env bash
# Create or reuse .venv at the repo root and install strom into it (editable).
# Usage: source scripts/_venv.sh [extra]   e.g. extra=test installs the test tools too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRA="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "strom needs Python >= 3.11, found " + sys.version.split()[0])'
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.strom-${EXTRA:-base}"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  SPEC="$ROOT"
  [ -n "$EXTRA" ] && SPEC="$ROOT[$EXTRA]"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$SPEC"
  echo "$WANT" > "$STAMP"
fi
