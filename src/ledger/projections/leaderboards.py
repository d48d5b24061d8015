"""Leaderboards, maintained: each volunteer's approved minutes per year and per part of the
organisation tree, and each organisation's approved minutes rolled up its subtree, kept as rows
with an index on the ranking, so a top-N page is an index range scan whatever the city's size.

A record's credit change (approval, correction, rejection, void) adds the change to the
volunteer's row for every (year, scope) the record counts in: the year of its service date and
all years (``ALL``), the recording organisation, each of its ancestors and the whole city
(``ALL``); and to the rolled-up figure of the recording organisation and each ancestor. The hours
stay with the organisation that recorded them, so a transfer moves nothing here.
"""

from __future__ import annotations

from .base import REVIEW_EVENTS, ProjectedEvent, View, credit_after
from .database import ViewCursor

ALL = ""
"""The year, or the scope, that stands for every year, or the whole city (no organisation id and
no year is empty)."""

VIEW = View(
    name="leaderboards",
    tables={
        "view_rank_records": "record_id TEXT PRIMARY KEY, number TEXT NOT NULL, "
        "org_id TEXT NOT NULL, year TEXT NOT NULL, status TEXT NOT NULL, "
        "credited BIGINT NOT NULL",
        "view_rank_org_tree": "org_id TEXT NOT NULL, scope TEXT NOT NULL, "
        "PRIMARY KEY (org_id, scope)",
        "view_rank_volunteers": "year TEXT NOT NULL, scope TEXT NOT NULL, number TEXT NOT NULL, "
        "minutes BIGINT NOT NULL, PRIMARY KEY (year, scope, number)",
        "view_rank_organisations": "org_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "minutes BIGINT NOT NULL",
    },
    keys={
        "view_rank_records": "record_id",
        "view_rank_org_tree": "org_id, scope",
        "view_rank_volunteers": "year, scope, number",
        "view_rank_organisations": "org_id",
    },
    indexes={
        "view_rank_volunteers_by_minutes": "view_rank_volunteers "
        "(year, scope, minutes DESC, number)",
        "view_rank_organisations_by_minutes": "view_rank_organisations (minutes DESC, org_id)",
        "view_rank_organisations_by_kind": "view_rank_organisations (kind, minutes DESC, org_id)",
    },
)


def _register(cursor: ViewCursor, org_id: str, kind: str, parent: str | None) -> None:
    """The organisation's scopes: itself, the whole city, and its parent's scopes (an
    organisation's place in the tree is fixed when it is registered)."""
    cursor.execute(
        "INSERT INTO view_rank_organisations (org_id, kind, minutes) VALUES (?, ?, 0) "
        "ON CONFLICT (org_id) DO NOTHING",
        [org_id, kind],
    )
    cursor.executemany(
        "INSERT INTO view_rank_org_tree (org_id, scope) VALUES (?, ?) "
        "ON CONFLICT (org_id, scope) DO NOTHING",
        [(org_id, org_id), (org_id, ALL)],
    )
    if parent is not None:
        cursor.execute(
            "INSERT INTO view_rank_org_tree (org_id, scope) SELECT ?, scope "
            "FROM view_rank_org_tree WHERE org_id = ? ON CONFLICT (org_id, scope) DO NOTHING",
            [org_id, parent],
        )


@VIEW.on("LedgerCreated")
def created(cursor: ViewCursor, event: ProjectedEvent) -> None:
    root = event.data["root"]
    _register(cursor, root["org_id"], root["kind"], None)


@VIEW.on("OrganisationRegistered")
def organisation(cursor: ViewCursor, event: ProjectedEvent) -> None:
    data = event.data
    _register(cursor, data["org_id"], data["kind"], data["parent"])


@VIEW.on("HoursRecorded")
def recorded(cursor: ViewCursor, event: ProjectedEvent) -> None:
    data = event.data
    cursor.execute(
        "INSERT INTO view_rank_records (record_id, number, org_id, year, status, credited) "
        "VALUES (?, ?, ?, ?, 'recorded', 0) ON CONFLICT (record_id) DO NOTHING",
        [data["record_id"], data["number"], event.org, data["service_date"][:4]],
    )


@VIEW.on(*REVIEW_EVENTS)
def reviewed(cursor: ViewCursor, event: ProjectedEvent) -> None:
    record_id = event.data["record_id"]
    row = cursor.one(
        "SELECT credited, number, org_id, year FROM view_rank_records WHERE record_id = ?",
        [record_id],
    )
    if row is None:
        return
    current, number, org_id, year = row
    credit, status = credit_after(event, current)
    cursor.execute(
        "UPDATE view_rank_records SET credited = ?, status = ? WHERE record_id = ?",
        [credit, status, record_id],
    )
    delta = credit - current
    if not delta:
        return
    for in_year in (ALL, year):
        cursor.execute(
            "INSERT INTO view_rank_volunteers (year, scope, number, minutes) "
            "SELECT ?, scope, ?, ? FROM view_rank_org_tree WHERE org_id = ? "
            "ON CONFLICT (year, scope, number) DO UPDATE "
            "SET minutes = view_rank_volunteers.minutes + excluded.minutes",
            [in_year, number, delta, org_id],
        )
    cursor.execute(
        "UPDATE view_rank_organisations SET minutes = minutes + ? WHERE org_id IN "
        "(SELECT scope FROM view_rank_org_tree WHERE org_id = ?)",
        [delta, org_id],
    )
