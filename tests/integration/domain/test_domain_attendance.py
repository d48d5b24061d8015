"""Check-in and check-out with their method, records derived from them, overdue check-ins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from domain_support import FRIDAY, Town, create_city, event_data, refused, result_types

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.model.attendance import attendance_aggregate_id

City = tuple[Ledger, dict[str, str]]


@pytest.fixture
def town(city: City) -> Town:
    return Town.build(*city)


def check_in(
    town: Town, activity_id: str, at: datetime, *, number: str | None = None, org: str = "org-a"
) -> None:
    town.ledger.check_in(
        org,
        activity_id=activity_id,
        number=number or town.number,
        method="qr",
        at=at,
        idempotency_key=town.key("in"),
    )


def check_out(
    town: Town, activity_id: str, at: datetime, *, number: str | None = None, org: str = "org-a"
) -> None:
    town.ledger.check_out(
        org,
        activity_id=activity_id,
        number=number or town.number,
        method="kiosk",
        at=at,
        idempotency_key=town.key("out"),
    )


def test_check_in_and_out_are_events_with_their_method(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    check_in(town, activity_id, FRIDAY + timedelta(minutes=5, microseconds=700))
    check_out(town, activity_id, FRIDAY + timedelta(hours=3, minutes=20))
    events = ledger.events(attendance_aggregate_id(activity_id, town.number))
    assert [(e.type, e.data["method"], e.data["at"]) for e in events] == [
        ("CheckedIn", "qr", "2025-03-07T09:05:00Z"),
        ("CheckedOut", "kiosk", "2025-03-07T12:20:00Z"),
    ]
    assert ledger.attendance(activity_id, town.number) == {
        "checked_in_at": "2025-03-07T09:05:00Z",
        "checked_out_at": "2025-03-07T12:20:00Z",
        "overdue": False,
    }


def test_a_record_is_derived_from_the_attendance(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    check_in(town, activity_id, FRIDAY + timedelta(minutes=5))
    check_out(town, activity_id, FRIDAY + timedelta(hours=3, minutes=20, seconds=59))
    result = ledger.record_from_attendance(
        "org-a", activity_id=activity_id, number=town.number, idempotency_key="derive"
    )
    assert result_types(result) == ["HoursRecorded"]
    (data,) = event_data(ledger, result, "HoursRecorded")
    assert (data["minutes"], data["service_date"]) == (195, "2025-03-07")
    assert result.value.record_id == data["record_id"]
    town.approve(data["record_id"])
    assert town.approved_minutes() == 195


def test_a_derived_record_passes_the_record_rules(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity(max_minutes=60)
    check_in(town, activity_id, FRIDAY)
    check_out(town, activity_id, FRIDAY + timedelta(hours=2))
    with refused(ledger, RuleViolationError, match="limit of 60"):
        ledger.record_from_attendance(
            "org-a", activity_id=activity_id, number=town.number, idempotency_key="derive"
        )


def test_no_record_is_derived_without_a_completed_session(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    with refused(ledger, InvalidInputError, match="no completed check-in/out"):
        ledger.record_from_attendance(
            "org-a", activity_id=activity_id, number=town.number, idempotency_key="d1"
        )
    check_in(town, activity_id, FRIDAY)
    with refused(ledger, InvalidInputError, match="no completed check-in/out"):
        ledger.record_from_attendance(
            "org-a", activity_id=activity_id, number=town.number, idempotency_key="d2"
        )


def test_one_session_gives_one_record_even_when_repeats_are_allowed(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity(allow_repeats=True)
    check_in(town, activity_id, FRIDAY)
    check_out(town, activity_id, FRIDAY + timedelta(hours=2))
    ledger.record_from_attendance(
        "org-a", activity_id=activity_id, number=town.number, idempotency_key="d1"
    )
    with refused(ledger, (RuleViolationError, InvalidInputError)):
        ledger.record_from_attendance(
            "org-a", activity_id=activity_id, number=town.number, idempotency_key="d2"
        )
    assert ledger.volunteer_balance(town.number)["records"] == 1


def test_a_second_session_after_check_out_gives_a_second_record(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity(allow_repeats=True)
    check_in(town, activity_id, FRIDAY)
    check_out(town, activity_id, FRIDAY + timedelta(hours=2))
    ledger.record_from_attendance(
        "org-a", activity_id=activity_id, number=town.number, idempotency_key="d1"
    )
    check_in(town, activity_id, FRIDAY + timedelta(hours=4))
    check_out(town, activity_id, FRIDAY + timedelta(hours=5))
    second = ledger.record_from_attendance(
        "org-a", activity_id=activity_id, number=town.number, idempotency_key="d2"
    )
    (data,) = event_data(ledger, second, "HoursRecorded")
    assert data["minutes"] == 60


def test_check_in_and_out_alternate(town: Town) -> None:
    activity_id = town.activity()
    with refused(town.ledger, RuleViolationError, match="not checked in"):
        check_out(town, activity_id, FRIDAY)
    check_in(town, activity_id, FRIDAY)
    with refused(town.ledger, RuleViolationError, match="already checked in"):
        check_in(town, activity_id, FRIDAY + timedelta(minutes=1))
    with refused(town.ledger, RuleViolationError, match="after its check-in"):
        check_out(town, activity_id, FRIDAY)
    check_out(town, activity_id, FRIDAY + timedelta(minutes=1))
    with refused(town.ledger, RuleViolationError, match="not checked in"):
        check_out(town, activity_id, FRIDAY + timedelta(minutes=2))


def test_the_method_is_qr_kiosk_or_manual(town: Town) -> None:
    activity_id = town.activity()
    with refused(town.ledger, InvalidInputError, match="method"):
        town.ledger.check_in(
            "org-a",
            activity_id=activity_id,
            number=town.number,
            method="telepathy",
            at=FRIDAY,
            idempotency_key="in",
        )


def test_attendance_is_kept_by_the_activitys_organisation_for_registered_volunteers(
    town: Town,
) -> None:
    activity_id = town.activity()
    with refused(town.ledger, KeyNotAuthorisedError, match="kept by 'org-a'"):
        check_in(town, activity_id, FRIDAY, org="org-b")
    with refused(town.ledger, NotFoundError, match="VAAAAAAAAAAAAA"):
        check_in(town, activity_id, FRIDAY, number="VAAAAAAAAAAAAA")


def test_no_check_in_at_a_cancelled_activity(town: Town) -> None:
    activity_id = town.activity()
    town.ledger.cancel_activity(
        "org-a", activity_id=activity_id, reason="rain", idempotency_key="cancel"
    )
    with refused(town.ledger, RuleViolationError, match="cancelled"):
        check_in(town, activity_id, FRIDAY)


def test_a_check_in_without_check_out_after_24_hours_is_flagged(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    now = [FRIDAY + timedelta(hours=1)]
    ledger = open_ledger(store_url, clock=lambda: now[0])
    town = Town.build(ledger, create_city(ledger))
    activity_id = town.activity(hours=48)
    check_in(town, activity_id, FRIDAY)
    check_in(town, activity_id, FRIDAY, number=town.other)
    check_out(town, activity_id, FRIDAY + timedelta(hours=2), number=town.other)
    now[0] = FRIDAY + timedelta(hours=24)
    assert ledger.attendance(activity_id, town.number)["overdue"] is False
    now[0] = FRIDAY + timedelta(hours=24, seconds=1)
    assert ledger.attendance(activity_id, town.number)["overdue"] is True
    assert ledger.attendance(activity_id, town.other)["overdue"] is False
    check_out(town, activity_id, FRIDAY + timedelta(hours=25))
    assert ledger.attendance(activity_id, town.number)["overdue"] is False
