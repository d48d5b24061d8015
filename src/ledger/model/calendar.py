"""Working days: weekends are not working days, and a ledger may be given holidays as data."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

LATE_AFTER_WORKING_DAYS = 10


def working_days_after(end: date, until: date, holidays: Collection[str]) -> int:
    """Working days in (end, until]: the days an organisation had, counted as the rules do."""
    count, day = 0, end
    while day < until:
        day += timedelta(days=1)
        if day.weekday() < 5 and day.isoformat() not in holidays:
            count += 1
    return count


def is_late(activity_end: date, recorded_on: date, holidays: Collection[str]) -> bool:
    """A record made more than 10 working days after the activity ended is late."""
    return working_days_after(activity_end, recorded_on, holidays) > LATE_AFTER_WORKING_DAYS
