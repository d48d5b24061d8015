#!/usr/bin/env bash
# Install the project with its development tools into .venv, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
# Digital Bazaar's verifiers for the credential interop tests (tests/interop, from its lock file).
if command -v npm >/dev/null; then
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
.venv/bin/ruff check src api tests benchmarks
.venv/bin/ruff format --check src api tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 --timeout 600 --durations=15 "$@"
