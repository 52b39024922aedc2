#!/usr/bin/env bash
# The whole test suite: install, lint (ruff), type-check (mypy), layering check, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";   .venv/bin/ruff check src tests tools bench
echo "== mypy";   .venv/bin/mypy
echo "== layers"; .venv/bin/python tools/check_layers.py
echo "== pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
