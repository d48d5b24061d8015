"""Rows a view's batch changes, kept per row and written once when the batch has applied.

Applying events one statement at a time costs PostgreSQL its work per statement (about 80 µs of
wall clock for a one-row upsert here, pipelined or not), while the same rows kept per key and
written by one statement over arrays cost a tenth of that. So, inside :meth:`View.apply` on
PostgreSQL (SQLite, where a statement costs no round trip and keeping rows would cost more than
it saves, writes each change as it comes, with the same statements):

* :func:`put` (insert a row, or replace its columns), :func:`add` (insert a row, or add to its
  columns, and set others) and :func:`bump` (add to the columns of a row that exists; nothing
  when none does) keep, per table and columns, each row's last values and summed changes, in the
  order the rows were first changed;
* :meth:`BatchWrites.flush` writes each group in one ``INSERT ... SELECT FROM unnest(...)`` or
  ``UPDATE ... FROM unnest(...)`` over arrays;
* a change of another kind, or of other columns, to a table writes what is kept for that table
  first (a bump of a row that does not exist yet changes nothing, even if a put later in the
  batch makes the row), and every other statement, a read too, writes everything kept first.

So the rows left are the rows writing each change as it came leaves, as
``tests/property/projections/test_views_batches.py`` and
``tests/unit/projections/test_batch_writes.py`` check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from .database import ViewCursor

MEMO_KEY = "batch-writes"
TABLE_COLUMNS: dict[str, str] = {}
"""Each view table's column definitions (filled as views are declared), for the array types of
PostgreSQL's set-wise statements."""
_COLUMN = re.compile(r"(\w+) (TEXT|BIGINT|INTEGER)\b")

Group = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""kind (put, add, bump), table, key columns, columns set, columns added to"""


class BatchWrites:
    """What a batch has put, added and bumped: per table, the one group its changes are kept
    in and the rows kept, by row key."""

    def __init__(self, cursor: ViewCursor) -> None:
        self._cursor = cursor
        self._kept: dict[str, tuple[Group, dict[tuple[Any, ...], list[Any]]]] = {}
        self._keeps = cursor.kind == "postgresql"  # SQLite writes each change as it comes
        if self._keeps:
            cursor.before_statement = self.flush
            cursor.before_commit.append(self.flush)

    def change(
        self,
        kind: str,
        table: str,
        keys: dict[str, Any],
        sets: dict[str, Any],
        adds: dict[str, int],
    ) -> None:
        group = (kind, table, tuple(keys), tuple(sets), tuple(adds))
        if not self._keeps:  # a statement costs no round trip: write it now
            self._write(group, [(*keys.values(), *sets.values(), *adds.values())])
            return
        kept_group = self._kept.get(table)
        if kept_group is None or kept_group[0] != group:
            if kept_group is not None:
                self._write_kept(table)
            kept_group = self._kept[table] = (group, {})
        rows = kept_group[1]
        key = tuple(keys.values())
        kept = rows.get(key)
        if kept is None:
            rows[key] = [*sets.values(), *adds.values()]
            return
        kept[: len(sets)] = sets.values()
        for i, value in enumerate(adds.values(), start=len(sets)):
            kept[i] += value

    def flush(self) -> None:
        """Write what is kept for every table and forget it."""
        for table in list(self._kept):
            self._write_kept(table)

    def _write_kept(self, table: str) -> None:
        group, rows = self._kept.pop(table)
        self._write(group, [(*key, *kept) for key, kept in rows.items()])

    def _write(self, group: Group, rows: list[tuple[Any, ...]]) -> None:
        kind, table, keys, sets, adds = group
        if kind == "bump":
            update_rows(self._cursor, table, keys, adds, rows, adding=True)
        else:
            upsert_rows(self._cursor, table, keys, sets, rows, existing="replace", adds=adds)


def batch_writes(cursor: ViewCursor) -> BatchWrites:
    """The cursor's transaction's :class:`BatchWrites`."""
    writes = cursor.memo.get(MEMO_KEY)
    if writes is None:
        writes = cursor.memo[MEMO_KEY] = BatchWrites(cursor)
    assert isinstance(writes, BatchWrites)
    return writes


def put(cursor: ViewCursor, table: str, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert a row, or replace the existing row's ``values`` (when the batch is written)."""
    batch_writes(cursor).change("put", table, keys, values, {})


def add(
    cursor: ViewCursor,
    table: str,
    keys: dict[str, Any],
    values: dict[str, int],
    *,
    sets: dict[str, Any] | None = None,
) -> None:
    """Insert a row, or add ``values`` to the existing row's columns and set its ``sets``
    (when the batch is written)."""
    batch_writes(cursor).change("add", table, keys, sets or {}, values)


