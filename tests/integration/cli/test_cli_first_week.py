"""An operator's first week with the command line: a real identity at ``init``, a demo that
builds on it, help for every option, no empty ledger made from a typo, and progress lines."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger, MemoryKeystore
from ledger.cli import build_parser, main
from ledger.cli.init import gather_identity

IDENTITY = {
    "--name": "Jincheng volunteer service ledger",
    "--root-org": "jincheng",
    "--root-name": "Jincheng Volunteer Federation",
    "--region": "140500",
    "--origin": "volunteer.jincheng.example.cn/ledger",
}


def identity_args(**overrides: str | None) -> list[str]:
    args: list[str] = []
    for option, value in {**IDENTITY, **overrides}.items():
        if value is not None:
            args += [option, value]
    return args


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def every_parser(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from every_parser(child)


def test_every_option_and_argument_of_every_command_has_help() -> None:
    undocumented = [
        f"{prog} {'/'.join(action.option_strings) or action.dest}"
        for prog, parser in every_parser(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
        and not (action.help or "").strip()
    ]
    assert undocumented == []


def test_apikey_create_names_every_scope_an_api_key_can_have() -> None:
    from ledger.apikeys import SCOPES

    create = dict(every_parser(build_parser()))["ledger apikey create"]
    [scopes] = [a for a in create._actions if "--scopes" in a.option_strings]
    named = (scopes.help or "").split(": ", 1)[1].split(",")
    assert sorted(named) == sorted(SCOPES)


def test_init_without_an_identity_refuses_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "city.db"
    code, _, err = cli(
        capsys, "init", "--db", f"sqlite:///{db}", *identity_args(**{"--origin": None})
    )
    assert code == 2
    assert "--origin" in err and "none is invented" in err
    assert not db.exists() and not (tmp_path / "ledger-trust.json").exists()


def test_init_refuses_the_demo_citys_example_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "city.db"
    args = identity_args(**{"--origin": "volunteer.changzhi.example/ledger"})
    code, _, err = cli(capsys, "init", "--db", f"sqlite:///{db}", *args)
    assert code == 2 and "example origin" in err and "ledger demo" in err
    assert not db.exists()


@pytest.mark.parametrize("origin", ["https://volunteer.example.cn/ledger", "no-dot", "a b.cn"])
def test_init_refuses_an_origin_that_is_not_a_scheme_less_url(
    origin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "city.db"
    code, _, err = cli(
        capsys, "init", "--db", f"sqlite:///{db}", *identity_args(**{"--origin": origin})
    )
    assert code == 2 and "bad origin" in err
    assert not db.exists()


def test_init_asks_on_a_terminal_for_what_the_options_leave_out() -> None:
    namespace = argparse.Namespace(
        name="Jincheng ledger", root_org=None, root_name=None, region="140500", origin=None
    )
    answers = iter(["jincheng", "Jincheng Volunteer Federation", "volunteer.jincheng.example.cn"])
    asked: list[str] = []

    def ask(question: str) -> str:
        asked.append(question)
        return next(answers)

    identity = gather_identity(namespace, ask)
    assert len(asked) == 3 and all(q.endswith(": ") for q in asked)
    assert identity == {
        "name": "Jincheng ledger",
        "root_org_id": "jincheng",
        "root_name": "Jincheng Volunteer Federation",
        "region": "140500",
        "origin": "volunteer.jincheng.example.cn",
    }


def test_init_signs_the_given_identity_and_demo_then_builds_under_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'city.db'}"
    trust = tmp_path / "trust.json"
    code, out, err = cli(capsys, "init", "--db", url, "--trust-out", trust, *identity_args())
    assert code == 0, err
    anchors = json.loads(trust.read_text(encoding="utf-8"))
    assert (anchors["ledger"], anchors["origin"], anchors["root_org"]) == (
        IDENTITY["--name"],
        IDENTITY["--origin"],
        IDENTITY["--root-org"],
    )
    code, out, err = cli(capsys, "demo", "--db", url, "--volunteers", "12")
    assert code == 0, err
    for stage in ("organisations", "volunteers", "activities"):
        assert f"{stage} [" in err, err  # a progress line closes every stage
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        info = ledger._directory.require_ledger()
        assert (info.name, info.root_org) == (IDENTITY["--name"], "jincheng")
        assert ledger._directory.organisation("luzhou").parent == "jincheng"
    code, _, err = cli(capsys, "demo", "--db", url, "--volunteers", "12")
    assert code == 2 and "store of its own" in err
    code, out, _ = cli(capsys, "audit", "--db", url, "--trust", trust, "--quiet")
    assert code == 0 and "RESULT: clean, no findings" in out


def test_demo_on_an_empty_store_takes_the_example_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, _, err = cli(capsys, "demo", "--db", url, "--volunteers", "8", "--quiet")
    assert code == 0, err
    assert "[" not in err  # --quiet: no progress lines
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        assert ledger._directory.require_ledger().origin == "volunteer.changzhi.example/ledger"


READING_COMMANDS = [
    ["log", "checkpoint"],
    ["log", "latest"],
    ["log", "key"],
    ["log", "receipt", "0"],
    ["log", "consistency", "1", "2"],
    ["projections", "rebuild"],
    ["projections", "digest"],
    ["apikey", "create", "--org", "changzhi", "--scopes", "read"],
    ["export", "--out", "bundle"],
    ["audit", "--quiet"],
    ["serve", "--port", "0"],
]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=" ".join)
def test_a_missing_sqlite_file_is_an_error_and_nothing_is_created(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    typo = tmp_path / "citty.db"
    args = [*command[:1], *command[1:]]
    code, out, err = cli(capsys, *args, "--db", f"sqlite:///{typo}")
    assert code == 2, out
    assert "no ledger at" in err and "does not exist" in err
    assert list(tmp_path.iterdir()) == []  # no database, no keystore, no bundle folder


def test_a_store_with_no_ledger_in_it_is_an_error_not_empty_figures(
    postgres_schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "projections", "digest", "--db", postgres_schema)
    assert code == 2 and out == ""
    assert "holds no ledger yet" in err
