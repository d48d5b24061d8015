#!/usr/bin/env bash
# Install the project into .venv and build a demo ledger in ./demo-ledger.db.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
rm -rf demo-ledger.db demo-ledger.db.keys
.venv/bin/ledger demo --db sqlite:///demo-ledger.db "$@"
