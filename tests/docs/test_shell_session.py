"""The shell runner of the docs tests fails where a page is wrong, and only there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from docs_blocks import SHELL, Block, blocks_of
from shell_session import Session, check_outputs


def session_of(tmp_path: Path, markdown: str) -> tuple[list[Block], Session]:
    page = tmp_path / "page.md"
    page.write_text(markdown, encoding="utf-8")
    blocks = blocks_of(page)
    shell = [b for b in blocks if b.runs and (b.lang in SHELL or b.file is not None)]
    workdir = tmp_path / "work"
    workdir.mkdir()
    return blocks, Session(shell, workdir)


def test_variables_and_the_directory_carry_over_and_a_saved_file_runs(tmp_path: Path) -> None:
    blocks, session = session_of(
        tmp_path,
        "```sh\nX=5; mkdir sub && cd sub\n```\n\n<!-- file: hello.py -->\n```python\n"
        "import os\nprint('hello from', os.path.basename(os.getcwd()))\n```\n\n"
        "```sh\necho $X\npython hello.py\n```\n\n<!-- output -->\n```\n5\nhello from sub\n```\n",
    )
    outputs = session.run()
    assert outputs[2] == "5\nhello from sub\n"
    check_outputs(blocks, session, outputs)


def test_a_failing_command_names_its_block(tmp_path: Path) -> None:
    _, session = session_of(tmp_path, "```sh\ntrue\n```\n\n```sh\nledger no-such-command\n```\n")
    with pytest.raises(AssertionError, match=r"page\.md:5 failed"):
        session.run()


def test_an_error_where_the_page_shows_none_fails(tmp_path: Path) -> None:
    blocks, session = session_of(
        tmp_path, """```sh\necho '{"type":"/problems/not-found","status":404}'\n```\n"""
    )
    with pytest.raises(AssertionError, match="printed \\['/problems/not-found'\\]"):
        check_outputs(blocks, session, session.run())


def test_an_answer_with_other_members_than_shown_fails(tmp_path: Path) -> None:
    blocks, session = session_of(
        tmp_path, """```sh\necho '{"number":"V1","name":"x"}'\n# {"number":"V1"}\n```\n"""
    )
    with pytest.raises(AssertionError, match="members \\['number'\\]"):
        check_outputs(blocks, session, session.run())


def test_an_output_block_that_differs_fails(tmp_path: Path) -> None:
    blocks, session = session_of(tmp_path, "```sh\necho 1\n```\n\n<!-- output -->\n```\n2\n```\n")
    with pytest.raises(AssertionError, match=r"is not what .*page\.md:1 prints"):
        check_outputs(blocks, session, session.run())


def test_a_server_runs_in_the_background_on_its_own_port_and_is_stopped(tmp_path: Path) -> None:
    _, session = session_of(
        tmp_path,
        "```sh\nledger witness serve --name w.example/w --key w.pem --store w.db --port 8100 \\\n"
        "  --log 'l.example/log+2d7fe4a3+AeTQa1hY3OsuvY8C5YiTXekW0WHaROcrvxWuLx4cNxJt'\n"
        "curl -s -o /dev/null -w '%{http_code}\\n' -X POST 127.0.0.1:8000/add-checkpoint\n```\n",
    )
    outputs = session.run()
    assert "127.0.0.1:$DOCS_PORT" in session.script()
    assert outputs[0].startswith("witness w.example/w+")  # what the server printed
    assert "follows l.example/log" in outputs[0]
    assert (session.out / "0.out").read_text().strip().isdigit()
    pid = int((session.out / "servers").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
