"""Reading the code blocks of README.md and docs/ (imported by the docs test; not a test module).

A block is code when its language is ``python``, ``sh``, ``bash`` or ``console``; ``text``
right after a python block is what that block prints. Other blocks (``json``, ``text``,
``ini``, ``nginx``, ``http``) are data shown to the reader, not run. A code block that cannot
run in a test (it needs a production database, a long-running server) is marked by an HTML
comment on the line before it: ``<!-- not-runnable: the reason -->``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = {"python", "sh", "bash", "console"}
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
MARK = re.compile(r"^<!--\s*not-runnable:\s*(\S.*?)\s*-->\s*$")


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    text: str
    not_runnable: str | None = None
    expected: str | None = None  # the text block that follows a python block

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start, lang = i, opened.group(1).lower()
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        marked = MARK.match(lines[start - 1]) if start > 0 else None
        found.append(
            Block(
                path, start + 1, lang, "\n".join(body) + "\n", marked.group(1) if marked else None
            )
        )
        i += 1
    for before, after in itertools.pairwise(found):
        if before.lang == "python" and after.lang == "text":
            before.expected = after.text
    return found


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
