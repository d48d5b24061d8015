"""What a view is: its tables, and a handler per event type that updates them."""

from __future__ import annotations

from collections.abc import Callable
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


@dataclass
class View:
    name: str
    tables: dict[str, str]  # table name -> column definitions (portable SQL)
    keys: dict[str, str]  # table name -> ORDER BY for the digest
    handlers: dict[str, Handler] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # index name -> "table (columns)"

    def create(self, cursor: ViewCursor, *, if_not_exists: bool = True) -> None:
        """Create the view's tables and indexes."""
        guard = " IF NOT EXISTS" if if_not_exists else ""
        for table, columns in self.tables.items():
            cursor.execute(f"CREATE TABLE{guard} {table} ({columns})")
        for index, target in self.indexes.items():
            cursor.execute(f"CREATE INDEX{guard} {index} ON {target}")

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_type in event_types:
                self.handlers[event_type] = handler
            return handler

        return register


def add(cursor: ViewCursor, table: str, keys: dict[str, Any], values: dict[str, int]) -> None:
    """Insert a row, or add ``values`` to the existing row's columns."""
    columns = [*keys, *values]
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}",
        [*keys.values(), *values.values()],
    )


def put(cursor: ViewCursor, table: str, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert a row, or replace the existing row's ``values``."""
    columns = [*keys, *values]
    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
    action = f"DO UPDATE SET {updates}" if values else "DO NOTHING"
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) {action}",
        [*keys.values(), *values.values()],
    )


def record_credit(
    cursor: ViewCursor,
    table: str,
    record_id: str,
    credit: int | None,
    status: str,
    columns: str,
) -> tuple[tuple[Any, ...], int, int] | None:
    """Set a record's credited minutes in a view's own record table.

    ``credit`` None means "add nothing, keep the credit" is not used; pass the new total.
    Returns (the record's ``columns``, the change in credit, the change in approved count).
    """
    row = cursor.one(
        f"SELECT credited, status, {columns} FROM {table} WHERE record_id = ?", [record_id]
    )
    if row is None:
        return None
    old_credit, old_status, *rest = row
    new_credit = old_credit if credit is None else credit
    cursor.execute(
        f"UPDATE {table} SET credited = ?, status = ? WHERE record_id = ?",
        [new_credit, status, record_id],
    )
    approved = int(status == "approved") - int(old_status == "approved")
    return tuple(rest), new_credit - old_credit, approved


def credit_after(event: ProjectedEvent, current: int) -> tuple[int, str]:
    """The record's credited minutes and status after a review, correction or void."""
    if event.type == "RecordApproved":
        return event.data["approved_minutes"], "approved"
    if event.type == "RecordCorrected":
        return current + event.data["delta_minutes"], "approved"
    return 0, "rejected" if event.type == "RecordRejected" else "voided"


REVIEW_EVENTS = ("RecordApproved", "RecordCorrected", "RecordRejected", "RecordVoided")
