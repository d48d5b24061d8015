"""Check-in and check-out at an activity, with their method; a record may be derived from them.

A check-in with no check-out 24 hours later is flagged (``Attendance.overdue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import StringConstraints

from ..envelope import parse_time
from ..errors import KeyNotAuthorisedError, RuleViolationError
from .activities import Activity, activity_aggregate_id
from .aggregates import AggregateState, Fact, Volunteer, register_aggregate
from .ids import UUIDText, VolunteerNumber, url_uuid, volunteer_aggregate_id
from .port import CommandPort
from .registry import Draft, EventData, event_type

OVERDUE_AFTER = timedelta(hours=24)
TimeText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]


@lru_cache(maxsize=65536)
def attendance_aggregate_id(activity_id: str, number: str) -> UUID:
    return url_uuid(f"/attendance/{activity_id}/{number}")


@register_aggregate
@dataclass(slots=True)
class Attendance(AggregateState):
    kind = "attendance"
    checked_in_at: str | None = None
    checked_out_at: str | None = None
    sessions: int = 0

    def on_CheckedIn(self, fact: Fact, data: dict[str, Any]) -> None:
        self.checked_in_at, self.checked_out_at = data["at"], None

    def on_CheckedOut(self, fact: Fact, data: dict[str, Any]) -> None:
        self.checked_out_at = data["at"]
        self.sessions += 1

    def open_minutes(self) -> int:
        """Minutes of the last completed session."""
        if self.checked_in_at is None or self.checked_out_at is None:
            return 0
        span = parse_time(self.checked_out_at) - parse_time(self.checked_in_at)
        return int(span.total_seconds() // 60)

    def overdue(self, now: datetime) -> bool:
        return (
            self.checked_in_at is not None
            and self.checked_out_at is None
            and now - parse_time(self.checked_in_at) > OVERDUE_AFTER
        )


class Checked(EventData):
    activity_id: UUIDText
    number: VolunteerNumber
    method: Literal["qr", "kiosk", "manual"]
    at: TimeText


def _check(ctx: CommandPort, draft: Draft, data: Checked) -> Attendance:
    if draft.aggregate_id != attendance_aggregate_id(data.activity_id, data.number):
        raise RuleViolationError("the event's aggregate is not this attendance's")
    ctx.existing(Volunteer, volunteer_aggregate_id(data.number), f"volunteer {data.number}")
    activity = ctx.existing(
        Activity, activity_aggregate_id(data.activity_id), f"activity {data.activity_id}"
    )
    if activity.org != draft.org:
        raise KeyNotAuthorisedError(f"attendance at {data.activity_id} is kept by {activity.org!r}")
    if activity.cancelled:
        raise RuleViolationError(f"activity {data.activity_id} was cancelled")
    return ctx.state(Attendance, draft.aggregate_id)


@event_type("CheckedIn", "attendance", Checked)
def check_checked_in(ctx: CommandPort, draft: Draft, data: Checked) -> None:
    attendance = _check(ctx, draft, data)
    if attendance.checked_in_at is not None and attendance.checked_out_at is None:
        raise RuleViolationError(f"volunteer {data.number} is already checked in")


@event_type("CheckedOut", "attendance", Checked)
def check_checked_out(ctx: CommandPort, draft: Draft, data: Checked) -> None:
    attendance = _check(ctx, draft, data)
    if attendance.checked_in_at is None or attendance.checked_out_at is not None:
        raise RuleViolationError(f"volunteer {data.number} is not checked in")
    if parse_time(data.at) <= parse_time(attendance.checked_in_at):
        raise RuleViolationError("a check-out comes after its check-in")
