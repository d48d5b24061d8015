"""Reading the code blocks of README.md and docs/ (imported by the docs test; not a test module).

A block is code when its language is ``python``, ``sh``, ``bash`` or ``console``; the suite
runs every code block of every page (``test_docs_run.py``, ``test_docs_workflows_run.py``).
``text`` right after a python block is what that block prints, and is compared. An HTML comment
on the line before a block says more about it:

- ``<!-- not-runnable: the reason -->``: neither run nor compared, for the reason given (data
  shown to the reader, a format, a command that needs a production host);
- ``<!-- file: NAME -->``: a python block the page tells the reader to save as ``NAME``; it is
  written there, and the page's shell blocks run it;
- ``<!-- output -->``: what the shell block before it prints, compared with what it printed
  (API keys, certificate numbers and the port
  normalised).

``test_docs_complete.py`` fails on any block that is none of these.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = {"python", "sh", "bash", "console"}
FENCE = re.compile(r"^(\s*)```([A-Za-z0-9_+-]*)\s*$")  # list items indent theirs
MARK = re.compile(r"^<!--\s*not-runnable:\s*(\S.*?)\s*-->\s*$")
FILE = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->\s*$")
OUTPUT = re.compile(r"^<!--\s*output\s*-->\s*$")
SHELL = {"sh", "bash", "console"}


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    text: str
    not_runnable: str | None = None
    expected: str | None = None  # the text block that follows a python block
    file: str | None = None  # <!-- file: NAME -->
    is_output: bool = False  # <!-- output -->
    is_expected: bool = False  # the text block right after a python block

    @property
    def runs(self) -> bool:
        """Run by the suite: code, not marked not-runnable."""
        return self.lang in CODE and self.not_runnable is None

    @property
    def where(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start, indent, lang = i, len(opened.group(1)), opened.group(2).lower()
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        before = lines[start - 1].strip() if start > 0 else ""
        marked, file, output = MARK.match(before), FILE.match(before), OUTPUT.match(before)
        found.append(
            Block(
                path,
                start + 1,
                lang,
                "\n".join(body) + "\n",
                marked.group(1) if marked else None,
                file=file.group(1) if file else None,
                is_output=output is not None,
            )
        )
        i += 1
    for before, after in itertools.pairwise(found):
        if (
            before.runs
            and before.lang == "python"
            and after.lang == "text"
            and after.not_runnable is None
            and not after.is_output
        ):
            before.expected = after.text
            after.is_expected = True
    return found


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
