"""Rules of time: no hours before an activity starts, minutes bounded by its span unless it says
otherwise, and service dates and the late rule judged in the ledger's time zone with a signed,
versioned calendar of holidays and adjusted working days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from domain_support import FRIDAY, Town, create_city, refused

from ledger import InvalidInputError, KeyNotAuthorisedError, Ledger, RuleViolationError
from ledger.demo import ADJUSTED_WORKING_DAYS_2025, HOLIDAYS_2025

City = tuple[Ledger, dict[str, str]]


@pytest.fixture
def town(city: City) -> Town:
    return Town.build(*city)


@pytest.fixture
def memory_town(open_ledger: Callable[..., Ledger]) -> Town:
    ledger = open_ledger("memory://")
    return Town.build(ledger, create_city(ledger))


def shanghai(town: Town, key: str = "calendar") -> None:
    town.ledger.publish_calendar(
        "city",
        time_zone="Asia/Shanghai",
        holidays=HOLIDAYS_2025,
        working_days=ADJUSTED_WORKING_DAYS_2025,
        idempotency_key=key,
    )


def span_only(town: Town, start: datetime = FRIDAY, hours: int = 2) -> str:
    """An activity that sets no ``max_minutes``: its span is the limit."""
    return town.activity(start=start, hours=hours, max_minutes=None)


# no hours before the activity starts


def test_no_hours_for_an_activity_that_has_not_started(town: Town) -> None:
    future = span_only(town, start=datetime(2027, 6, 1, 9, tzinfo=UTC))
    with refused(town.ledger, RuleViolationError, match="no hours are recorded for it before"):
        town.record(future, 60, occurred_at=datetime.now(UTC))
    with refused(town.ledger, RuleViolationError, match="no hours are recorded for it before"):
        town.ledger.record_roster(
            "org-a",
            activity_id=future,
            entries=[{"number": town.number, "minutes": 60}],
            idempotency_key="roster-future",
        )


def test_a_record_dated_in_the_future_to_pass_the_start_is_refused(memory_town: Town) -> None:
    town = memory_town
    future = span_only(town, start=datetime.now(UTC) + timedelta(days=30))
    with refused(town.ledger, InvalidInputError, match="in the future"):
        town.record(future, 60, occurred_at=datetime.now(UTC) + timedelta(days=31))


def test_a_record_back_dated_before_the_start_is_refused(memory_town: Town) -> None:
    town = memory_town
    activity = span_only(town)
    with refused(town.ledger, RuleViolationError, match="starts at 2025-03-07T09:00:00Z"):
        town.record(activity, 60, occurred_at=FRIDAY - timedelta(minutes=1))
    town.record(activity, 60, occurred_at=FRIDAY + timedelta(hours=2))


def test_an_attacker_cannot_record_for_another_organisations_future_activity(
    memory_town: Town,
) -> None:
    town = memory_town
    future = span_only(town, start=datetime(2027, 6, 1, 9, tzinfo=UTC))
    with refused(town.ledger, KeyNotAuthorisedError):
        town.record(future, 60, org="org-b", number=town.stranger)


# minutes bounded by the span


def test_minutes_per_record_are_bounded_by_the_activitys_span(town: Town) -> None:
    activity = span_only(town)  # two hours
    with refused(town.ledger, RuleViolationError, match="limit of 120 per record.*its span"):
        town.record(activity, 600)
    with refused(town.ledger, RuleViolationError, match="limit of 120"):
        town.record(activity, 121)
    record_id = town.record(activity, 120)
    town.approve(record_id)
    with refused(town.ledger, RuleViolationError, match="over the activity's limit of 120"):
        town.correct(record_id, +1)
    town.correct(record_id, -30)


def test_an_activity_may_allow_more_than_its_span(memory_town: Town) -> None:
    town = memory_town
    prepared = town.activity(hours=2, max_minutes=600)  # preparation and clearing up count
    town.approve(town.record(prepared, 600))
    with refused(town.ledger, RuleViolationError, match="limit of 600.*its max_minutes"):
        town.record(prepared, 601, number=town.other)


def test_over_span_credit_cannot_be_minted_into_a_time_bank(memory_town: Town) -> None:
    town = memory_town
    activity = span_only(town)
    with refused(town.ledger, RuleViolationError, match="limit of 120"):
        town.record(activity, 600)
    assert town.ledger.service_account(town.number).approved_minutes == 0


# the ledger's time zone and calendar


def test_service_dates_are_judged_in_the_ledgers_time_zone(town: Town) -> None:
    shanghai(town)
    late_evening_utc = datetime(2025, 3, 7, 17, 0, tzinfo=UTC)  # 01:00 on the 8th in Shanghai
    activity = span_only(town, start=late_evening_utc)
    with refused(town.ledger, RuleViolationError, match=r"outside the activity.*Asia/Shanghai"):
        town.record(activity, 60, service_date=date(2025, 3, 7))
    record_id = town.record(activity, 60, occurred_at=late_evening_utc + timedelta(hours=3))
    assert town.ledger.record_status(record_id)["service_date"] == "2025-03-08"


def test_a_service_date_after_the_record_is_refused(memory_town: Town) -> None:
    town = memory_town
    weekend = town.activity(hours=48, max_minutes=None)  # Friday to Sunday
    with refused(town.ledger, RuleViolationError, match="after the record"):
        town.record(weekend, 60, service_date=date(2025, 3, 9), occurred_at=FRIDAY + timedelta(1))


def test_the_late_rule_counts_adjusted_working_days_and_the_national_holiday(
    memory_town: Town,
) -> None:
    town = memory_town
    shanghai(town)
    # Ends Friday 26 September 2025 in Shanghai. Working days after it: Sunday 28 September
    # (adjusted), 29, 30, then 1-8 October off, 9, 10, Saturday 11 (adjusted), 13, 14, 15, 16.
    end_friday = datetime(2025, 9, 26, 1, tzinfo=UTC)
    on_time_at = datetime(2025, 10, 16, 15, 59, tzinfo=UTC)  # 23:59 on the 16th in Shanghai
    late_at = datetime(2025, 10, 16, 16, 0, tzinfo=UTC)  # 00:00 on the 17th in Shanghai
    first = span_only(town, start=end_friday)
    on_time = town.record(first, 60, occurred_at=on_time_at)
    late = town.record(first, 60, number=town.other, occurred_at=late_at)
    assert town.ledger.record_status(on_time)["late"] is False
    assert town.ledger.record_status(late)["late"] is True


def test_a_lying_late_flag_is_refused(memory_town: Town) -> None:
    town = memory_town
    shanghai(town)
    activity = span_only(town, start=datetime(2025, 9, 26, 1, tzinfo=UTC))
    from ledger.model.service import service_account_id

    account = service_account_id(town.number)
    data = {
        "record_id": f"{town.number}-R1",
        "number": town.number,
        "activity_id": activity,
        "field": "legal-aid",
        "minutes": 60,
        "service_date": "2025-09-26",
        "content": "desk",
        "late": False,
    }
    with refused(town.ledger, RuleViolationError, match="late flag"):
        town.ledger._emit_one(
            "org-a",
            "HoursRecorded",
            account,
            data,
            idempotency_key="lying-late",
            occurred_at=datetime(2025, 10, 20, 4, tzinfo=UTC),
        )


# the calendar as signed, versioned reference data


def test_only_the_root_publishes_the_calendar_and_versions_follow_each_other(
    memory_town: Town,
) -> None:
    town = memory_town
    with refused(town.ledger, KeyNotAuthorisedError, match="root authority"):
        town.ledger.publish_calendar(
            "org-a", time_zone="Asia/Shanghai", holidays=[], working_days=[], idempotency_key="c0"
        )
    shanghai(town, "c1")
    town.ledger.refresh()
    assert town.ledger.reference().calendar.version == 1
    town.ledger.publish_calendar(
        "city", time_zone="Asia/Urumqi", holidays=[], working_days=[], idempotency_key="c2"
    )
    town.ledger.refresh()
    calendar = town.ledger.reference().calendar
    assert (calendar.version, calendar.time_zone) == (2, "Asia/Urumqi")
    assert calendar.holidays == frozenset()  # each version replaces the one before


@pytest.mark.parametrize(
    ("time_zone", "holidays", "working_days", "message"),
    [
        ("Mars/Olympus_Mons", [], [], "unknown time zone"),
        ("Asia/Shanghai", [], ["2025-09-29"], "is a weekday"),
        ("Asia/Shanghai", ["2025-09-28"], ["2025-09-28"], "each date listed once"),
        ("Asia/Shanghai", ["2025-02-30"], [], "not a date"),
    ],
)
def test_a_bad_calendar_is_refused(
    memory_town: Town, time_zone: str, holidays: list[str], working_days: list[str], message: str
) -> None:
    with refused(memory_town.ledger, RuleViolationError, match=message):
        memory_town.ledger.publish_calendar(
            "city",
            time_zone=time_zone,
            holidays=holidays,
            working_days=working_days,
            idempotency_key="bad",
        )
