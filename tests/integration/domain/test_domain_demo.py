"""``ledger demo``: a realistic city, built deterministically for a seed, whose figures hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, MemoryKeystore
from ledger.cli import main
from ledger.model.awards import star_level


def run_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, *options: str
) -> tuple[str, dict[str, int]]:
    """Run ``ledger demo`` into a fresh SQLite file; its URL and the counts it printed."""
    url = f"sqlite:///{tmp_path / name}"
    assert main(["demo", "--db", url, "--volunteers", "40", *options]) == 0
    printed = capsys.readouterr().out
    counts: dict[str, int] = {}
    for line in printed.split("signed checkpoint:")[0].splitlines()[1:]:
        what, _, count = line.strip().rpartition(" ")
        counts[what.strip()] = int(count)
    return url, counts


def read(url: str) -> dict[str, Any]:
    """What the demo made, read back from the store by a ledger holding no private keys."""
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        numbers = [e.data["number"] for e in ledger.events_of_types("VolunteerRegistered")]
        types = Counter(
            e.type
            for e in ledger.events_of_types(
                "ActivityPublished",
                "HoursRecorded",
                "RecordApproved",
                "RecordRejected",
                "RecordCorrected",
                "RecordVoided",
                "HonourGranted",
                "StarAttained",
                "StarWithdrawn",
                "CreditEarned",
                "CreditClawedBack",
                "CreditSent",
            )
        )
        minutes = [
            (e.data["record_id"], e.data["minutes"])
            for e in ledger.events_of_types("HoursRecorded")
        ]
        return {
            "numbers": numbers,
            "types": types,
            "minutes": minutes,
            "log_size": ledger.log_size(),
        }


@pytest.mark.slow
def test_the_demo_is_deterministic_for_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_url, first_counts = run_demo(tmp_path, capsys, "first.db")
    second_url, second_counts = run_demo(tmp_path, capsys, "second.db")
    assert first_counts == second_counts
    assert first_counts["volunteers"] == 40
    first, second = read(first_url), read(second_url)
    assert len(first["numbers"]) == 40
    assert first["numbers"] == second["numbers"]
    assert first["minutes"] == second["minutes"]
    assert first["types"] == second["types"]
    assert first["log_size"] == second["log_size"] == first_counts["events logged"]


@pytest.mark.slow
def test_another_seed_builds_another_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seven, _ = run_demo(tmp_path, capsys, "seven.db", "--seed", "7")
    eight, _ = run_demo(tmp_path, capsys, "eight.db", "--seed", "8")
    assert set(read(seven)["numbers"]).isdisjoint(read(eight)["numbers"])


@pytest.mark.slow
def test_the_demo_city_has_every_workflow_and_its_figures_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, counts = run_demo(tmp_path, capsys, "city.db")
    made = read(url)
    types = made["types"]
    assert types["HoursRecorded"] == counts["records"]
    assert types["RecordApproved"] == counts["approved"]
    assert types["RecordRejected"] == counts.get("rejected", 0)
    assert types["RecordCorrected"] == counts.get("corrections", 0)
    assert types["RecordVoided"] == counts.get("voids", 0)
    assert types["ActivityPublished"] == counts["activities"]
    assert types["HonourGranted"] == counts["honours"] == 5
    for workflow in ("HoursRecorded", "RecordApproved", "CreditEarned", "StarAttained"):
        assert types[workflow] > 0, workflow
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        ledger.refresh()
        schemes = ledger.reference().star_schemes
        assert set(schemes) == {"national-stars", "youth-stars"}
        total = 0
        for number in made["numbers"]:
            balance = ledger.volunteer_balance(number)
            total += balance["approved_minutes"]
            for scheme_id, stars in balance["stars"].items():
                assert stars["level"] == star_level(
                    balance["approved_minutes"], schemes[scheme_id].thresholds_hours
                )
        figures = [
            ledger.organisation_figures(org)["approved_minutes"] for org in _recorders(ledger)
        ]
        assert sum(figures) == total
        accounts = {
            e.data["account"]
            for e in ledger.events_of_types(
                "CreditEarned", "CreditClawedBack", "CreditSent", "CreditReceived"
            )
        }
        balances = [ledger.account(a)["balance"] for a in accounts]
        minted = sum(e.data["amount"] for e in ledger.events_of_types("CreditEarned"))
        clawed = sum(e.data["amount"] for e in ledger.events_of_types("CreditClawedBack"))
        assert min(balances) >= 0
        assert sum(balances) == minted - clawed


def _recorders(ledger: Ledger) -> set[str]:
    return {e.org for e in ledger.events_of_types("HoursRecorded")}
