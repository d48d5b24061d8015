"""The pure parts of the domain rules, without a ledger: working days and lateness, overdue
check-ins, star levels, what a record counts for, and account ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import InvalidInputError
from ledger.model.attendance import OVERDUE_AFTER, Attendance, attendance_aggregate_id
from ledger.model.awards import DEFAULT_THRESHOLDS_HOURS, star_level
from ledger.model.calendar import LATE_AFTER_WORKING_DAYS, is_late, working_days_after
from ledger.model.service import Record, number_of_record
from ledger.model.timebank import parse_account

FRIDAY = date(2025, 3, 7)
NO_HOLIDAYS: frozenset[str] = frozenset()


class Fact:
    def __init__(self, event_type: str) -> None:
        self.type, self.org, self.occurred_at = event_type, "org-a", "2025-03-07T09:00:00Z"


# working days


@pytest.mark.parametrize(
    ("until", "days"),
    [
        (date(2025, 3, 7), 0),  # the same day
        (date(2025, 3, 8), 0),  # Saturday
        (date(2025, 3, 9), 0),  # Sunday
        (date(2025, 3, 10), 1),  # Monday
        (date(2025, 3, 14), 5),
        (date(2025, 3, 21), 10),
        (date(2025, 3, 23), 10),
        (date(2025, 3, 24), 11),
        (date(2025, 3, 1), 0),  # before the end: no days have passed
    ],
)
def test_working_days_after_skip_weekends(until: date, days: int) -> None:
    assert working_days_after(FRIDAY, until, NO_HOLIDAYS) == days


def test_holidays_are_not_working_days_but_holidays_on_weekends_change_nothing() -> None:
    assert working_days_after(FRIDAY, date(2025, 3, 24), {"2025-03-18"}) == 10
    assert working_days_after(FRIDAY, date(2025, 3, 24), {"2025-03-18", "2025-03-19"}) == 9
    assert working_days_after(FRIDAY, date(2025, 3, 24), {"2025-03-15"}) == 11
    assert working_days_after(FRIDAY, date(2025, 3, 24), {"2025-03-07"}) == 11


def test_a_record_is_late_after_more_than_10_working_days() -> None:
    assert LATE_AFTER_WORKING_DAYS == 10
    assert not is_late(FRIDAY, date(2025, 3, 21), NO_HOLIDAYS)
    assert not is_late(FRIDAY, date(2025, 3, 23), NO_HOLIDAYS)
    assert is_late(FRIDAY, date(2025, 3, 24), NO_HOLIDAYS)
    assert not is_late(FRIDAY, date(2025, 3, 24), {"2025-03-18"})
    assert is_late(FRIDAY, date(2025, 3, 25), {"2025-03-18"})


def test_the_national_day_week_of_holidays_extends_the_deadline() -> None:
    golden_week = {f"2025-10-0{d}" for d in range(1, 8)}
    ended = date(2025, 9, 30)  # a Tuesday
    assert working_days_after(ended, date(2025, 10, 14), golden_week) == 5
    assert not is_late(ended, date(2025, 10, 21), golden_week)
    assert is_late(ended, date(2025, 10, 22), golden_week)


@given(
    end=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
    gap=st.integers(min_value=0, max_value=60),
)
def test_working_days_grow_by_at_most_one_a_day_and_five_a_week(end: date, gap: int) -> None:
    until = end + timedelta(days=gap)
    days = working_days_after(end, until, NO_HOLIDAYS)
    assert working_days_after(end, until + timedelta(days=1), NO_HOLIDAYS) - days in (0, 1)
    assert working_days_after(end, until + timedelta(days=7), NO_HOLIDAYS) == days + 5
    assert days <= gap


# overdue check-ins


def checked_in(at: str, out: str | None = None) -> Attendance:
    state = Attendance(aggregate_id=attendance_aggregate_id("a", "V"))
    state.apply(Fact("CheckedIn"), {"at": at})
    if out is not None:
        state.apply(Fact("CheckedOut"), {"at": out})
    return state


def test_a_check_in_without_check_out_is_overdue_after_24_hours() -> None:
    state = checked_in("2025-03-07T09:00:00Z")
    start = datetime(2025, 3, 7, 9, tzinfo=UTC)
    assert timedelta(hours=24) == OVERDUE_AFTER
    assert not state.overdue(start + timedelta(hours=24))
    assert state.overdue(start + timedelta(hours=24, seconds=1))


def test_a_checked_out_or_never_checked_in_volunteer_is_not_overdue() -> None:
    later = datetime(2026, 1, 1, tzinfo=UTC)
    assert not checked_in("2025-03-07T09:00:00Z", "2025-03-07T11:30:00Z").overdue(later)
    assert not Attendance(aggregate_id=attendance_aggregate_id("a", "V")).overdue(later)


def test_the_minutes_of_a_session_are_whole_minutes_between_in_and_out() -> None:
    assert checked_in("2025-03-07T09:00:00Z", "2025-03-07T11:30:59Z").open_minutes() == 150
    assert checked_in("2025-03-07T09:00:00Z").open_minutes() == 0


def test_a_new_check_in_opens_a_new_session() -> None:
    state = checked_in("2025-03-07T09:00:00Z", "2025-03-07T10:00:00Z")
    state.apply(Fact("CheckedIn"), {"at": "2025-03-07T13:00:00Z"})
    assert (state.checked_out_at, state.sessions, state.open_minutes()) == (None, 1, 0)


# star levels


@pytest.mark.parametrize(
    ("hours", "level"),
    [(0, 0), (99, 0), (100, 1), (299, 1), (300, 2), (600, 3), (1000, 4), (1500, 5), (9999, 5)],
)
def test_the_default_star_levels(hours: int, level: int) -> None:
    assert list(DEFAULT_THRESHOLDS_HOURS) == [100, 300, 600, 1000, 1500]
    assert star_level(hours * 60, list(DEFAULT_THRESHOLDS_HOURS)) == level


def test_a_threshold_is_reached_at_the_exact_minute() -> None:
    beijing = [100, 200, 500, 800, 1000]
    assert star_level(100 * 60 - 1, beijing) == 0
    assert star_level(100 * 60, beijing) == 1
    assert star_level(800 * 60, beijing) == 4


@given(
    thresholds=st.lists(st.integers(1, 2000), min_size=1, max_size=10, unique=True).map(sorted),
    minutes=st.integers(0, 200_000),
    more=st.integers(0, 200_000),
)
def test_star_level_rises_with_minutes_and_counts_thresholds_reached(
    thresholds: list[int], minutes: int, more: int
) -> None:
    level = star_level(minutes, thresholds)
    assert 0 <= level <= len(thresholds)
    assert star_level(minutes + more, thresholds) >= level
    assert all(minutes >= h * 60 for h in thresholds[:level])
    assert all(minutes < h * 60 for h in thresholds[level:])


# what a record counts for


def record(
    status: str, minutes: int = 120, approved: int = 0, corrections: list[int] | None = None
) -> Record:
    return Record(
        "VAAAAAAAAAAAAA-R1",
        "activity",
        "org-a",
        "legal-aid",
        "2025-03-07",
        minutes,
        False,
        status,
        approved,
        corrections or [],
    )


def test_only_an_approved_record_is_credited_net_of_corrections() -> None:
    assert record("recorded").credited_minutes == 0
    assert record("rejected").credited_minutes == 0
    assert record("voided", approved=120, corrections=[10]).credited_minutes == 0
    assert record("approved", approved=90).credited_minutes == 90
    assert record("approved", approved=90, corrections=[15, -30]).credited_minutes == 75


def test_a_record_awaiting_review_holds_its_recorded_minutes_on_its_day() -> None:
    assert record("recorded", minutes=200).day_minutes == 200
    assert record("approved", minutes=200, approved=150).day_minutes == 150
    assert record("rejected", minutes=200).day_minutes == 0
    assert record("voided", minutes=200, approved=200).day_minutes == 0


def test_a_record_id_names_its_volunteer() -> None:
    assert number_of_record("VABCDEFGHIJKLM-R12") == "VABCDEFGHIJKLM"
    with pytest.raises(InvalidInputError):
        number_of_record("VABCDEFGHIJKLM")


def test_account_ids_name_bank_kind_and_owner() -> None:
    assert parse_account("bank:vol:VABCDEFGHIJKLM") == ("bank", "vol", "VABCDEFGHIJKLM")
    assert parse_account("bank:org:org-a") == ("bank", "org", "org-a")
    for bad in ("bank:issuing", "bank:team:x", "bank:vol:a:b", "junk"):
        with pytest.raises(InvalidInputError):
            parse_account(bad)
