"""Helpers for the [assessment] tests (imported by name; not a test module).

``build_town`` grows the shared city (root ``city``; ``org-a`` and ``org-b``) into a small
district for 2025: two stations under ``org-a``, volunteers registered in January 2025, one
activity a month per organisation, records made the day after (one of them weeks late),
approvals, a correction and a void.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ledger_testing import create_city

from ledger import Ledger, MemoryKeystore

JANUARY = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
EVIDENCE = [{"sha256": "ab" * 32, "url": "https://evidence.example/station/photo-1.jpg"}]
ORG_SCHEME: dict[str, Any] = {
    "scheme_id": "district-2025",
    "name": "District volunteer work assessment",
    "unit_kind": "organisation",
    "indicators": [
        {"indicator": "registered-volunteers", "weight": 100, "target": 5},
        {"indicator": "volunteer-growth", "weight": 100, "target": 500},
        {"indicator": "active-member-share", "weight": 200, "target": 800},
        {"indicator": "activities-held", "weight": 100, "target": 12},
        {"indicator": "approved-minutes-per-member", "weight": 150, "target": 600},
        {"indicator": "weeks-with-service", "weight": 150, "target": 26},
        {"indicator": "late-recording-rate", "weight": 100, "target": 200},
        {"indicator": "station-checklist-met", "weight": 100, "target": 1000},
    ],
    "bands": [
        {"band": "standard", "min_score": 400},
        {"band": "city-level", "min_score": 600},
        {"band": "province-level", "min_score": 850},
    ],
    "checklist": [
        {"item": "premises", "title": "A fixed place with a sign"},
        {"item": "staff", "title": "Someone on duty at set hours"},
        {"item": "records", "title": "Service recorded in the ledger"},
        {"item": "regular-service", "title": "Service at least weekly"},
    ],
}
STATION_SCHEME: dict[str, Any] = {
    "scheme_id": "stations-2025",
    "name": "Volunteer station standard",
    "unit_kind": "station",
    "indicators": [
        {"indicator": "station-checklist-met", "weight": 600, "target": 1000},
        {"indicator": "activities-held", "weight": 200, "target": 4},
        {"indicator": "weeks-with-service", "weight": 200, "target": 4},
    ],
    "bands": [
        {"band": "standard", "min_score": 500},
        {"band": "city-level", "min_score": 750},
        {"band": "province-level", "min_score": 950},
    ],
    "checklist": ORG_SCHEME["checklist"],
}
PROJECT_SCHEME: dict[str, Any] = {
    "scheme_id": "brand-projects-2025",
    "name": "Brand project competition",
    "unit_kind": "project",
    "indicators": [
        {"indicator": "project-approved-minutes", "weight": 400, "target": 6000},
        {"indicator": "project-volunteers", "weight": 200, "target": 10},
        {"indicator": "people-served", "weight": 200, "target": 500},
        {"indicator": "activities-held", "weight": 200, "target": 6},
    ],
    "bands": [{"band": "commended", "min_score": 500}],
}
KEYS = itertools.count()


def key(what: str) -> str:
    return f"{what}-{next(KEYS)}"


def notification_count(ledger: Ledger) -> int:
    return len(ledger._recorder.select_notifications(1, 10**9))


@contextmanager
def refused(
    ledger: Ledger, error: type[BaseException], match: str | None = None
) -> Iterator[pytest.ExceptionInfo[BaseException]]:
    """Expect ``error`` and that nothing at all was stored."""
    size, count = ledger.log_size(), notification_count(ledger)
    with pytest.raises(error, match=match) as caught:
        yield caught
    assert ledger.log_size() == size, "a refused command grew the log"
    assert notification_count(ledger) == count, "a refused command stored an event"


def add_stations(ledger: Ledger) -> None:
    for station in ("station-a1", "station-a2"):
        ledger.register_organisation(
            "org-a",
            org_id=station,
            name=f"Station {station[-2:].upper()}",
            kind="station",
            region="140402001",
            idempotency_key=key(station),
        )
        ledger.new_key("org-a", for_org=station, idempotency_key=key(f"{station}-key"))


def activity(ledger: Ledger, org: str, start: datetime, **options: Any) -> str:
    result = ledger.publish_activity(
        org,
        title="Community legal aid desk",
        field="legal-aid",
        place="Community centre",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        leader="desk-lead",
        content="Answering residents' questions",
        idempotency_key=key("activity"),
        occurred_at=start - timedelta(days=1),
        **options,
    )
    return str(result.value.activity_id)


def serve(
    ledger: Ledger,
    org: str,
    activity_id: str,
    number: str,
    start: datetime,
    minutes: int = 120,
    *,
    days_later: int = 1,
    approve: bool = True,
) -> str:
    result = ledger.record_hours(
        org,
        activity_id=activity_id,
        number=number,
        minutes=minutes,
        occurred_at=start + timedelta(days=days_later),
        idempotency_key=key("record"),
    )
    record_id = str(result.value.record_id)
    if approve:
        ledger.approve_record(org, record_id=record_id, idempotency_key=key("approve"))
    return record_id


def build_town(ledger: Ledger) -> dict[str, Any]:
    """The district described in the module docstring; returns its volunteers and records."""
    first = create_city(ledger)["number"]
    ledger.new_key(
        "city", for_org="city", idempotency_key=key("city-auto"), purpose="automatic-awards"
    )
    add_stations(ledger)
    a = [first] + [
        str(
            ledger.register_volunteer(
                "org-a", idempotency_key=key("va"), occurred_at=JANUARY
            ).value.number
        )
        for _ in range(3)
    ]
    b = [
        str(
            ledger.register_volunteer(
                "org-b", idempotency_key=key("vb"), occurred_at=JANUARY
            ).value.number
        )
        for _ in range(2)
    ]
    records: list[str] = []
    activities: dict[str, list[str]] = {"org-a": [], "org-b": []}
    for month in range(1, 7):
        start = datetime(2025, month, 10, 9, 0, tzinfo=UTC)
        desk = activity(ledger, "org-a", start, station="station-a1", people_served=40)
        activities["org-a"].append(desk)
        for number in a[1:3]:
            records.append(serve(ledger, "org-a", desk, number, start))
        if month % 2:
            other = activity(ledger, "org-b", start)
            activities["org-b"].append(other)
            records.append(serve(ledger, "org-b", other, b[0], start, 90))
    late_start = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
    late_desk = activity(ledger, "org-a", late_start, station="station-a2")
    records.append(serve(ledger, "org-a", late_desk, a[3], late_start, days_later=40))
    ledger.correct_record(
        "org-a",
        record_id=records[0],
        delta_minutes=-30,
        reason="left early",
        idempotency_key=key("correct"),
    )
    ledger.void_record(
        "city", record_id=records[1], grounds="no service given", idempotency_key=key("void")
    )
    return {"org_a": a, "org_b": b, "records": records, "activities": activities}


@dataclass
class BuiltTown:
    """One district built once on a SQLite file (a second or two), copied for each test."""

    path: Path
    keystore: MemoryKeystore
    town: dict[str, Any]

    @classmethod
    def build(cls, directory: Path, *schemes: dict[str, Any]) -> BuiltTown:
        path, keystore = directory / "town.db", MemoryKeystore()
        with Ledger(f"sqlite:///{path}", keystore=keystore) as ledger:
            town = build_town(ledger)
            for scheme in schemes:
                ledger.publish_assessment_scheme(
                    "city", scheme=scheme, idempotency_key=key("scheme")
                )
        return cls(path, keystore, town)

    def copy(self, directory: Path, open_ledger: Callable[..., Ledger]) -> Ledger:
        target = directory / "town.db"
        shutil.copy(self.path, target)
        return open_ledger(f"sqlite:///{target}", keystore=self.keystore)
