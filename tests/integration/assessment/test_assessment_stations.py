"""Station standards: checklist items attested by the organisation responsible, with evidence
references only; a station's rating derived from the scheme."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from assessment_support import EVIDENCE, STATION_SCHEME, BuiltTown, key, refused

from ledger import (
    CommandResult,
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.model.stations import station_standard_aggregate_id

ON = date(2025, 11, 20)
SCHEME = "stations-2025"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltTown:
    return BuiltTown.build(tmp_path_factory.mktemp("stations"), STATION_SCHEME)


@pytest.fixture
def ledger(built: BuiltTown, tmp_path: Path, open_ledger: Callable[..., Ledger]) -> Ledger:
    return built.copy(tmp_path, open_ledger)


def attest(
    ledger: Ledger, org: str, item: str, station: str = "station-a1", **changes: Any
) -> CommandResult:
    options: dict[str, Any] = {"evidence": EVIDENCE, "attested_on": ON, **changes}
    return ledger.attest_station_item(
        org, station=station, scheme_id=SCHEME, item=item, idempotency_key=key("attest"), **options
    )


def test_the_responsible_organisation_attests_an_item_with_evidence(ledger: Ledger) -> None:
    result = attest(ledger, "org-a", "premises")
    event = ledger.event(result.events[0].aggregate_id, 1)
    assert event.org == "org-a" and event.data["evidence"] == EVIDENCE
    assert result.events[0].aggregate_id == str(station_standard_aggregate_id("station-a1", SCHEME))
    attest(ledger, "city", "staff")
    standard = ledger.station_standard("station-a1", SCHEME)
    assert standard["met"] == 2 and standard["of"] == 4
    assert standard["items"] == {
        "premises": True,
        "staff": True,
        "records": False,
        "regular-service": False,
    }


def test_a_station_cannot_attest_itself_nor_can_another_branch(ledger: Ledger) -> None:
    with refused(ledger, KeyNotAuthorisedError, "not by the station itself"):
        attest(ledger, "station-a1", "premises")
    with refused(ledger, KeyNotAuthorisedError, "above 'station-a1'"):
        attest(ledger, "org-b", "premises")


def test_items_outside_the_checklist_twice_or_for_non_stations_are_refused(ledger: Ledger) -> None:
    with refused(ledger, NotFoundError, "not a checklist item"):
        attest(ledger, "org-a", "swimming-pool")
    with refused(ledger, RuleViolationError, "not a station"):
        attest(ledger, "city", "premises", station="org-a")
    attest(ledger, "org-a", "premises")
    with refused(ledger, RuleViolationError, "already attested"):
        attest(ledger, "org-a", "premises")


@pytest.mark.parametrize(
    "evidence",
    [
        [{"sha256": "xyz"}],
        [{"sha256": "ab" * 32, "url": "https://evidence.example/photo?volunteer=Zhang%20San"}],
        [{"sha256": "ab" * 32, "url": "http://evidence.example/photo.jpg"}],
        [{"sha256": "ab" * 32, "name": "Zhang San"}],
        [],
    ],
)
def test_evidence_is_a_reference_never_personal_data(
    ledger: Ledger, evidence: list[dict[str, str]]
) -> None:
    with refused(ledger, InvalidInputError):
        attest(ledger, "org-a", "premises", evidence=evidence)


def test_withdrawal_by_the_attester_or_above_only(ledger: Ledger) -> None:
    attest(ledger, "org-a", "premises")
    withdraw = ledger.withdraw_station_item
    with refused(ledger, KeyNotAuthorisedError):
        withdraw(
            "org-b",
            station="station-a1",
            scheme_id=SCHEME,
            item="premises",
            reason="inspection",
            idempotency_key=key("w"),
        )
    withdraw(
        "city",
        station="station-a1",
        scheme_id=SCHEME,
        item="premises",
        reason="inspection found the sign gone",
        idempotency_key=key("w"),
    )
    assert ledger.station_standard("station-a1", SCHEME)["met"] == 0
    with refused(ledger, NotFoundError, "not attested"):
        withdraw(
            "city",
            station="station-a1",
            scheme_id=SCHEME,
            item="premises",
            reason="again",
            idempotency_key=key("w"),
        )


def test_a_stations_rating_is_derived_from_the_scheme(ledger: Ledger) -> None:
    for item in ("premises", "staff", "records"):
        attest(ledger, "org-a", item)
    computed = ledger.compute_assessment(SCHEME, "2025")["units"]
    assert set(computed) == {"station-a1", "station-a2"}
    a1 = {f["indicator"]: f["value"] for f in computed["station-a1"]["figures"]}
    assert a1 == {"station-checklist-met": 750, "activities-held": 6, "weeks-with-service": 6}
    assert computed["station-a1"]["score"] == 850
    assert computed["station-a1"]["rating"] == "city-level"
    attest(ledger, "org-a", "regular-service")
    computed = ledger.compute_assessment(SCHEME, "2025")["units"]
    assert computed["station-a1"]["rating"] == "province-level"
    assert computed["station-a2"]["score"] == 100 and computed["station-a2"]["rating"] == "unrated"
