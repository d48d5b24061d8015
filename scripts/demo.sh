#!/usr/bin/env bash
# Install the project into .venv, build a demo city in ./demo-ledger.db and serve it over HTTP.
# Stop with Ctrl-C; run it again to serve the same ledger (the demo is built once).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/ledger serve --demo --db sqlite:///demo-ledger.db "$@"
