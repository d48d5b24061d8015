"""The SQLite recorder: eventsourcing's, plus the Merkle log and idempotency claims, written in
the same transaction as the events."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from .guard import guard_storage_errors
from .records import (
    FENCE_MOVED,
    SIDE_ROW_TAKEN,
    IdempotencyClaim,
    InsertReceipt,
    LoggedEvent,
    NodeRows,
    ReadsToNewestInTwo,
    extend_log,
    stamp_recorded_at,
    taken_side_row,
)

_EVENT_COLUMNS = (
    "e.rowid AS notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
    "l.leaf_index, n.hash AS leaf_hash"
)
_JOIN_LOG = (
    "LEFT JOIN ledger_log_leaves l ON l.notification_id = e.rowid "
    "LEFT JOIN ledger_log_nodes n ON n.level = 0 AND n.idx = l.leaf_index "
)


_LOG_TOP = "(SELECT MAX(leaf_index) FROM ledger_log_leaves)"
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)  # INSERT ... RETURNING
_CLAIM_AND_SIZE = "INSERT INTO ledger_idempotency VALUES (?,?,?,?)" + (
    f" RETURNING {_LOG_TOP}" if _RETURNING else ""
)


def _size_of(top: int | None) -> int:
    """The log's size from its greatest leaf index."""
    return 0 if top is None else int(top) + 1


class _LogTail(NamedTuple):
    """What this process's last committed insert left at the log's end. The next insert reads
    the log's size under the write lock; when no other writer has moved it, it takes the right
    frontier and the last ``recorded_at`` from here instead of reading them, and skips the
    fence's query when the rows it would search are known to hold no fenced event (it never
    trusts any of this for another size)."""

    size: int  # the log's size after the insert
    frontier: NodeRows  # the tree's right frontier at that size
    last_state: bytes  # the last leaf's event
    last_id: int  # the last notification id the insert took
    fence_topics: tuple[str, ...]  # the topics the fence looked for
    clean_after: int | None  # no event of those topics after this id, up to last_id (None: unknown)


def _fence_known_clean(
    follows: _LogTail | None, fence: int, first_id: int, topics: tuple[str, ...]
) -> bool:
    """Whether the rows between ``fence`` and ``first_id`` are known to hold no event of
    ``topics``: this process's last insert left the log as it is, the new rows follow its
    rows directly, and the rows after ``fence`` up to them were searched or written by it."""
    return (
        follows is not None
        and follows.clean_after is not None
        and follows.fence_topics == topics
        and first_id == follows.last_id + 1
        and fence >= follows.clean_after
    )


