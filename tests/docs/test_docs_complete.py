"""Every fenced block of README.md and docs/**/*.md is run or compared by the suite, or says why
not: ``<!-- not-runnable: reason -->`` on the line before it (see ``docs_blocks.py``).

The runners take their blocks from the same ``blocks_of``: ``test_docs_workflows_run.py`` runs
every code block of docs/workflows/, ``test_docs_run.py`` every code block of every other page.
So a block counted here as run is one those tests run.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from docs_blocks import ROOT, SHELL, Block, blocks_of, documents

from ledger.cli import build_parser

INLINE_BENCHMARK = re.compile(r"`(?:\.venv/bin/)?python benchmarks/(\w+\.py)([^`]*)`")
UNREASONED = re.compile(r"^<!--\s*not-runnable\s*:?\s*-->\s*$")


def uncovered(path: Path) -> list[str]:
    """file:line and why, for each block of ``path`` that the suite neither runs nor compares."""
    blocks = blocks_of(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    shell_text = "".join(b.text for b in blocks if b.runs and b.lang in SHELL)
    problems: list[str] = []
    for index, block in enumerate(blocks):
        before = lines[block.line - 2].strip() if block.line > 1 else ""
        if UNREASONED.match(before):
            problems.append(f"{block.where}: not-runnable needs a reason")
        elif block.not_runnable is not None or block.is_expected:
            continue
        elif block.file is not None:
            if block.lang != "python" or block.file not in shell_text:
                problems.append(f"{block.where}: file {block.file} is not run by a shell block")
        elif block.is_output:
            previous = blocks[index - 1] if index else None
            if previous is None or not (previous.runs and previous.lang in SHELL):
                problems.append(f"{block.where}: an output block must follow a shell block")
        elif not block.runs:
            problems.append(
                f"{block.where}: a ```{block.lang} block that is neither run nor compared; "
                "make it runnable or put <!-- not-runnable: reason --> on the line before it"
            )
    return problems


def test_every_fenced_block_is_run_compared_or_marked_with_a_reason() -> None:
    problems = [problem for path in documents() for problem in uncovered(path)]
    assert not problems, "\n".join(problems)


def test_the_completeness_check_names_the_blocks_it_misses(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```json\n{}\n```\n\n<!-- not-runnable: -->\n```sh\nrm -rf /\n```\n\n"
        "<!-- not-runnable: data for the reader -->\n```json\n[]\n```\n\n"
        "```python\nprint(1)\n```\n\n```text\n1\n```\n\n<!-- output -->\n```\nx\n```\n"
        "\n<!-- file: never_run.py -->\n```python\npass\n```\n",
        encoding="utf-8",
    )
    problems = uncovered(page)
    assert [p.split(":", 2)[1] for p in problems] == ["3", "8", "26", "31"]
    assert "neither run nor compared" in problems[0]
    assert "needs a reason" in problems[1]
    assert "must follow a shell block" in problems[2]
    assert "never_run.py is not run" in problems[3]


def test_every_page_with_code_is_one_the_runners_take() -> None:
    from test_docs_run import PAGES as OTHER_PAGES
    from test_docs_workflows_run import PAGES as WORKFLOW_PAGES

    workflows = ROOT / "docs" / "workflows"
    run = {*OTHER_PAGES, *WORKFLOW_PAGES, workflows / "README.md"}
    with_code = {p for p in documents() if any(b.runs for b in blocks_of(p))}
    assert with_code <= run, sorted(str(p) for p in with_code - run)


def options_of(script: Path) -> set[str]:
    """The options a benchmark script declares (``add_argument("--name", ...)``)."""
    return set(re.findall(r'"(--[a-z][a-z-]*)"', script.read_text(encoding="utf-8")))


def benchmark_lines(block: Block) -> list[list[str]]:
    commands = []
    for line in block.text.splitlines():
        words = line.split("#", 1)[0].split()
        if words and words[0] in ("cd", "..."):
            words = words[words.index("&&") + 1 :] if "&&" in words else []
        if len(words) >= 2 and words[0].endswith("python"):
            commands.append(words[1:])
    return commands


def test_the_benchmark_commands_of_performance_md_name_scripts_and_options_that_exist() -> None:
    """The benchmark runs take minutes, so performance.md marks them not-runnable; what can go
    stale cheaply (a renamed script, a dropped option) is checked here against the options each
    script declares, for the fenced commands and for those quoted in the text (the summary's)."""
    checked = 0
    for block in blocks_of(ROOT / "docs" / "performance.md"):
        for command in benchmark_lines(block):
            script = command[0]
            path = ROOT / script if (ROOT / script).exists() else ROOT / "benchmarks" / script
            assert path.is_file(), f"{block.where}: no script {script}"
            shown = options_of(path)
            for option in (w.split("=")[0] for w in command[1:] if w.startswith("--")):
                assert option in shown, f"{block.where}: {script} has no option {option}"
            checked += 1
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    for script, options in INLINE_BENCHMARK.findall(text):
        shown = options_of(ROOT / "benchmarks" / script)
        for option in (w for w in options.split() if w.startswith("--")):
            assert option in shown, f"performance.md: `{script} {options}`: no option {option}"
        checked += 1
    assert checked >= 30


INLINE_COMMAND = re.compile(r"`(ledger [a-z][^`]*)`")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def stale_in(command: str, parser: argparse.ArgumentParser) -> list[str]:
    """What of a quoted command line (``ledger log checkpoint\\|latest``, ``[--json]``) the
    command-line parser does not know."""
    words = [w.strip("[]()") for w in command.replace("\\|", "|").split()[1:]]
    parsers, problems = [parser], []
    while words and subcommands(parsers[0]) and not words[0].startswith("-"):
        choices = subcommands(parsers[0])
        names = words.pop(0).split("|")
        problems += [f"no command {name!r}" for name in names if name not in choices]
        parsers = [choices[name] for name in names if name in choices]
        if not parsers:
            return problems
    for option in (w for w in words if w.startswith("--")):
        for each in parsers:
            if option not in each._option_string_actions:
                problems.append(f"{each.prog} has no option {option}")
    return problems


def fenced_commands(path: Path) -> list[str]:
    """The ``ledger ...`` command lines of a page's shell blocks, marked not-runnable or not
    (continuation lines joined)."""
    found = []
    for block in blocks_of(path):
        if block.lang in SHELL:
            for line in block.text.replace("\\\n", " ").splitlines():
                if line.strip().startswith("ledger "):
                    found.append(line.split(" #", 1)[0].split("$(", 1)[0].strip())
    return found


def test_every_ledger_command_quoted_in_the_docs_exists_with_its_options() -> None:
    """Inline (``ledger init --origin``) and in shell blocks, including those not run (the
    deployment guide's): the command-line parser knows each command and option."""
    parser = build_parser()
    problems = []
    for path in documents():
        quoted = INLINE_COMMAND.findall(path.read_text(encoding="utf-8"))
        for command in [*quoted, *fenced_commands(path)]:
            problems += [
                f"{path.relative_to(ROOT)}: `{command}`: {p}" for p in stale_in(command, parser)
            ]
    assert not problems, "\n".join(problems)


def test_the_quoted_command_check_finds_a_missing_command_and_option() -> None:
    parser = build_parser()
    assert stale_in("ledger log checkpoint\\|latest", parser) == []
    assert stale_in("ledger log checkpoint\\|newest", parser) == ["no command 'newest'"]
    assert stale_in("ledger audit [--bundle DIR] [--fast]", parser) == [
        "ledger audit has no option --fast"
    ]
