"""Organisation figures, per organisation and rolled up its tree through a closure table:
volunteers registered and active, members now, activities held, records, approved minutes,
people served, transfers in and out."""

from __future__ import annotations

from .base import REVIEW_EVENTS, ProjectedEvent, RecordStandings, View
from .batch_writes import add, bump, put
from .database import ViewCursor

RECORDS = RecordStandings("view_org_records", ("org_id", "number"))
VIEW = View(
    name="organisations",
    tables={
        "view_organisations": "org_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
        "region TEXT NOT NULL, parent TEXT, registered_volunteers BIGINT NOT NULL DEFAULT 0, "
        "activities BIGINT NOT NULL DEFAULT 0, people_served BIGINT NOT NULL DEFAULT 0, "
        "records BIGINT NOT NULL DEFAULT 0, approved_minutes BIGINT NOT NULL DEFAULT 0, "
        "transfers_in BIGINT NOT NULL DEFAULT 0, transfers_out BIGINT NOT NULL DEFAULT 0",
        "view_org_tree": "org_id TEXT NOT NULL, ancestor_id TEXT NOT NULL, "
        "PRIMARY KEY (org_id, ancestor_id)",
        "view_memberships": "number TEXT NOT NULL, org_id TEXT NOT NULL, "
        "PRIMARY KEY (number, org_id)",
        "view_org_records": "record_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
        "number TEXT NOT NULL, credited BIGINT NOT NULL, status TEXT NOT NULL",
        "view_org_active": "org_id TEXT NOT NULL, number TEXT NOT NULL, "
        "approved_records BIGINT NOT NULL, PRIMARY KEY (org_id, number)",
        "view_org_activities": "activity_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
        "people_served BIGINT NOT NULL, cancelled INTEGER NOT NULL",
        "view_transfers": "transfer_id TEXT PRIMARY KEY, number TEXT NOT NULL, "
        "from_org TEXT NOT NULL, to_org TEXT NOT NULL, status TEXT NOT NULL",
    },
    keys={
        "view_organisations": "org_id",
        "view_org_tree": "org_id, ancestor_id",
        "view_memberships": "number, org_id",
        "view_org_records": "record_id",
        "view_org_active": "org_id, number",
        "view_org_activities": "activity_id",
        "view_transfers": "transfer_id",
    },
    records=RECORDS,
)


def _count(cursor: ViewCursor, org_id: str, column: str, by: int = 1) -> None:
    bump(cursor, "view_organisations", {"org_id": org_id}, {column: by})


def _register(cursor: ViewCursor, org_id: str, data: dict[str, str], parent: str | None) -> None:
    put(
        cursor,
        "view_organisations",
        {"org_id": org_id},
        {"name": data["name"], "kind": data["kind"], "region": data["region"], "parent": parent},
    )
    put(cursor, "view_org_tree", {"org_id": org_id, "ancestor_id": org_id}, {})
    if parent is not None:
        cursor.execute(
            "INSERT INTO view_org_tree (org_id, ancestor_id) SELECT ?, ancestor_id "
            "FROM view_org_tree WHERE org_id = ? ON CONFLICT (org_id, ancestor_id) DO NOTHING",
            [org_id, parent],
        )


@VIEW.on("LedgerCreated")
def created(cursor: ViewCursor, event: ProjectedEvent) -> None:
    root = event.data["root"]
    _register(cursor, root["org_id"], root, None)


@VIEW.on("OrganisationRegistered")
def organisation(cursor: ViewCursor, event: ProjectedEvent) -> None:
    _register(cursor, event.data["org_id"], event.data, event.data["parent"])


@VIEW.on("VolunteerRegistered")
def volunteer(cursor: ViewCursor, event: ProjectedEvent) -> None:
    _count(cursor, event.org, "registered_volunteers")
    put(cursor, "view_memberships", {"number": event.data["number"], "org_id": event.org}, {})


@VIEW.on("MembershipJoined")
def joined(cursor: ViewCursor, event: ProjectedEvent) -> None:
    put(
        cursor,
        "view_memberships",
        {"number": event.data["number"], "org_id": event.data["org_id"]},
        {},
    )


@VIEW.on("MembershipLeft")
def left(cursor: ViewCursor, event: ProjectedEvent) -> None:
    cursor.execute(
        "DELETE FROM view_memberships WHERE number = ? AND org_id = ?",
        [event.data["number"], event.data["org_id"]],
    )


@VIEW.on("TransferRequested")
def transfer_requested(cursor: ViewCursor, event: ProjectedEvent) -> None:
    data = event.data
    put(
        cursor,
        "view_transfers",
        {"transfer_id": data["transfer_id"]},
        {
            "number": data["number"],
            "from_org": data["from_org"],
            "to_org": data["to_org"],
            "status": "requested",
        },
    )


@VIEW.on("TransferAccepted", "TransferDeclined")
def transfer_answered(cursor: ViewCursor, event: ProjectedEvent) -> None:
    accepted = event.type == "TransferAccepted"
    cursor.execute(
        "UPDATE view_transfers SET status = ? WHERE transfer_id = ?",
        ["accepted" if accepted else "declined", event.data["transfer_id"]],
    )
    row = cursor.one(
        "SELECT number, from_org, to_org FROM view_transfers WHERE transfer_id = ?",
        [event.data["transfer_id"]],
    )
    if not accepted or row is None:
        return
    number, from_org, to_org = row
    cursor.execute(
        "DELETE FROM view_memberships WHERE number = ? AND org_id = ?", [number, from_org]
    )
    put(cursor, "view_memberships", {"number": number, "org_id": to_org}, {})
    _count(cursor, from_org, "transfers_out")
    _count(cursor, to_org, "transfers_in")


@VIEW.on("ActivityPublished")
def activity(cursor: ViewCursor, event: ProjectedEvent) -> None:
    served = event.data.get("people_served") or 0
    put(
        cursor,
        "view_org_activities",
        {"activity_id": event.data["activity_id"]},
        {"org_id": event.org, "people_served": served, "cancelled": 0},
    )
    _count(cursor, event.org, "activities")
    _count(cursor, event.org, "people_served", served)


@VIEW.on("ActivityCancelled")
def activity_cancelled(cursor: ViewCursor, event: ProjectedEvent) -> None:
    """A cancelled activity was not held: it leaves the counts."""
    row = cursor.one(
        "SELECT org_id, people_served FROM view_org_activities "
        "WHERE activity_id = ? AND cancelled = 0",
        [event.data["activity_id"]],
    )
    if row is None:
        return
    cursor.execute(
        "UPDATE view_org_activities SET cancelled = 1 WHERE activity_id = ?",
        [event.data["activity_id"]],
    )
    _count(cursor, row[0], "activities", -1)
    _count(cursor, row[0], "people_served", -row[1])


@VIEW.on("HoursRecorded")
def recorded(cursor: ViewCursor, event: ProjectedEvent) -> None:
    _count(cursor, event.org, "records")
    RECORDS.record(
        cursor, event.data["record_id"], {"org_id": event.org, "number": event.data["number"]}
    )


@VIEW.on(*REVIEW_EVENTS)
def reviewed(cursor: ViewCursor, event: ProjectedEvent) -> None:
    moved = RECORDS.review(cursor, event)
    if moved is None:
        return
    (org_id, number), delta, approved_change = moved
    _count(cursor, org_id, "approved_minutes", delta)
    if approved_change:
        add(
            cursor,
            "view_org_active",
            {"org_id": org_id, "number": number},
            {"approved_records": approved_change},
        )
