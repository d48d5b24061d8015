"""``ledger federation stats`` on the command line: bad input gets a clear error and changes
nothing; the table names each city and the province."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledger_testing import create_city
from province_testing import LedgerTransport, own_figures, reader_for, write_province

from ledger import Ledger, MemoryKeystore
from ledger.cli.federation_stats import main, render_table
from ledger.federation.province import province_stats


def anchors() -> dict[str, object]:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        found: dict[str, object] = ledger.trust_anchors()
    return found


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"cities": []}, "lists its cities"),
        ({"cities": [{"name": "A!", "url": "http://a.test", "trust": {}}]}, "city name"),
        ({"cities": [{"name": "a", "url": "ftp://a.test", "trust": {}}]}, "http(s) address"),
        ({"cities": [{"name": "a", "url": "http://a.test", "trust": "missing.json"}]}, "trust"),
        ({"cities": [{"name": "a", "url": "http://a.test", "trust": {"x": 1}}]}, "trust"),
    ],
)
def test_a_bad_province_file_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object, message: str
) -> None:
    province = tmp_path / "province.json"
    province.write_text(json.dumps(document), encoding="utf-8")
    state = tmp_path / "state.json"
    assert main(["stats", "--province", str(province), "--state", str(state)]) == 2
    assert message in capsys.readouterr().err
    assert not state.exists()


def test_a_trust_file_without_a_root_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = dict(anchors())
    del trust["root_key"]
    province = write_province(tmp_path / "p.json", {"a": ("http://a.test", trust)})
    state = tmp_path / "state.json"
    assert main(["stats", "--province", str(province), "--state", str(state)]) == 2
    assert "must name the root key" in capsys.readouterr().err


def test_a_state_file_of_something_else_is_refused_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    province = write_province(tmp_path / "p.json", {"a": ("http://a.test", anchors())})
    state = tmp_path / "state.json"
    state.write_text('{"checkpoint": "an audit state"}', encoding="utf-8")
    assert main(["stats", "--province", str(province), "--state", str(state)]) == 2
    assert "not a province state file" in capsys.readouterr().err
    assert state.read_text(encoding="utf-8") == '{"checkpoint": "an audit state"}'


def test_an_unreachable_city_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    province = write_province(tmp_path / "p.json", {"far": ("http://127.0.0.1:9", anchors())})
    state = tmp_path / "state.json"
    assert main(["stats", "--province", str(province), "--state", str(state), "--json"]) == 1
    out, err = capsys.readouterr()
    assert "refused city far:" in err
    view = json.loads(out)
    assert view["province"] is None and view["cities"][0]["error"].startswith("city far:")


def test_the_table_shows_each_city_and_the_province(tmp_path: Path) -> None:
    ledgers = {name: Ledger("memory://", keystore=MemoryKeystore()) for name in ("x", "y")}
    for ledger in ledgers.values():
        create_city(ledger)
    province = write_province(
        tmp_path / "p.json",
        {name: (f"http://{name}.test", ledger.trust_anchors()) for name, ledger in ledgers.items()},
    )
    transports = {name: LedgerTransport(ledger) for name, ledger in ledgers.items()}
    view = province_stats(province, tmp_path / "s.json", reader_for=reader_for(transports))
    table = render_table(view).splitlines()
    assert table[0].split() == ["figure", "x", "y", "province"]
    volunteers = next(row.split() for row in table if row.startswith("volunteers"))
    each = [own_figures(ledger)["registered_volunteers"] for ledger in ledgers.values()]
    assert volunteers[1:] == [str(each[0]), str(each[1]), str(sum(each))]
