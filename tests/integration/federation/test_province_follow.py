"""The provincial view over three cities served from their own logs (in process): the province
equals the sum of the cities' own figures, a second run reads only what is new, and a city that
serves an altered entry, a rolled-back or forked checkpoint, or another ledger is refused by name
while its saved state stays as it was."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from province_testing import (
    LedgerTransport,
    more_service,
    own_figures,
    reader_for,
    write_province,
)

from ledger import Ledger
from ledger.demo import DemoCity, build_demo
from ledger.federation.province import ProvinceView, load_state, province_stats
from ledger.federation.province_views import sum_figures
from ledger.keystore import LOG_KEY_OWNER
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.note import NoteSigner
from ledger.signing import SigningKey

NAMES = ("north", "south", "east")


@dataclass
class Province:
    ledgers: dict[str, Ledger]
    demos: dict[str, DemoCity]
    transports: dict[str, LedgerTransport]
    file: Path
    state: Path

    def run(self) -> ProvinceView:
        for transport in self.transports.values():
            transport.paths.clear()
        return province_stats(self.file, self.state, reader_for=reader_for(self.transports))

    def saved(self, name: str) -> dict[str, Any]:
        document = json.loads(self.state.read_text(encoding="utf-8"))
        found: dict[str, Any] = document["cities"][name]
        return found


def new_city(name: str, seed: int, folder: Path) -> DemoCity:
    folder.mkdir()
    with Ledger(f"sqlite:///{folder / 'ledger.db'}") as ledger:
        ledger.create(
            name=f"{name} ledger",
            root_org_id=f"{name}-city",
            root_name=f"{name.title()} Volunteer Federation",
            region="140400",
            origin=f"{name}.province.example/log",
        )
        city: DemoCity = build_demo(ledger, volunteers=8 + seed, seed=seed)["city"]
    return city


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, DemoCity]]:
    """Three cities built once (SQLite files with their keystores beside them)."""
    root = tmp_path_factory.mktemp("cities")
    demos = {name: new_city(name, seed, root / name) for seed, name in enumerate(NAMES, 1)}
    return root, demos


@pytest.fixture
def province(built: tuple[Path, dict[str, DemoCity]], tmp_path: Path) -> Iterator[Province]:
    """A fresh copy of the three cities for each test (tests change them)."""
    source, demos = built
    shutil.copytree(source, tmp_path / "cities")
    ledgers = {n: Ledger(f"sqlite:///{tmp_path / 'cities' / n / 'ledger.db'}") for n in NAMES}
    transports = {name: LedgerTransport(ledger) for name, ledger in ledgers.items()}
    file = write_province(
        tmp_path / "province.json",
        {name: (f"http://{name}.test", ledgers[name].trust_anchors()) for name in NAMES},
    )
    try:
        yield Province(ledgers, demos, transports, file, tmp_path / "state.json")
    finally:
        for ledger in ledgers.values():
            ledger.close()


def log_key(ledger: Ledger) -> SigningKey:
    ledger._directory.refresh()
    for key_id in ledger._directory.require_ledger().log_keys:
        key = ledger.keystore.get(LOG_KEY_OWNER, key_id)
        if isinstance(key, SigningKey):
            return key
    raise AssertionError("no log key in the keystore")


def test_the_province_is_the_sum_of_its_cities_and_a_second_run_reads_only_new_entries(
    province: Province,
) -> None:
    first = province.run()
    assert first.ok, [c.error for c in first.cities]
    own = {name: own_figures(ledger) for name, ledger in province.ledgers.items()}
    for city in first.cities:
        assert city.figures == own[city.name]
        assert city.new_entries == province.ledgers[city.name].log_size() > 0
    assert first.totals == sum_figures(list(own.values()))
    assert first.totals is not None and first.totals["records_approved"] > 0

    south = province.ledgers["south"]
    before = south.log_size()
    more_service(south, province.demos["south"].recorders[0], "second-run")
    second = province.run()
    assert second.ok
    new = south.log_size() - before
    by_name = {c.name: c for c in second.cities}
    assert by_name["south"].new_entries == new
    # the checkpoint, then only the bundles holding the new leaves
    south_paths = province.transports["south"].paths
    assert south_paths[0] == "/log/checkpoint"
    assert len(south_paths) == 1 + (south.log_size() - 1) // 256 - before // 256 + 1
    for other in ("north", "east"):
        assert by_name[other].new_entries == 0
        assert province.transports[other].paths == ["/log/checkpoint"]
    own["south"] = own_figures(south)
    assert own["south"] != first.cities[1].figures  # the new service shows
    assert second.totals == sum_figures(list(own.values()))


def test_an_altered_entry_is_refused_by_name_and_its_state_is_kept(province: Province) -> None:
    assert province.run().ok
    east = province.ledgers["east"]
    kept = province.saved("east")
    more_service(east, province.demos["east"].recorders[0], "after")

    def flip_a_byte(path: str, body: bytes) -> bytes:
        if "/entries/" not in path:
            return body
        at = len(body) - 40  # inside the last entry's envelope
        return body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]

    province.transports["east"].tamper = flip_a_byte
    view = province.run()
    assert not view.ok and view.totals is None
    refused = {c.name: c.error for c in view.cities if c.error}
    assert list(refused) == ["east"]
    assert refused["east"] is not None and refused["east"].startswith("city east:")
    assert province.saved("east") == kept  # not advanced
    assert load_state(province.state)["east"].size == kept["size"]


def test_a_rolled_back_checkpoint_is_refused(province: Province) -> None:
    north = province.ledgers["north"]
    old_note = north.log.sign_checkpoint()
    more_service(north, province.demos["north"].recorders[0], "newer")
    assert province.run().ok
    kept = province.saved("north")
    province.transports["north"].checkpoint = old_note  # genuine, signed, but older
    view = province.run()
    error = next(c.error for c in view.cities if c.name == "north")
    assert error is not None and "rolled back" in error and error.startswith("city north:")
    assert province.saved("north") == kept


@pytest.mark.parametrize("grow", [False, True], ids=["same-size", "larger"])
def test_a_forked_checkpoint_signed_by_the_log_key_is_refused(
    province: Province, grow: bool
) -> None:
    """The operator holds the log key and signs another history: same size with another root,
    or a larger tree whose root the verified one does not grow into."""
    south = province.ledgers["south"]
    assert province.run().ok
    kept = province.saved("south")
    if grow:
        more_service(south, province.demos["south"].recorders[0], "grow")
    size = south.log_size()
    forged_root = bytes(32) if not grow else south.log.root(size - 1)
    forged = sign_checkpoint(
        Checkpoint(south.log.origin, size, forged_root),
        [NoteSigner(south.log.origin, log_key(south))],
    )
    province.transports["south"].checkpoint = forged
    view = province.run()
    error = next(c.error for c in view.cities if c.name == "south")
    assert error is not None and error.startswith("city south:")
    assert ("forked" in error) if not grow else ("do not hash" in error)
    assert province.saved("south") == kept


def test_a_checkpoint_signed_by_another_key_is_refused(province: Province) -> None:
    east = province.ledgers["east"]
    stranger = SigningKey.generate()
    size = east.log_size()
    note = sign_checkpoint(
        Checkpoint(east.log.origin, size, east.log.root(size)),
        [NoteSigner(east.log.origin, stranger)],
    )
    province.transports["east"].checkpoint = note
    view = province.run()
    error = next(c.error for c in view.cities if c.name == "east")
    assert error is not None and "checkpoint does not verify" in error
    assert "east" not in load_state(province.state)  # nothing saved for it
    assert {c.name for c in view.cities if c.error is None} == {"north", "south"}


def test_a_city_serving_another_ledger_is_refused(province: Province, tmp_path: Path) -> None:
    """The province pins north's anchors but the address serves south's log."""
    province.transports["north"] = LedgerTransport(province.ledgers["south"])
    view = province.run()
    error = next(c.error for c in view.cities if c.name == "north")
    assert error is not None and error.startswith("city north:")
