"""City statistics: the figures a city reports, recomputable from signed records for any
period: registrations, organisations by kind, activities and people served, and approved
service minutes by field and month (of the service date)."""

from __future__ import annotations

from .base import REVIEW_EVENTS, ProjectedEvent, RecordStandings, View
from .batch_writes import add, put
from .database import ViewCursor

RECORDS = RecordStandings("view_stat_records", ("field", "month"))
VIEW = View(
    name="statistics",
    tables={
        "view_stat_records": "record_id TEXT PRIMARY KEY, field TEXT NOT NULL, "
        "month TEXT NOT NULL, credited BIGINT NOT NULL, status TEXT NOT NULL",
        "view_minutes_by_field_month": "field TEXT NOT NULL, month TEXT NOT NULL, "
        "minutes BIGINT NOT NULL, records BIGINT NOT NULL, PRIMARY KEY (field, month)",
        "view_activities_by_month": "month TEXT NOT NULL, field TEXT NOT NULL, "
        "activities BIGINT NOT NULL, people_served BIGINT NOT NULL, PRIMARY KEY (month, field)",
        "view_stat_activities": "activity_id TEXT PRIMARY KEY, month TEXT NOT NULL, "
        "field TEXT NOT NULL, people_served BIGINT NOT NULL, cancelled INTEGER NOT NULL",
        "view_registrations_by_month": "month TEXT PRIMARY KEY, volunteers BIGINT NOT NULL",
        "view_organisations_by_kind": "kind TEXT PRIMARY KEY, organisations BIGINT NOT NULL",
    },
    keys={
        "view_stat_records": "record_id",
        "view_minutes_by_field_month": "field, month",
        "view_activities_by_month": "month, field",
        "view_stat_activities": "activity_id",
        "view_registrations_by_month": "month",
        "view_organisations_by_kind": "kind",
    },
    records=RECORDS,
)


@VIEW.on("LedgerCreated", "OrganisationRegistered")
def organisation(cursor: ViewCursor, event: ProjectedEvent) -> None:
    kind = event.data["root"]["kind"] if event.type == "LedgerCreated" else event.data["kind"]
    add(cursor, "view_organisations_by_kind", {"kind": kind}, {"organisations": 1})


@VIEW.on("VolunteerRegistered")
def registered(cursor: ViewCursor, event: ProjectedEvent) -> None:
    add(cursor, "view_registrations_by_month", {"month": event.occurred_at[:7]}, {"volunteers": 1})


@VIEW.on("ActivityPublished")
def activity(cursor: ViewCursor, event: ProjectedEvent) -> None:
    month, field = event.data["starts_at"][:7], event.data["field"]
    served = event.data.get("people_served") or 0
    put(
        cursor,
        "view_stat_activities",
        {"activity_id": event.data["activity_id"]},
        {"month": month, "field": field, "people_served": served, "cancelled": 0},
    )
    add(
        cursor,
        "view_activities_by_month",
        {"month": month, "field": field},
        {"activities": 1, "people_served": served},
    )


@VIEW.on("ActivityCancelled")
def activity_cancelled(cursor: ViewCursor, event: ProjectedEvent) -> None:
    """A cancelled activity was not held: it leaves the counts."""
    row = cursor.one(
        "SELECT month, field, people_served FROM view_stat_activities "
        "WHERE activity_id = ? AND cancelled = 0",
        [event.data["activity_id"]],
    )
    if row is None:
        return
    cursor.execute(
        "UPDATE view_stat_activities SET cancelled = 1 WHERE activity_id = ?",
        [event.data["activity_id"]],
    )
    add(
        cursor,
        "view_activities_by_month",
        {"month": row[0], "field": row[1]},
        {"activities": -1, "people_served": -row[2]},
    )


@VIEW.on("HoursRecorded")
def recorded(cursor: ViewCursor, event: ProjectedEvent) -> None:
    RECORDS.record(
        cursor,
        event.data["record_id"],
        {"field": event.data["field"], "month": event.data["service_date"][:7]},
    )


@VIEW.on(*REVIEW_EVENTS)
def reviewed(cursor: ViewCursor, event: ProjectedEvent) -> None:
    moved = RECORDS.review(cursor, event)
    if moved is None:
        return
    (field, month), delta, approved_change = moved
    if delta or approved_change:
        add(
            cursor,
            "view_minutes_by_field_month",
            {"field": field, "month": month},
            {"minutes": delta, "records": approved_change},
        )
