"""The PostgreSQL recorder: eventsourcing's, plus the Merkle log and idempotency claims, written
in the same transaction as the events while the events table's EXCLUSIVE lock is held, so leaf
indexes are contiguous even with many writer processes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InternalError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from .records import FENCE_MOVED, IdempotencyClaim, InsertReceipt, LoggedEvent, extend_log


class LedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._names = {
            "schema": Identifier(datastore.schema),
            "events": Identifier(events_table_name),
            "leaves": Identifier("ledger_log_leaves"),
            "nodes": Identifier("ledger_log_nodes"),
            "claims": Identifier("ledger_idempotency"),
            "side": Identifier("ledger_side"),
        }
        # Database functions stay disabled (a tailing projection was seen to miss events with
        # them), so the insert function is never created: recreating it concurrently from
        # several processes also fails with "tuple concurrently updated".
        del self.sql_create_statements[self.create_insert_function_statement_index]
        for statement in (
            "CREATE TABLE IF NOT EXISTS {schema}.{leaves} (leaf_index bigint PRIMARY KEY, "
            "notification_id bigint NOT NULL UNIQUE)",
            "CREATE TABLE IF NOT EXISTS {schema}.{nodes} (level smallint NOT NULL, "
            "idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx))",
            "CREATE TABLE IF NOT EXISTS {schema}.{claims} (scope text NOT NULL, key text NOT NULL, "
            "request_hash text NOT NULL, result bytea NOT NULL, PRIMARY KEY (scope, key))",
            "CREATE TABLE IF NOT EXISTS {schema}.{side} (namespace text NOT NULL, "
            "key text NOT NULL, value bytea NOT NULL, PRIMARY KEY (namespace, key))",
        ):
            self.sql_create_statements.append(self._sql(statement))
        self._select = self._sql(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "l.leaf_index, n.hash AS leaf_hash FROM {schema}.{events} e "
            "LEFT JOIN {schema}.{leaves} l ON l.notification_id = e.notification_id "
            "LEFT JOIN {schema}.{nodes} n ON n.level = 0 AND n.idx = l.leaf_index "
        )

    def create_table(self) -> None:
        """Create the tables, one process at a time (several may open the store at once)."""
        for attempt in range(5):
            try:
                super().create_table()
                return
            except (InternalError, IntegrityError, ProgrammingError):
                if attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        curs.execute("SELECT pg_advisory_xact_lock(7265766)")
        super()._create_table(curs)

    def _sql(self, text: str) -> Composed:
        return SQL(text).format(**self._names)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = list(super()._fetch_ids_after_insert_events(curs, stored_events) or [])
        fence = kwargs.get("fence")
        if fence is not None and ids:
            curs.execute(
                self._sql(
                    "SELECT 1 AS moved FROM {schema}.{events} WHERE notification_id > %s "
                    "AND notification_id < %s AND topic = ANY(%s) LIMIT 1"
                ),
                (fence, min(ids), list(kwargs["fence_topics"])),
            )
            if curs.fetchall():
                raise IntegrityError(FENCE_MOVED)
        claim: IdempotencyClaim | None = kwargs.get("claim")
        if claim is not None:
            curs.execute(
                self._sql("INSERT INTO {schema}.{claims} VALUES (%s, %s, %s, %s)"),
                (claim.scope, claim.key, claim.request_hash, claim.result),
            )
        size = self._log_size(curs)
        rows = extend_log(
            size, lambda coords: self._read_nodes(curs, coords), [s.state for s in stored_events]
        )
        curs.execute(
            self._sql(
                "INSERT INTO {schema}.{leaves} SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
            ),
            ([size + i for i in range(len(ids))], ids),
        )
        curs.execute(
            self._sql(
                "INSERT INTO {schema}.{nodes} "
                "SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])"
            ),
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
        )
        receipt: InsertReceipt | None = kwargs.get("receipt")
        if receipt is not None:
            receipt.notification_ids = ids
            receipt.leaf_indexes = [size + i for i in range(len(ids))]
        return ids

    def _log_size(self, curs: Cursor[DictRow]) -> int:
        curs.execute(self._sql("SELECT MAX(leaf_index) AS top FROM {schema}.{leaves}"))
        row = curs.fetchone()
        return 0 if row is None or row["top"] is None else int(row["top"]) + 1

    def _read_nodes(
        self, curs: Cursor[DictRow], coordinates: Sequence[tuple[int, int]]
    ) -> list[bytes]:
        if not coordinates:
            return []
        curs.execute(
            self._sql(
                "SELECT level, idx, hash FROM {schema}.{nodes} WHERE (level, idx) IN "
                "(SELECT * FROM unnest(%s::smallint[], %s::bigint[]))"
            ),
            ([c[0] for c in coordinates], [c[1] for c in coordinates]),
        )
        found = {(row["level"], row["idx"]): bytes(row["hash"]) for row in curs.fetchall()}
        try:
            return [found[pair] for pair in coordinates]
        except KeyError as missing:
            raise IntegrityError(f"Merkle node {missing} is missing from the log") from None

    def _fetch(self, statement: Composed, params: Sequence[Any]) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return list(curs.fetchall())

    @staticmethod
    def _rows_to_events(rows: Sequence[DictRow]) -> list[LoggedEvent]:
        return [
            LoggedEvent(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=None if row["state"] is None else bytes(row["state"]),  # type: ignore[arg-type]
                leaf_index=row["leaf_index"],
                leaf_hash=None if row["leaf_hash"] is None else bytes(row["leaf_hash"]),
            )
            for row in rows
        ]

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement = self._select + SQL("WHERE e.originator_id = %s")
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += SQL(" AND e.originator_version > %s")
            params.append(gt)
        if lte is not None:
            statement += SQL(" AND e.originator_version <= %s")
            params.append(lte)
        statement += SQL(
            " ORDER BY e.originator_version DESC" if desc else " ORDER BY e.originator_version"
        )
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        return self._rows_to_events(self._fetch(statement, params))

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[LoggedEvent]:
        clauses: list[SQL] = []
        params: list[Any] = []
        if start is not None:
            clauses.append(
                SQL("e.notification_id >= %s" if inclusive_of_start else "e.notification_id > %s")
            )
            params.append(start)
        if stop is not None:
            clauses.append(SQL("e.notification_id <= %s"))
            params.append(stop)
        if topics:
            clauses.append(SQL("e.topic = ANY(%s)"))
            params.append(list(topics))
        statement = self._select
        if clauses:
            statement += SQL("WHERE ") + SQL(" AND ").join(clauses)
        statement += SQL(" ORDER BY e.notification_id LIMIT %s")
        params.append(limit)
        return self._rows_to_events(self._fetch(statement, params))

    def log_size(self) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._log_size(curs)

    def read_nodes(self, coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._read_nodes(curs, coordinates)

    def select_leaves(self, start: int, limit: int) -> list[LoggedEvent]:
        statement = self._sql(
            "SELECT l.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "l.leaf_index, n.hash AS leaf_hash FROM {schema}.{leaves} l "
            "LEFT JOIN {schema}.{events} e ON e.notification_id = l.notification_id "
            "LEFT JOIN {schema}.{nodes} n ON n.level = 0 AND n.idx = l.leaf_index "
            "WHERE l.leaf_index >= %s ORDER BY l.leaf_index LIMIT %s"
        )
        return self._rows_to_events(self._fetch(statement, [start, limit]))

    def unlogged_notification_ids(self) -> list[int]:
        """Stored events with no leaf: inserted behind the log's back."""
        rows = self._fetch(
            self._sql(
                "SELECT e.notification_id FROM {schema}.{events} e LEFT JOIN {schema}.{leaves} l "
                "ON l.notification_id = e.notification_id WHERE l.leaf_index IS NULL "
                "ORDER BY e.notification_id"
            ),
            [],
        )
        return [int(row["notification_id"]) for row in rows]

    def find_claim(self, scope: str, key: str) -> IdempotencyClaim | None:
        rows = self._fetch(
            self._sql(
                "SELECT request_hash, result FROM {schema}.{claims} WHERE scope=%s AND key=%s"
            ),
            [scope, key],
        )
        if not rows:
            return None
        return IdempotencyClaim(scope, key, rows[0]["request_hash"], bytes(rows[0]["result"]))

    def side_put(self, namespace: str, key: str, value: bytes) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql(
                    "INSERT INTO {schema}.{side} VALUES (%s, %s, %s) ON CONFLICT (namespace, key) "
                    "DO UPDATE SET value = EXCLUDED.value"
                ),
                (namespace, key, value),
            )

    def side_put_many(self, namespace: str, items: Sequence[tuple[str, bytes]]) -> None:
        """Several rows in one transaction (all or none)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.executemany(
                self._sql(
                    "INSERT INTO {schema}.{side} VALUES (%s, %s, %s) ON CONFLICT (namespace, key) "
                    "DO UPDATE SET value = EXCLUDED.value"
                ),
                [(namespace, key, value) for key, value in items],
            )

    def side_get(self, namespace: str, key: str) -> bytes | None:
        rows = self._fetch(
            self._sql("SELECT value FROM {schema}.{side} WHERE namespace=%s AND key=%s"),
            [namespace, key],
        )
        return bytes(rows[0]["value"]) if rows else None

    def side_delete(self, namespace: str, key: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql("DELETE FROM {schema}.{side} WHERE namespace=%s AND key=%s"),
                (namespace, key),
            )

    def side_last(self, namespace: str) -> tuple[str, bytes] | None:
        rows = self._fetch(
            self._sql(
                "SELECT key, value FROM {schema}.{side} WHERE namespace=%s "
                "ORDER BY key DESC LIMIT 1"
            ),
            [namespace],
        )
        return (rows[0]["key"], bytes(rows[0]["value"])) if rows else None

    def side_items(self, namespace: str) -> list[tuple[str, bytes]]:
        rows = self._fetch(
            self._sql("SELECT key, value FROM {schema}.{side} WHERE namespace=%s ORDER BY key"),
            [namespace],
        )
        return [(row["key"], bytes(row["value"])) for row in rows]
