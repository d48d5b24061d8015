"""The workflow pages run as written: docs/workflows/README.md's setup, then each page's python
blocks in order in one namespace, each printing exactly the ``text`` block shown under it.

The other pages' code blocks run in ``test_docs_run.py``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from docs_blocks import ROOT, Block, blocks_of

WORKFLOWS = ROOT / "docs" / "workflows"
PAGES = sorted(p for p in WORKFLOWS.glob("*.md") if p.name != "README.md")


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.text, block.where, "exec"), namespace)
    if block.expected is not None:
        assert printed.getvalue().rstrip() == block.expected.rstrip(), block.where


def setup_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs"}
    for block in blocks_of(WORKFLOWS / "README.md"):
        if block.lang == "python" and block.not_runnable is None:
            run_block(block, namespace)
    return namespace


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_workflow_page_runs_and_prints_what_it_shows(page: Path) -> None:
    namespace = setup_namespace()
    ran = 0
    for block in blocks_of(page):
        if block.lang == "python" and block.not_runnable is None:
            run_block(block, namespace)
            ran += 1
    assert ran >= 2
