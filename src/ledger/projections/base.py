"""What a view is: its tables, and a handler per event type that updates them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .database import ViewCursor


@dataclass(frozen=True)
class ProjectedEvent:
    """What views read of an event (they are derived data: never signed, never trusted)."""

    type: str
    org: str
    data: dict[str, Any]
    occurred_at: str
    position: int


Handler = Callable[[ViewCursor, ProjectedEvent], None]
BatchHandler = Callable[[ViewCursor, Sequence[ProjectedEvent]], None]


@dataclass
class View:
    name: str
    tables: dict[str, str]  # table name -> column definitions (portable SQL)
    keys: dict[str, str]  # table name -> ORDER BY for the digest
    handlers: dict[str, Handler] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # index name -> "table (columns)"
    records: RecordStandings | None = None
    """The view's own table of record standings, read for a whole batch before it applies."""
    batch_handler: BatchHandler | None = None
    """When set, applies a whole batch of events (in order) in place of ``handlers``: a view
    whose events touch the same rows again and again sums them first and writes each row once.
    The rows it leaves must not depend on where one batch ends and the next begins."""

    def create(self, cursor: ViewCursor, *, if_not_exists: bool = True) -> None:
        """Create the view's tables and indexes."""
        guard = " IF NOT EXISTS" if if_not_exists else ""
        for table, columns in self.tables.items():
            cursor.execute(f"CREATE TABLE{guard} {table} ({columns})")
        for index, target in self.indexes.items():
            cursor.execute(f"CREATE INDEX{guard} {index} ON {target}")

    def apply(self, cursor: ViewCursor, events: Sequence[ProjectedEvent]) -> None:
        """Apply ``events``, in order, to this view's tables."""
        if self.batch_handler is not None:
            self.batch_handler(cursor, events)
            return
        if self.records is not None:
            self.records.prefetch(cursor, events)
        for event in events:
            handler = self.handlers.get(event.type)
            if handler is not None:
                handler(cursor, event)

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                self.handlers[event_type] = handler
            return handler

        return register


def add(cursor: ViewCursor, table: str, keys: dict[str, Any], values: dict[str, int]) -> None:
    """Insert a row, or add ``values`` to the existing row's columns."""
    cursor.execute(
        _upsert(table, tuple(keys), tuple(values), adding=True),
        [*keys.values(), *values.values()],
    )


def put(cursor: ViewCursor, table: str, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert a row, or replace the existing row's ``values``."""
    cursor.execute(
        _upsert(table, tuple(keys), tuple(values), adding=False),
        [*keys.values(), *values.values()],
    )


@functools.cache
def _upsert(table: str, keys: tuple[str, ...], values: tuple[str, ...], *, adding: bool) -> str:
    """The statement of :func:`add` or :func:`put` (made once per table and columns)."""
    columns = [*keys, *values]
    if adding:
        action = "DO UPDATE SET " + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values)
    elif values:
        action = "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in values)
    else:
        action = "DO NOTHING"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) {action}"
    )


READ_CHUNK = 500  # record ids per query, well under SQLite's limit on parameters


@dataclass(frozen=True)
class RecordStandings:
    """A view's own table of each record's standing (``credited``, ``status``) and the
    ``columns`` its review handler needs.

    A view's batch reads the standings its reviews need in one query per ``READ_CHUNK`` ids
    (:meth:`prefetch`) and keeps each row it reads or writes for the rest of its transaction,
    in the cursor's ``memo``: a review reads no row alone, which on PostgreSQL would wait for
    a round trip of its own. Every change to the table goes through these methods, so what is
    kept is what the table holds."""

    table: str
    columns: tuple[str, ...]

    def _kept(self, cursor: ViewCursor) -> dict[str, list[Any] | None]:
        kept: dict[str, list[Any] | None] = cursor.memo.setdefault(self.table, {})
        return kept

    def record(self, cursor: ViewCursor, record_id: str, values: dict[str, Any]) -> None:
        """A record as recorded: its row (``values`` must hold ``columns``), nothing credited."""
        put(
            cursor,
            self.table,
            {"record_id": record_id},
            {**values, "credited": 0, "status": "recorded"},
        )
        self._kept(cursor)[record_id] = [0, "recorded", *(values[c] for c in self.columns)]

    def prefetch(self, cursor: ViewCursor, events: Sequence[ProjectedEvent]) -> None:
        """Read the rows of the records ``events`` review that this transaction has not."""
        kept = self._kept(cursor)
        wanted = sorted(
            {e.data["record_id"] for e in events if e.type in REVIEW_EVENTS} - kept.keys()
        )
        for start in range(0, len(wanted), READ_CHUNK):
            part = wanted[start : start + READ_CHUNK]
            kept.update(dict.fromkeys(part))  # None: no such record
            for record_id, *row in cursor.rows(
                f"SELECT record_id, credited, status, {', '.join(self.columns)} "
                f"FROM {self.table} WHERE record_id IN ({', '.join('?' * len(part))})",
                part,
            ):
                kept[record_id] = row

    def review(
        self, cursor: ViewCursor, event: ProjectedEvent
    ) -> tuple[tuple[Any, ...], int, int] | None:
        """Apply a review, correction or void to the record's row.

        Returns (the record's ``columns``, the change in credit, the change in approved
        count), or None when the view holds no such record.
        """
        record_id = event.data["record_id"]
        kept = self._kept(cursor)
        if record_id not in kept:  # not prefetched (a view applied one event at a time)
            found = cursor.one(
                f"SELECT credited, status, {', '.join(self.columns)} "
                f"FROM {self.table} WHERE record_id = ?",
                [record_id],
            )
            kept[record_id] = None if found is None else list(found)
        row = kept[record_id]
        if row is None:
            return None
        old_credit, old_status = row[0], row[1]
        credit, status = credit_after(event, old_credit)
        cursor.execute(
            f"UPDATE {self.table} SET credited = ?, status = ? WHERE record_id = ?",
            [credit, status, record_id],
        )
        row[0], row[1] = credit, status
        approved = int(status == "approved") - int(old_status == "approved")
        return tuple(row[2:]), credit - old_credit, approved


def credit_after(event: ProjectedEvent, current: int) -> tuple[int, str]:
    """The record's credited minutes and status after a review, correction or void."""
    if event.type == "RecordApproved":
        return event.data["approved_minutes"], "approved"
    if event.type == "RecordCorrected":
        return current + event.data["delta_minutes"], "approved"
    return 0, "rejected" if event.type == "RecordRejected" else "voided"


REVIEW_EVENTS = ("RecordApproved", "RecordCorrected", "RecordRejected", "RecordVoided")
