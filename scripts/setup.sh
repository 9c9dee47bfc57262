#!/usr/bin/env bash
# Create .venv and install ccconsole (with test extras when asked). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "ccconsole needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))." >&2
  exit 1
fi
stamp=".venv/.installed-${extras:-base}"
wanted="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
  echo "Setting up .venv (first run only: about half a minute)…" >&2
  "$PY" -m venv .venv
elif [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ] && .venv/bin/python -c "import ccconsole" 2>/dev/null; then
  exit 0  # installed from this very pyproject.toml: start at once
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
target="."
[ -n "$extras" ] && target=".[$extras]"
echo "Installing ccconsole${extras:+ with its $extras tools} into .venv…" >&2
# the build backend's warning banners and pip's notes on index locations are not the user's business
PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target" 2>&1 \
  | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -c "import ccconsole, textual, sqlmodel" || { echo "install failed" >&2; exit 1; }
echo "$wanted" > "$stamp"
