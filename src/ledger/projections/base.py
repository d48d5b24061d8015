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


def review_record(
    cursor: ViewCursor, table: str, event: ProjectedEvent, columns: str
) -> tuple[tuple[Any, ...], int, int] | None:
    """Apply a review, correction or void to the record's row in a view's own record table.

    Returns (the record's ``columns``, the change in credit, the change in approved count), or
    None when the view holds no such record.
    """
    record_id = event.data["record_id"]
    row = cursor.one(
        f"SELECT credited, status, {columns} FROM {table} WHERE record_id = ?", [record_id]
    )
    if row is None:
        return None
    old_credit, old_status, *rest = row
    credit, status = credit_after(event, old_credit)
    cursor.execute(
        f"UPDATE {table} SET credited = ?, status = ? WHERE record_id = ?",
        [credit, status, record_id],
    )
    approved = int(status == "approved") - int(old_status == "approved")
    return tuple(rest), credit - old_credit, approved


def credit_after(event: ProjectedEvent, current: int) -> tuple[int, str]:
    """The record's credited minutes and status after a review, correction or void."""
    if event.type == "RecordApproved":
        return event.data["approved_minutes"], "approved"
    if event.type == "RecordCorrected":
        return current + event.data["delta_minutes"], "approved"
    return 0, "rejected" if event.type == "RecordRejected" else "voided"


REVIEW_EVENTS = ("RecordApproved", "RecordCorrected", "RecordRejected", "RecordVoided")
