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

from collections.abc import Sequence

from .base import REVIEW_EVENTS, ProjectedEvent, View, credit_after
from .batch_writes import update_rows, upsert_rows
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


def apply_batch(cursor: ViewCursor, events: Sequence[ProjectedEvent]) -> None:
    """Apply a batch: the records it touches are read in one query, the credit changes are
    summed per ranking row, and each row is written once. The rows left are the ones applying
    the events one at a time leaves: a row is made by the first non-zero change it receives,
    even if later changes in the batch bring it back to zero."""
    batch = _Batch(cursor, events)
    for event in events:
        if event.type == "LedgerCreated":
            root = event.data["root"]
            batch.register(root["org_id"], root["kind"], None)
        elif event.type == "OrganisationRegistered":
            data = event.data
            batch.register(data["org_id"], data["kind"], data["parent"])
        elif event.type == "HoursRecorded":
            batch.record(event)
        elif event.type in REVIEW_EVENTS:
            batch.review(event)
    batch.write()


VIEW.batch_handler = apply_batch


class _Record:
    """A record's row in ``view_rank_records`` while a batch is applied."""

    __slots__ = ("changed", "credited", "new", "number", "org_id", "status", "year")

    def __init__(
        self, number: str, org_id: str, year: str, status: str, credited: int, *, new: bool
    ) -> None:
        self.number, self.org_id, self.year = number, org_id, year
        self.status, self.credited = status, credited
        self.new, self.changed = new, False


class _Batch:
    def __init__(self, cursor: ViewCursor, events: Sequence[ProjectedEvent]) -> None:
        self._cursor = cursor
        self._records = self._stored_records(events)
        self._scopes = self._stored_scopes(
            {r.org_id for r in self._records.values()}
            | {e.org for e in events if e.type == "HoursRecorded"}
        )
        self._volunteers: dict[tuple[str, str, str], int] = {}
        self._organisations: dict[str, int] = {}

    def _stored_records(self, events: Sequence[ProjectedEvent]) -> dict[str, _Record]:
        ids = sorted(
            {
                e.data["record_id"]
                for e in events
                if e.type == "HoursRecorded" or e.type in REVIEW_EVENTS
            }
        )
        found = {}
        for chunk in _chunks(ids):
            for record_id, number, org_id, year, status, credited in self._cursor.rows(
                "SELECT record_id, number, org_id, year, status, credited FROM view_rank_records "
                f"WHERE record_id IN ({_marks(chunk)})",
                chunk,
            ):
                found[record_id] = _Record(number, org_id, year, status, credited, new=False)
        return found

    def _stored_scopes(self, org_ids: set[str]) -> dict[str, list[str]]:
        scopes: dict[str, list[str]] = {}
        for chunk in _chunks(sorted(org_ids)):
            for org_id, scope in self._cursor.rows(
                f"SELECT org_id, scope FROM view_rank_org_tree WHERE org_id IN ({_marks(chunk)})",
                chunk,
            ):
                scopes.setdefault(org_id, []).append(scope)
        return scopes

    def _scopes_of(self, org_id: str) -> list[str]:
        if org_id not in self._scopes:
            self._scopes[org_id] = [
                scope
                for (scope,) in self._cursor.rows(
                    "SELECT scope FROM view_rank_org_tree WHERE org_id = ?", [org_id]
                )
            ]
        return self._scopes[org_id]

    def register(self, org_id: str, kind: str, parent: str | None) -> None:
        _register(self._cursor, org_id, kind, parent)
        self._scopes.pop(org_id, None)

    def record(self, event: ProjectedEvent) -> None:
        data = event.data
        if data["record_id"] not in self._records:
            self._records[data["record_id"]] = _Record(
                data["number"], event.org, data["service_date"][:4], "recorded", 0, new=True
            )

    def review(self, event: ProjectedEvent) -> None:
        record = self._records.get(event.data["record_id"])
        if record is None:
            return
        current = record.credited
        record.credited, record.status = credit_after(event, current)
        record.changed = True
        delta = record.credited - current
        if not delta:
            return
        for scope in self._scopes_of(record.org_id):
            for year in (ALL, record.year):
                key = (year, scope, record.number)
                self._volunteers[key] = self._volunteers.get(key, 0) + delta
            if scope != ALL:
                self._organisations[scope] = self._organisations.get(scope, 0) + delta

    def write(self) -> None:
        """Each row once, set-wise (:mod:`ledger.projections.batch_writes`)."""
        cursor = self._cursor
        upsert_rows(
            cursor,
            "view_rank_records",
            ("record_id",),
            ("number", "org_id", "year", "status", "credited"),
            [
                (i, r.number, r.org_id, r.year, r.status, r.credited)
                for i, r in self._records.items()
                if r.new
            ],
            existing="keep",
        )
        update_rows(
            cursor,
            "view_rank_records",
            ("record_id",),
            ("credited", "status"),
            [
                (i, r.credited, r.status)
                for i, r in self._records.items()
                if r.changed and not r.new
            ],
            adding=False,
        )
        upsert_rows(
            cursor,
            "view_rank_volunteers",
            ("year", "scope", "number"),
            (),
            [(*key, minutes) for key, minutes in sorted(self._volunteers.items())],
            existing="keep",
            adds=("minutes",),
        )
        update_rows(
            cursor,
            "view_rank_organisations",
            ("org_id",),
            ("minutes",),
            [(org_id, m) for org_id, m in sorted(self._organisations.items()) if m],
            adding=True,
        )


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _marks(values: list[str]) -> str:
    return ", ".join("?" * len(values))
