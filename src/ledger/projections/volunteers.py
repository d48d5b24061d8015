"""Volunteer balances: approved minutes in total, by field, by year and recording organisation;
record counts; late records; star levels; honours; and each record's current standing."""

from __future__ import annotations

from .base import REVIEW_EVENTS, ProjectedEvent, RecordStandings, View
from .batch_writes import add, bump, put
from .database import ViewCursor

RECORDS = RecordStandings("view_records", ("number", "org_id", "field", "service_date"))
VIEW = View(
    name="volunteers",
    tables={
        "view_volunteers": "number TEXT PRIMARY KEY, registered_by TEXT NOT NULL, "
        "registered_at TEXT NOT NULL, approved_minutes BIGINT NOT NULL DEFAULT 0, "
        "records BIGINT NOT NULL DEFAULT 0, approved_records BIGINT NOT NULL DEFAULT 0, "
        "late_records BIGINT NOT NULL DEFAULT 0",
        "view_records": "record_id TEXT PRIMARY KEY, number TEXT NOT NULL, org_id TEXT NOT NULL, "
        "activity_id TEXT NOT NULL, field TEXT NOT NULL, service_date TEXT NOT NULL, "
        "status TEXT NOT NULL, minutes BIGINT NOT NULL, credited BIGINT NOT NULL, "
        "late INTEGER NOT NULL",
        "view_volunteer_fields": "number TEXT NOT NULL, field TEXT NOT NULL, "
        "minutes BIGINT NOT NULL, PRIMARY KEY (number, field)",
        "view_volunteer_org_years": "number TEXT NOT NULL, org_id TEXT NOT NULL, "
        "year TEXT NOT NULL, minutes BIGINT NOT NULL, PRIMARY KEY (number, org_id, year)",
        "view_volunteer_stars": "number TEXT NOT NULL, scheme_id TEXT NOT NULL, "
        "level INTEGER NOT NULL, PRIMARY KEY (number, scheme_id)",
        "view_volunteer_honours": "honour_id TEXT PRIMARY KEY, recipient TEXT NOT NULL, "
        "honour TEXT NOT NULL, granted_by TEXT NOT NULL, granted_on TEXT NOT NULL, "
        "revoked INTEGER NOT NULL",
    },
    keys={
        "view_volunteers": "number",
        "view_records": "record_id",
        "view_volunteer_fields": "number, field",
        "view_volunteer_org_years": "number, org_id, year",
        "view_volunteer_stars": "number, scheme_id",
        "view_volunteer_honours": "honour_id",
    },
    records=RECORDS,
)


@VIEW.on("VolunteerRegistered")
def registered(cursor: ViewCursor, event: ProjectedEvent) -> None:
    put(
        cursor,
        "view_volunteers",
        {"number": event.data["number"]},
        {"registered_by": event.org, "registered_at": event.occurred_at},
    )


@VIEW.on("HoursRecorded")
def recorded(cursor: ViewCursor, event: ProjectedEvent) -> None:
    data = event.data
    RECORDS.record(
        cursor,
        data["record_id"],
        {
            "number": data["number"],
            "org_id": event.org,
            "activity_id": data["activity_id"],
            "field": data["field"],
            "service_date": data["service_date"],
            "minutes": data["minutes"],
            "late": int(data["late"]),
        },
    )
    bump(
        cursor,
        "view_volunteers",
        {"number": data["number"]},
        {"records": 1, "late_records": int(data["late"])},
    )


@VIEW.on(*REVIEW_EVENTS)
def reviewed(cursor: ViewCursor, event: ProjectedEvent) -> None:
    moved = RECORDS.review(cursor, event)
    if moved is None:
        return
    (number, org_id, field, service_date), delta, approved_change = moved
    bump(
        cursor,
        "view_volunteers",
        {"number": number},
        {"approved_minutes": delta, "approved_records": approved_change},
    )
    if delta:
        add(cursor, "view_volunteer_fields", {"number": number, "field": field}, {"minutes": delta})
        add(
            cursor,
            "view_volunteer_org_years",
            {"number": number, "org_id": org_id, "year": service_date[:4]},
            {"minutes": delta},
        )


@VIEW.on("StarAttained", "StarWithdrawn")
def star(cursor: ViewCursor, event: ProjectedEvent) -> None:
    level = event.data["level"] - (event.type == "StarWithdrawn")
    put(
        cursor,
        "view_volunteer_stars",
        {"number": event.data["number"], "scheme_id": event.data["scheme_id"]},
        {"level": level},
    )


@VIEW.on("HonourGranted", "OrganisationHonourGranted")
def honour_granted(cursor: ViewCursor, event: ProjectedEvent) -> None:
    data = event.data
    put(
        cursor,
        "view_volunteer_honours",
        {"honour_id": data["honour_id"]},
        {
            "recipient": data["recipient"],
            "honour": data["honour"],
            "granted_by": event.org,
            "granted_on": data["granted_on"],
            "revoked": 0,
        },
    )


@VIEW.on("HonourRevoked", "OrganisationHonourRevoked")
def honour_revoked(cursor: ViewCursor, event: ProjectedEvent) -> None:
    cursor.execute(
        "UPDATE view_volunteer_honours SET revoked = 1 WHERE honour_id = ?",
        [event.data["honour_id"]],
    )