@guard_storage_errors
class LedgerRecorder(ReadsToNewestInTwo, SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._select = f"SELECT {_EVENT_COLUMNS} FROM {events_table_name} e {_JOIN_LOG}"
        self._tail: _LogTail | None = None

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS ledger_log_leaves (leaf_index INTEGER PRIMARY KEY, "
            "notification_id INTEGER NOT NULL UNIQUE)",
            "CREATE TABLE IF NOT EXISTS ledger_log_nodes (level INTEGER NOT NULL, "
            "idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS ledger_idempotency (scope TEXT NOT NULL, "
            "key TEXT NOT NULL, "
            "request_hash TEXT NOT NULL, result BLOB NOT NULL, PRIMARY KEY (scope, key)) "
            "WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS ledger_side (namespace TEXT NOT NULL, key TEXT NOT NULL, "
            "value BLOB NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID",
            # Readers of a few event types (the trust directory's key events) seek them by topic
            # instead of scanning every event: a process starts in time proportional to them.
            f"CREATE INDEX IF NOT EXISTS {self.events_table_name}_topic "
            f"ON {self.events_table_name} (topic)",
        ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        tails: list[_LogTail] = []
        ids = super().insert_events(stored_events, log_tail=tails, **kwargs)
        if tails:  # committed: the next insert need not read what this one wrote
            self._tail = tails[-1]
        return ids

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        claim: IdempotencyClaim | None = kwargs.get("claim")
        size: int | None = None
        if claim is not None:  # the claim takes the write lock, and says the log's size
            c.execute(_CLAIM_AND_SIZE, (claim.scope, claim.key, claim.request_hash, claim.result))
            if _RETURNING:
                size = _size_of(c.fetchone()[0])
        receipt: InsertReceipt | None = kwargs.get("receipt")
        clock = kwargs.get("stamp_clock")
        if clock is not None:
            # recorded_at is stamped once this transaction holds SQLite's write lock (taken by
            # its first write), so times follow the log's order across processes.
            if claim is None:
                c.execute("DELETE FROM ledger_side WHERE 0")
            if size is None:
                size = self._log_size(c)
            follows = self._follows(size)
            last = follows.last_state if follows is not None else self._last_state(c)
            stored_events, recorded_at = stamp_recorded_at(stored_events, last, clock)
            if receipt is not None:
                receipt.recorded_at = recorded_at
        ids = list(super()._insert_events(c, stored_events) or [])
        if size is None:
            size = self._log_size(c)
        follows = self._follows(size)
        fence: int | None = kwargs.get("fence")
        topics = tuple(kwargs.get("fence_topics", ()))
        clean_after = None
        if fence is not None and ids:
            clean_after = fence
            if _fence_known_clean(follows, fence, ids[0], topics):
                clean_after = follows.clean_after  # type: ignore[union-attr]
            else:
                c.execute(
                    f"SELECT 1 FROM {self.events_table_name} WHERE rowid > ? AND rowid < ? "
                    f"AND topic IN ({','.join('?' * len(topics))}) LIMIT 1",
                    [fence, ids[0], *topics],
                )
                if c.fetchall():
                    raise IntegrityError(FENCE_MOVED)
            for nid, stored in zip(ids, stored_events, strict=True):
                if stored.topic in topics:
                    clean_after = nid
        known = follows.frontier if follows is not None else None
        rows, frontier = extend_log(
            size,
            lambda coords: self._read_nodes(c, coords, known),
            [s.state for s in stored_events],
        )
        c.executemany(
            "INSERT INTO ledger_log_leaves VALUES (?,?)",
            [(size + i, nid) for i, nid in enumerate(ids)],
        )
        c.executemany("INSERT INTO ledger_log_nodes VALUES (?,?,?)", rows)
        side_rows = kwargs.get("side_rows", ())
        if side_rows:
            # The write lock is held (the events are written): no other writer is between
            # this look and the rows' insert.
            if taken_side_row(side_rows, lambda n, k: self._side_value(c, n, k)):
                raise IntegrityError(SIDE_ROW_TAKEN)
            c.executemany(
                "INSERT OR REPLACE INTO ledger_side VALUES (?,?,?)",
                [(row.namespace, row.key, row.value) for row in side_rows],
            )
        if receipt is not None:
            receipt.notification_ids = ids
            receipt.leaf_indexes = [size + i for i in range(len(ids))]
        tails = kwargs.get("log_tail")
        if tails is not None and frontier is not None and ids:
            tails.append(
                _LogTail(
                    size + len(ids),
                    frontier,
                    stored_events[-1].state,
                    ids[-1],
                    topics,
                    clean_after,
                )
            )
        return ids

    def convert_originator_id(self, originator_id: str) -> UUID | str:
        """A UUID only when spelled as this recorder writes it: 32 lowercase hex digits, the
        text an aggregate's events are read by. ``UUID`` would also take upper case, hyphens or
        braces, so a row whose id was spelled another way, and which no read of its aggregate
        finds, would pass the mapper's and the audit's identity checks; its text is returned
        as stored instead, which those checks refuse."""
        converted = super().convert_originator_id(originator_id)
        if isinstance(converted, UUID) and converted.hex != originator_id:
            return originator_id
        return converted

    def _follows(self, size: int) -> _LogTail | None:
        """This process's last insert, when the log is still the size it left."""
        tail = self._tail
        return tail if tail is not None and tail.size == size else None

    @staticmethod
    def _log_size(c: SQLiteCursor) -> int:
        c.execute(f"SELECT {_LOG_TOP}")
        return _size_of(c.fetchone()[0])

    def _last_state(self, c: SQLiteCursor) -> bytes | None:
        c.execute(
            f"SELECT e.state FROM ledger_log_leaves l JOIN {self.events_table_name} e "
            "ON e.rowid = l.notification_id ORDER BY l.leaf_index DESC LIMIT 1"
        )
        row = c.fetchone()
        return None if row is None else bytes(row[0])

    @staticmethod
    def _read_nodes(
        c: SQLiteCursor, coordinates: Sequence[tuple[int, int]], known: NodeRows | None = None
    ) -> list[bytes]:
        """The hashes of the nodes at ``coordinates``, from ``known`` nodes when they are
        exactly those, else from the store."""
        if not coordinates:
            return []
        if known is not None and [(level, idx) for level, idx, _ in known] == list(coordinates):
            return [digest for _, _, digest in known]
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(coordinates), 400):
            chunk = coordinates[start : start + 400]
            values = ",".join("(?,?)" for _ in chunk)
            params = [v for pair in chunk for v in pair]
            c.execute(
                f"WITH wanted(level, idx) AS (VALUES {values}) "
                "SELECT n.level, n.idx, n.hash FROM wanted w JOIN ledger_log_nodes n "
                "ON n.level = w.level AND n.idx = w.idx",
                params,
            )
            found.update({(row[0], row[1]): bytes(row[2]) for row in c.fetchall()})
        try:
            return [found[pair] for pair in coordinates]
        except KeyError as missing:
            raise IntegrityError(f"Merkle node {missing} is missing from the log") from None

    def _rows_to_events(self, rows: Sequence[Any]) -> list[LoggedEvent]:
        return [
            LoggedEvent(
                id=row["notification_id"],
                originator_id=(
                    None  # type: ignore[arg-type]
                    if row["originator_id"] is None
                    else self.convert_originator_id(row["originator_id"])
                ),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=None if row["state"] is None else bytes(row["state"]),  # type: ignore[arg-type]
                leaf_index=row["leaf_index"],
                leaf_hash=None if row["leaf_hash"] is None else bytes(row["leaf_hash"]),
            )
            for row in rows
        ]

    def _query(self, statement: str, params: Sequence[Any]) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return list(c.fetchall())

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement = self._select + "WHERE e.originator_id=? "
        params: list[Any] = [
            originator_id.hex if isinstance(originator_id, UUID) else originator_id
        ]
        if gt is not None:
            statement += "AND e.originator_version>? "
            params.append(gt)
        if lte is not None:
            statement += "AND e.originator_version<=? "
            params.append(lte)
        statement += "ORDER BY e.originator_version " + ("DESC " if desc else "ASC ")
        if limit is not None:
            statement += "LIMIT ?"
            params.append(limit)
        return self._rows_to_events(self._query(statement, params))

    def select_events_from(
        self, starts: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]:
        """The events of many aggregates, each from a version on (inclusive), in one query
        per 400 aggregates."""
        found: dict[UUID, list[StoredEvent]] = {}
        for begin in range(0, len(starts), 400):
            chunk = starts[begin : begin + 400]
            wanted = ",".join("(?,?)" for _ in chunk)
            statement = (
                f"WITH w(id, v) AS (VALUES {wanted}) "
                + self._select
                + "JOIN w ON e.originator_id = w.id AND e.originator_version >= w.v "
                "ORDER BY e.originator_id, e.originator_version"
            )
            params = [x for i, v in chunk for x in (i.hex, v)]
            for event in self._rows_to_events(self._query(statement, params)):
                found.setdefault(UUID(str(event.originator_id)), []).append(event)
        return found

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[LoggedEvent]:
        clauses: list[str] = []
        params: list[Any] = []
        if start is not None:
            clauses.append("e.rowid>=?" if inclusive_of_start else "e.rowid>?")
            params.append(start)
        if stop is not None:
            clauses.append("e.rowid<=?")
            params.append(stop)
        if topics:
            clauses.append(f"e.topic IN ({','.join('?' * len(topics))})")
            params.extend(topics)
        where = ("WHERE " + " AND ".join(clauses) + " ") if clauses else ""
        params.append(limit)
        statement = f"{self._select}{where}ORDER BY e.rowid LIMIT ?"
        return self._rows_to_events(self._query(statement, params))

    def log_size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return self._log_size(c)

    def read_nodes(self, coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
        with self.datastore.transaction(commit=False) as c:
            return self._read_nodes(c, coordinates)

    def select_leaves(self, start: int, limit: int) -> list[LoggedEvent]:
        statement = (
            f"SELECT {_EVENT_COLUMNS} FROM ledger_log_leaves l "
            f"LEFT JOIN {self.events_table_name} e ON e.rowid = l.notification_id "
            "LEFT JOIN ledger_log_nodes n ON n.level = 0 AND n.idx = l.leaf_index "
            "WHERE l.leaf_index >= ? ORDER BY l.leaf_index LIMIT ?"
        )
        return self._rows_to_events(self._query(statement, [start, limit]))

    def select_leaf_and_nodes(
        self, leaf_index: int, coordinates: Sequence[tuple[int, int]]
    ) -> tuple[LoggedEvent | None, dict[tuple[int, int], bytes]]:
        """Two statements in one read transaction (in process, a round trip costs little)."""
        statement = (
            f"SELECT {_EVENT_COLUMNS} FROM ledger_log_leaves l "
            f"LEFT JOIN {self.events_table_name} e ON e.rowid = l.notification_id "
            "LEFT JOIN ledger_log_nodes n ON n.level = 0 AND n.idx = l.leaf_index "
            "WHERE l.leaf_index = ?"
        )
        nodes: dict[tuple[int, int], bytes] = {}
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [leaf_index])
            found = self._rows_to_events(list(c.fetchall()))
            for start in range(0, len(coordinates), 400):
                chunk = coordinates[start : start + 400]
                values = ",".join("(?,?)" for _ in chunk)
                c.execute(
                    f"WITH wanted(level, idx) AS (VALUES {values}) "
                    "SELECT n.level, n.idx, n.hash FROM wanted w JOIN ledger_log_nodes n "
                    "ON n.level = w.level AND n.idx = w.idx",
                    [v for pair in chunk for v in pair],
                )
                nodes.update({(row[0], row[1]): bytes(row[2]) for row in c.fetchall()})
        return (found[0] if found else None), nodes

    def unlogged_notification_ids(self) -> list[int]:
        """Stored events with no leaf: inserted behind the log's back."""
        rows = self._query(
            f"SELECT e.rowid FROM {self.events_table_name} e LEFT JOIN ledger_log_leaves l "
            "ON l.notification_id = e.rowid WHERE l.leaf_index IS NULL ORDER BY e.rowid",
            [],
        )
        return [int(row[0]) for row in rows]

    def find_claim(self, scope: str, key: str) -> IdempotencyClaim | None:
        rows = self._query(
            "SELECT request_hash, result FROM ledger_idempotency WHERE scope=? AND key=?",
            [scope, key],
        )
        if not rows:
            return None
        return IdempotencyClaim(scope, key, rows[0][0], bytes(rows[0][1]))

    def side_put(self, namespace: str, key: str, value: bytes) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT OR REPLACE INTO ledger_side VALUES (?,?,?)", (namespace, key, value))

    def side_put_many(self, namespace: str, items: Sequence[tuple[str, bytes]]) -> None:
        """Several rows in one transaction (all or none)."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                "INSERT OR REPLACE INTO ledger_side VALUES (?,?,?)",
                [(namespace, key, value) for key, value in items],
            )

    def side_get(self, namespace: str, key: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            return self._side_value(c, namespace, key)

    @staticmethod
    def _side_value(c: Any, namespace: str, key: str) -> bytes | None:
        """A side row's value, read in the transaction of cursor ``c``."""
        c.execute("SELECT value FROM ledger_side WHERE namespace=? AND key=?", (namespace, key))
        row = c.fetchone()
        return bytes(row[0]) if row else None

    def side_delete(self, namespace: str, key: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM ledger_side WHERE namespace=? AND key=?", (namespace, key))

    def side_last(self, namespace: str) -> tuple[str, bytes] | None:
        rows = self._query(
            "SELECT key, value FROM ledger_side WHERE namespace=? ORDER BY key DESC LIMIT 1",
            [namespace],
        )
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def side_items(self, namespace: str) -> list[tuple[str, bytes]]:
        rows = self._query(
            "SELECT key, value FROM ledger_side WHERE namespace=? ORDER BY key", [namespace]
        )
        return [(row[0], bytes(row[1])) for row in rows]

    def side_increment(self, namespace: str, key: str) -> int:
        """One statement under SQLite's write lock: atomic across processes."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO ledger_side VALUES (?,?,CAST('1' AS BLOB)) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = "
                "CAST(CAST(CAST(CAST(value AS TEXT) AS INTEGER) + 1 AS TEXT) AS BLOB)",
                (namespace, key),
            )
            c.execute("SELECT value FROM ledger_side WHERE namespace=? AND key=?", (namespace, key))
            return int(bytes(c.fetchone()[0]))

    def side_delete_before(self, namespace: str, key: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM ledger_side WHERE namespace=? AND key<?", (namespace, key))

    def select_leaf_rows(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """As :meth:`select_leaves`, as plain tuples: no ``sqlite3.Row``, ``UUID`` or
        ``LoggedEvent`` per leaf."""
        statement = (
            "SELECT l.leaf_index, e.rowid, e.originator_id, e.originator_version, e.topic, "
            f"e.state, n.hash FROM ledger_log_leaves l "
            f"LEFT JOIN {self.events_table_name} e ON e.rowid = l.notification_id "
            "LEFT JOIN ledger_log_nodes n ON n.level = 0 AND n.idx = l.leaf_index "
            "WHERE l.leaf_index >= ? ORDER BY l.leaf_index LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.sqlite_cursor.row_factory = None
            c.execute(statement, [start, limit])
            return list(c.fetchall())
