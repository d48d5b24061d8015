"""Publishing and cancelling activities, and the ledger-wide settings the root authority keeps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ..context import Context
from ..envelope import format_time
from ..errors import NotFoundError
from ..model.activities import Activity, activity_aggregate_id
from ..model.settings import SETTINGS_AGGREGATE_ID
from ..results import ActivityRef, NoValue
from ..writer import CommandResult
from .base import CommandHost


def _whole_seconds(moment: datetime) -> str:
    return format_time(moment.replace(microsecond=0))


class ActivityCommands(CommandHost):
    def publish_activity(
        self,
        org: str,
        *,
        title: str,
        field: str,
        place: str,
        starts_at: datetime,
        ends_at: datetime,
        leader: str,
        content: str,
        idempotency_key: str,
        station: str | None = None,
        max_minutes: int | None = None,
        allow_repeats: bool = False,
        people_served: int | None = None,
        activity_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[ActivityRef]:
        """Publish an activity; its id is ``result.value.activity_id``.

        ``leader`` is a role or a pseudonymous id, never a personal name.
        """
        data: dict[str, Any] = {
            "title": title,
            "field": field,
            "place": place,
            "station": station,
            "starts_at": _whole_seconds(starts_at),
            "ends_at": _whole_seconds(ends_at),
            "leader": leader,
            "content": content,
            "max_minutes": max_minutes,
            "allow_repeats": allow_repeats,
            "people_served": people_served,
        }

        def decide(ctx: Context) -> dict[str, Any]:
            chosen = activity_id or str(uuid.uuid4())
            if activity_id is None:
                ctx.fresh(Activity, activity_aggregate_id(chosen))
            ctx.emit(
                "ActivityPublished", activity_aggregate_id(chosen), {"activity_id": chosen, **data}
            )
            return {"activity_id": chosen}

        return self._command(
            org,
            "ActivityPublished",
            {"activity_id": activity_id, **data},
            decide,
            result=ActivityRef,
            idempotency_key=idempotency_key,
            occurred_at=occurred_at,
        )

    def cancel_activity(
        self, org: str, *, activity_id: str, reason: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Cancel an activity: it takes no new records; records already made stand."""
        return self._emit_one(
            org,
            "ActivityCancelled",
            activity_aggregate_id(activity_id),
            {"activity_id": activity_id, "reason": reason},
            idempotency_key=idempotency_key,
        )

    def activity(self, activity_id: str) -> dict[str, Any]:
        state = self._state(Activity, activity_aggregate_id(activity_id))
        assert isinstance(state, Activity)
        if not state.exists:
            raise NotFoundError(f"activity {activity_id} is not in this ledger")
        published = self.events(activity_aggregate_id(activity_id))[0].data
        return {**published, "org": state.org, "cancelled": state.cancelled}

    def set_daily_limit(
        self, org: str, *, minutes: int, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """The most minutes a volunteer may be credited for one day (default 24 hours)."""
        return self._emit_one(
            org,
            "LedgerSettingsChanged",
            SETTINGS_AGGREGATE_ID,
            {"daily_limit_minutes": minutes},
            idempotency_key=idempotency_key,
        )

    def declare_holidays(
        self, org: str, *, dates: list[str], idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Holidays (YYYY-MM-DD) that do not count as working days for late records."""
        return self._emit_one(
            org,
            "HolidaysDeclared",
            SETTINGS_AGGREGATE_ID,
            {"dates": sorted(set(dates))},
            idempotency_key=idempotency_key,
        )

    def publish_calendar(
        self,
        org: str,
        *,
        time_zone: str,
        holidays: list[str],
        working_days: list[str],
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        """The next version of the ledger's calendar: its IANA time zone, holidays and adjusted
        working days (weekends declared working). Records are judged by the version in force
        when they are made; an earlier record keeps the judgement it was given."""
        self._directory.refresh()
        version = self._directory.reference.calendar.version + 1
        return self._emit_one(
            org,
            "CalendarPublished",
            SETTINGS_AGGREGATE_ID,
            {
                "version": version,
                "time_zone": time_zone,
                "holidays": sorted(set(holidays)),
                "working_days": sorted(set(working_days)),
            },
            idempotency_key=idempotency_key,
        )

    def add_service_field(
        self, org: str, *, field: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        return self._emit_one(
            org,
            "ServiceFieldAdded",
            SETTINGS_AGGREGATE_ID,
            {"field": field},
            idempotency_key=idempotency_key,
        )