def bump(cursor: ViewCursor, table: str, keys: dict[str, Any], values: dict[str, int]) -> None:
    """Add ``values`` to the columns of the row ``keys`` names, if there is one (when the batch
    is written)."""
    batch_writes(cursor).change("bump", table, keys, {}, values)


def upsert_rows(
    cursor: ViewCursor,
    table: str,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    existing: str,
    adds: Sequence[str] = (),
) -> None:
    """Insert each row (``keys``, ``columns`` then ``adds``; no two with the same key), or,
    where one exists, ``replace`` its columns or ``keep`` them as they are, and add to its
    ``adds`` in any case."""
    if not rows:
        return
    set_wise = cursor.kind == "postgresql"
    sql = _upsert(table, tuple(keys), tuple(columns), tuple(adds), existing, set_wise=set_wise)
    if set_wise:
        cursor.write(sql, _columns_of(table, (*keys, *columns, *adds), rows))
    else:
        cursor.write_many(sql, rows)


def update_rows(
    cursor: ViewCursor,
    table: str,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    adding: bool,
) -> None:
    """Add to (``adding``) or set the ``columns`` of the rows that exist with each row's
    ``keys`` (rows given as keys then columns; no two with the same key)."""
    if not rows:
        return
    set_wise = cursor.kind == "postgresql"
    sql = _update(table, tuple(keys), tuple(columns), adding=adding, set_wise=set_wise)
    if set_wise:
        cursor.write(sql, _columns_of(table, (*keys, *columns), rows))
    else:
        width = len(keys)
        cursor.write_many(sql, [(*row[width:], *row[:width]) for row in rows])


@functools.cache
def _upsert(
    table: str,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    adds: tuple[str, ...],
    existing: str,
    *,
    set_wise: bool,
) -> str:
    updates = [f"{c} = excluded.{c}" for c in columns] if existing == "replace" else []
    updates.extend(f"{c} = {table}.{c} + excluded.{c}" for c in adds)
    action = "DO UPDATE SET " + ", ".join(updates) if updates else "DO NOTHING"
    names = [*keys, *columns, *adds]
    rows = (
        f"SELECT * FROM unnest({_arrays(table, names)})"
        if set_wise
        else f"VALUES ({', '.join('?' * len(names))})"
    )
    return (
        f"INSERT INTO {table} ({', '.join(names)}) {rows} ON CONFLICT ({', '.join(keys)}) {action}"
    )


@functools.cache
def _update(
    table: str, keys: tuple[str, ...], columns: tuple[str, ...], *, adding: bool, set_wise: bool
) -> str:
    if set_wise:
        names = [*keys, *columns]
        sets = ", ".join(
            f"{c} = {table}.{c} + u.{c}" if adding else f"{c} = u.{c}" for c in columns
        )
        match = " AND ".join(f"{table}.{k} = u.{k}" for k in keys)
        return (
            f"UPDATE {table} SET {sets} FROM unnest({_arrays(table, names)}) "
            f"AS u({', '.join(names)}) WHERE {match}"
        )
    sets = ", ".join(f"{c} = {c} + ?" if adding else f"{c} = ?" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE {' AND '.join(f'{k} = ?' for k in keys)}"


def _columns_of(table: str, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The rows' values column by column, each column one array parameter. The driver cannot
    send an array of mixed Python types (a number and a text, say): such a column goes as
    text, which PostgreSQL casts to the column's type as it does a value written on its own."""
    columns = [list(values) for values in zip(*rows, strict=True)]
    for i, values in enumerate(columns):
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if len(kinds) > 1:
            text = column_types(TABLE_COLUMNS[table])[names[i]] == "TEXT"
            columns[i] = [None if v is None else _as_text(v, text) for v in values]
    return columns


def _as_text(value: Any, text_column: bool) -> str:
    """``value`` as PostgreSQL would cast it to text (``true``) or to a number (``1``)."""
    if isinstance(value, bool):
        return ("true" if value else "false") if text_column else str(int(value))
    return str(value)


def _arrays(table: str, names: Sequence[str]) -> str:
    types = column_types(TABLE_COLUMNS[table])
    return ", ".join(f"?::{types[name].lower()}[]" for name in names)


@functools.cache
def column_types(definitions: str) -> dict[str, str]:
    """Each column's type (``TEXT``, ``BIGINT`` or ``INTEGER``) in a table's definitions."""
    return dict(_COLUMN.findall(definitions))
