"""What a view is: its tables, and a handler per event type that updates them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .batch_writes import MEMO_KEY, TABLE_COLUMNS, update_rows, upsert_rows
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

    def __post_init__(self) -> None:
        TABLE_COLUMNS.update(self.tables)

    def create(self, cursor: ViewCursor, *, if_not_exists: bool = True) -> None:
        """Create the view's tables and indexes."""
        guard = " IF NOT EXISTS" if if_not_exists else ""
        for table, columns in self.tables.items():
            cursor.execute(f"CREATE TABLE{guard} {table} ({columns})")
        for index, target in self.indexes.items():
            cursor.execute(f"CREATE INDEX{guard} {index} ON {target}")

    def apply(self, cursor: ViewCursor, events: Sequence[ProjectedEvent]) -> None:
        """Apply ``events``, in order, to this view's tables, and write what the batch kept
        (:mod:`ledger.projections.batch_writes`)."""
        if self.batch_handler is not None:
            self.batch_handler(cursor, events)
            return
        if self.records is not None:
            self.records.prefetch(cursor, events)
        for event in events:
            handler = self.handlers.get(event.type)
            if handler is not None:
                handler(cursor, event)
        if self.records is not None:
            self.records.flush(cursor)
        writes = cursor.memo.get(MEMO_KEY)
        if writes is not None:
            writes.flush()

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                self.handlers[event_type] = handler
            return handler

        return register


READ_CHUNK = 500  # record ids per query, well under SQLite's limit on parameters


@dataclass(frozen=True)
class RecordStandings:
    """A view's own table of each record's standing (``credited``, ``status``) and the
    ``columns`` its review handler needs.

    A view's batch reads the standings its reviews need in one query per ``READ_CHUNK`` ids
    (:meth:`prefetch`), keeps each row it reads or writes for the rest of its transaction (in
    the cursor's ``memo``), and writes the rows it recorded and the standings it changed once,
    set-wise, when the batch has applied (:meth:`flush`; what a handler called on its own kept
    is written before its transaction commits): a review neither reads nor writes a row alone,
    each of which costs PostgreSQL a statement (a read, a round trip too). Every change to the
    table goes through these methods, so what is kept is what the table holds once the batch
    is written."""

    table: str
    columns: tuple[str, ...]

    def _batch(self, cursor: ViewCursor) -> _StandingsBatch:
        batch = cursor.memo.get(self.table)
        if batch is None:
            batch = cursor.memo[self.table] = _StandingsBatch()
            cursor.before_commit.append(functools.partial(self.flush, cursor))
        assert isinstance(batch, _StandingsBatch)
        return batch

    def record(self, cursor: ViewCursor, record_id: str, values: dict[str, Any]) -> None:
        """A record as recorded: its row (``values`` must hold ``columns``), nothing credited."""
        batch = self._batch(cursor)
        batch.recorded[record_id] = {**values, "credited": 0, "status": "recorded"}
        batch.kept[record_id] = [0, "recorded", *(values[c] for c in self.columns)]

    def prefetch(self, cursor: ViewCursor, events: Sequence[ProjectedEvent]) -> None:
        """Read the rows of the records ``events`` review that this transaction has not."""
        kept = self._batch(cursor).kept
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
        batch = self._batch(cursor)
        if record_id not in batch.kept:  # not prefetched (a handler called on its own)
            self.flush(cursor)
            found = cursor.one(
                f"SELECT credited, status, {', '.join(self.columns)} "
                f"FROM {self.table} WHERE record_id = ?",
                [record_id],
            )
            batch.kept[record_id] = None if found is None else list(found)
        row = batch.kept[record_id]
        if row is None:
            return None
        old_credit, old_status = row[0], row[1]
        credit, status = credit_after(event, old_credit)
        row[0], row[1] = credit, status
        recorded = batch.recorded.get(record_id)
        if recorded is None:
            batch.reviewed[record_id] = (credit, status)
        else:
            recorded["credited"], recorded["status"] = credit, status
        approved = int(status == "approved") - int(old_status == "approved")
        return tuple(row[2:]), credit - old_credit, approved

    def flush(self, cursor: ViewCursor) -> None:
        """Write the standings changed and the rows recorded since the last flush: the changed
        standings first, as a row recorded again replaces the whole row."""
        batch = self._batch(cursor)
        update_rows(
            cursor,
            self.table,
            ("record_id",),
            ("credited", "status"),
            [(record_id, *standing) for record_id, standing in batch.reviewed.items()],
            adding=False,
        )
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for record_id, values in batch.recorded.items():
            by_columns.setdefault(tuple(values), []).append((record_id, *values.values()))
        for columns, rows in by_columns.items():
            upsert_rows(cursor, self.table, ("record_id",), columns, rows, existing="replace")
        batch.reviewed.clear()
        batch.recorded.clear()


@dataclass
class _StandingsBatch:
    """One transaction's rows of a :class:`RecordStandings` table: those read or written
    (``kept``: credited, status and the columns; None for a record the table lacks), and those
    not written yet."""

    kept: dict[str, list[Any] | None] = field(default_factory=dict)
    reviewed: dict[str, tuple[int, str]] = field(default_factory=dict)
    recorded: dict[str, dict[str, Any]] = field(default_factory=dict)


def credit_after(event: ProjectedEvent, current: int) -> tuple[int, str]:
    """The record's credited minutes and status after a review, correction or void."""
    if event.type == "RecordApproved":
        return event.data["approved_minutes"], "approved"
    if event.type == "RecordCorrected":
        return current + event.data["delta_minutes"], "approved"
    return 0, "rejected" if event.type == "RecordRejected" else "voided"


REVIEW_EVENTS = ("RecordApproved", "RecordCorrected", "RecordRejected", "RecordVoided")
