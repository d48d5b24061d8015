"""Runs the Node project in ``tests/interop`` (Digital Bazaar's verifiers and jsonld.js) on
credentials, offline; shared by the integration and end-to-end tests (not a test module).

Without Node or the installed project (``npm ci`` in ``tests/interop``, which
``scripts/test.sh`` runs) a caller is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

INTEROP = Path(__file__).parent / "interop"
CONTEXTS = Path(__file__).parents[1] / "src/ledger/credentials/contexts"


def node_or_skip() -> str:
    node = shutil.which("node")
    installed = (INTEROP / "node_modules/@digitalbazaar/vc").is_dir()
    if node and installed:
        return node
    reason = "node is not on PATH" if not node else "run `npm ci` in tests/interop first"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the interop tests must run in CI: {reason}")
    pytest.skip(reason)


def run_verifiers(
    credentials: dict[str, dict[str, Any]], documents: dict[str, dict[str, Any]], tmp_path: Path
) -> dict[str, dict[str, Any]]:
    """``{name: {verified, revoked, error, expansionError}}`` for each credential; ``documents``
    are the status list credentials the verifier may load, by URL."""
    node = node_or_skip()
    source = tmp_path / "credentials.json"
    source.write_text(json.dumps({"credentials": credentials, "documents": documents}))
    done = subprocess.run(
        [node, str(INTEROP / "verify.mjs"), str(source), str(CONTEXTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=INTEROP,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return answer
