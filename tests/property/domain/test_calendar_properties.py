"""Properties of the working-day calendar the late rule uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.model.calendar import Calendar

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
day_sets = st.frozensets(days.map(date.isoformat), max_size=30)


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    weekends = [d for d in draw(day_sets) if date.fromisoformat(d).weekday() >= 5]
    return Calendar("Asia/Shanghai", 1, draw(day_sets), frozenset(weekends))


@given(calendars(), days, st.integers(0, 400), st.integers(0, 400))
def test_working_days_add_up_over_consecutive_periods(
    calendar: Calendar, start: date, first: int, second: int
) -> None:
    middle, end = start + timedelta(first), start + timedelta(first + second)
    assert calendar.working_days_after(start, end) == calendar.working_days_after(
        start, middle
    ) + calendar.working_days_after(middle, end)


@given(calendars(), days, st.integers(0, 60))
def test_working_days_count_exactly_the_days_the_calendar_calls_working(
    calendar: Calendar, end: date, length: int
) -> None:
    until = end + timedelta(length)
    expected = sum(
        1
        for i in range(1, length + 1)
        if (end + timedelta(i)).isoformat() in calendar.working_days
        or (
            (end + timedelta(i)).weekday() < 5
            and (end + timedelta(i)).isoformat() not in calendar.holidays
        )
    )
    assert calendar.working_days_after(end, until) == expected


@given(calendars(), days, st.integers(0, 120), st.integers(0, 30))
def test_once_late_a_record_made_later_is_late_too(
    calendar: Calendar, end: date, after: int, more: int
) -> None:
    recorded = end + timedelta(after)
    if calendar.is_late(end, recorded):
        assert calendar.is_late(end, recorded + timedelta(more))


@given(calendars(), days, st.sampled_from(sorted({"2025-09-28", "2025-10-11", "2026-02-14"})))
def test_declaring_a_weekend_working_never_makes_a_record_later(
    calendar: Calendar, end: date, weekend: str
) -> None:
    adjusted = Calendar(calendar.time_zone, 2, calendar.holidays, calendar.working_days | {weekend})
    until = end + timedelta(60)
    assert adjusted.working_days_after(end, until) >= calendar.working_days_after(end, until)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)))
def test_the_shanghai_date_is_the_utc_date_eight_hours_on(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    assert Calendar("Asia/Shanghai").local_date(aware) == (aware + timedelta(hours=8)).date()
    assert Calendar().local_date(aware) == aware.date()
