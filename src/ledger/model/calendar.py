"""Working days and the ledger's time zone: the calendar the late rule and service dates use.

Weekends are not working days, holidays are not either, and an adjusted working day (a weekend
declared working, as China's State Council does around long holidays) is one. The root authority
publishes the calendar as signed, versioned reference data (``CalendarPublished``): each version
replaces the one before and names the ledger's IANA time zone. A record is judged by the
calendar in force at its position in the log, so the audit, replaying in log order, judges it
the same way. Holidays declared with the older ``HolidaysDeclared`` event still count.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints

from ..errors import RuleViolationError
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .settings import DateText, _root_only

LATE_AFTER_WORKING_DAYS = 10
DEFAULT_TIME_ZONE = "UTC"


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Calendar:
    """The calendar in force: time zone, holidays and adjusted working days."""

    time_zone: str = DEFAULT_TIME_ZONE
    version: int = 0
    holidays: frozenset[str] = field(default_factory=frozenset)
    working_days: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> Calendar:
        return cls(
            data["time_zone"],
            data["version"],
            frozenset(data["holidays"]),
            frozenset(data["working_days"]),
        )

    def local_date(self, moment: datetime) -> date:
        """The date in the ledger's time zone: 23:30 UTC is the next day in Asia/Shanghai."""
        return moment.astimezone(zone(self.time_zone)).date()

    def is_working_day(self, day: date, extra_holidays: Collection[str] = ()) -> bool:
        text = day.isoformat()
        if text in self.working_days:
            return True
        return day.weekday() < 5 and text not in self.holidays and text not in extra_holidays

    def working_days_after(self, end: date, until: date, extra: Collection[str] = ()) -> int:
        """Working days in (end, until]: the days an organisation had, counted as the rules do."""
        count, day = 0, end
        while day < until:
            day += timedelta(days=1)
            count += self.is_working_day(day, extra)
        return count

    def is_late(self, activity_end: date, recorded_on: date, extra: Collection[str] = ()) -> bool:
        """A record made more than 10 working days after the activity ended is late."""
        return self.working_days_after(activity_end, recorded_on, extra) > LATE_AFTER_WORKING_DAYS


def working_days_after(end: date, until: date, holidays: Collection[str]) -> int:
    """Working days in (end, until] with weekends and ``holidays`` off (no adjusted days)."""
    return Calendar().working_days_after(end, until, holidays)


def is_late(activity_end: date, recorded_on: date, holidays: Collection[str]) -> bool:
    """Late, by the plain calendar: weekends and ``holidays`` off."""
    return Calendar().is_late(activity_end, recorded_on, holidays)


def is_time_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class CalendarPublished(EventData):
    version: Annotated[int, Field(ge=1)]
    time_zone: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{1,63}$")]
    holidays: Annotated[list[DateText], Field(max_length=2000)]
    working_days: Annotated[list[DateText], Field(max_length=500)]


@event_type("CalendarPublished", "settings", CalendarPublished)
def check_calendar_published(ctx: CommandPort, draft: Draft, data: CalendarPublished) -> None:
    _root_only(ctx, draft)
    current = ctx.directory.reference.calendar.version
    if data.version != current + 1:
        raise RuleViolationError(f"the next calendar version is {current + 1}, not {data.version}")
    if not is_time_zone(data.time_zone):
        raise RuleViolationError(f"unknown time zone {data.time_zone!r}; use an IANA name")
    days = [*data.holidays, *data.working_days]
    if len(set(days)) != len(days) or data.holidays != sorted(data.holidays):
        raise RuleViolationError("holidays and working days are sorted, each date listed once")
    if data.working_days != sorted(data.working_days):
        raise RuleViolationError("working days are listed in order")
    for text in days:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise RuleViolationError(f"{text} is not a date") from None
        if text in data.working_days and day.weekday() < 5:
            raise RuleViolationError(
                f"{text} is a weekday: an adjusted working day is a weekend declared working"
            )
