"""The PostgreSQL recorder: eventsourcing's, plus the Merkle log and idempotency claims, written
in the same transaction as the events while the events table's EXCLUSIVE lock is held, so leaf
indexes are contiguous even with many writer processes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier

from ..envelope import recorded_at_span
from ..errors import StoreIntegrityError
from .guard import guard_storage_errors
from .pg_arrays import bytea_array, int2_array, int4_array, int8_array, text_array, uuid_array
from .records import (
    FENCE_MOVED,
    IdempotencyClaim,
    InsertReceipt,
    LoggedEvent,
    SideRow,
    microseconds_since_epoch,
)

ABOVE_THE_SEQUENCE = (
    "an event is stored with a notification id above those the store hands out (written by "
    "hand: the audit lists it as unlogged); remove it to write again"
)

# One call, queued in the insert's pipeline right behind the table lock, does the whole insert:
# it refuses it when a key event was stored after the fence (the trust directory the command
# decided with is stale); stamps each event's recorded_at (the writer's clock, or one
# microsecond after the last leaf's time if that is later, so times never go back along the
# log) into the time's place in its envelope; inserts the events, their leaves and the new
# Merkle nodes (RFC 6962 hashes, from the tree's stored right frontier); and stores the
# idempotency claim (none when its scope is NULL). The writer needs nothing from the log before
# its insert, so BEGIN, the lock, this call and COMMIT go to the server together
# (``LedgerRecorder.insert_events``).
_INSERT_LOGGED_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {schema}.{insert_logged}(fence bigint, fence_topics text[], "
    "moment bigint, originator_ids uuid[], versions bigint[], topics text[], states bytea[], "
    "time_starts int[], time_lengths int[], "
    "claim_scope text, claim_key text, claim_hash text, claim_result bytea) "
    "RETURNS TABLE (stored_id bigint, stored_leaf bigint, stored_time text) "
    "LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$ "
    "DECLARE size bigint; first_leaf bigint; last_text text; micros bigint; leaf_state bytea; "
    "node bytea; sibling bytea; lvl int; pos bigint; stamped text; node_count int := 0; "
    "pending bytea[] := '{{}}'; "
    "ids bigint[]; node_levels smallint[]; node_idxs bigint[]; node_hashes bytea[]; "
    "BEGIN "
    # One seek per key topic in the (topic, notification_id) index, the range a row comparison
    # only that index can use: PL/pgSQL plans this once for any fence, and a plan reading by
    # notification id would read every event since the fence.
    "IF fence IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(fence_topics) AS w(topic) "
    "CROSS JOIN LATERAL (SELECT 1 FROM {schema}.{events} k WHERE k.topic = w.topic "
    "AND (k.topic, k.notification_id) > (w.topic, fence) "
    "ORDER BY k.topic, k.notification_id LIMIT 1) x) THEN "
    "RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', "
    "MESSAGE = " + "'" + FENCE_MOVED.replace("'", "''") + "'; "
    "END IF; "
    "SELECT COALESCE(MAX(l.leaf_index) + 1, 0) INTO size FROM {schema}.{leaves} l; "
    "IF moment IS NOT NULL AND size > 0 THEN "
    'SELECT substring(encode(e.state, \'escape\') FROM \'.*,"recorded_at":"([^"]*)"\') '
    "INTO last_text FROM {schema}.{leaves} l JOIN {schema}.{events} e "
    "ON e.notification_id = l.notification_id WHERE l.leaf_index = size - 1; "
    # A malformed last leaf is the audit's finding, not a reason to stop writing.
    "IF last_text ~ '^[0-9]+-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
    "([.][0-9]+)?Z$' THEN "
    "BEGIN micros := (extract(epoch FROM last_text::timestamptz) * 1000000)::bigint + 1; "
    "EXCEPTION WHEN OTHERS THEN micros := NULL; END; "
    "END IF; "
    "END IF; "
    "micros := GREATEST(moment, micros); first_leaf := size; "
    # Each event is inserted with its stamped time as it comes (its notification id is its
    # leaf's); its leaf and the Merkle nodes it completes are kept in arrays and go in with one
    # INSERT per table after the loop. A left sibling completed in this call is kept in
    # ``pending`` (by level); one from before it is read from the table, at most once per
    # level. Every statement keeps its generic plan (``plan_cache_mode``): planning the
    # array inserts again at each call would cost a one-event insert more than it saves.
    "FOR i IN 1 .. cardinality(states) LOOP "
    "leaf_state := states[i]; "
    "stamped := NULL; "
    "IF micros IS NOT NULL THEN "
    "stamped := to_char(timestamp '1970-01-01' + (micros / 1000000) * interval '1 second', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN mod(micros, 1000000) = 0 THEN '' "
    "ELSE '.' || lpad(mod(micros, 1000000)::text, 6, '0') END || 'Z'; "
    "leaf_state := overlay(leaf_state PLACING convert_to(stamped, 'UTF8') "
    "FROM time_starts[i] FOR time_lengths[i]); "
    "micros := micros + 1; "
    "END IF; "
    "INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state) "
    "VALUES (originator_ids[i], versions[i], topics[i], leaf_state) "
    "RETURNING notification_id INTO stored_id; "
    "stored_leaf := size; stored_time := stamped; ids[i] := stored_id; "
    "node := sha256('\\x00'::bytea || leaf_state); lvl := 0; pos := size; "
    "node_count := node_count + 1; node_levels[node_count] := 0; "
    "node_idxs[node_count] := pos; node_hashes[node_count] := node; "
    "WHILE pos & 1 = 1 LOOP "
    "sibling := pending[lvl + 1]; "
    "IF sibling IS NULL THEN "
    "SELECT n.hash INTO sibling FROM {schema}.{nodes} n WHERE n.level = lvl "
    "AND n.idx = pos - 1; "
    "IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', "
    "MESSAGE = 'Merkle node (' || lvl || ', ' || (pos - 1) || ') is missing from the log'; "
    "END IF; "
    "END IF; "
    "node := sha256('\\x01'::bytea || sibling || node); lvl := lvl + 1; pos := pos >> 1; "
    "node_count := node_count + 1; node_levels[node_count] := lvl; "
    "node_idxs[node_count] := pos; node_hashes[node_count] := node; "
    "END LOOP; "
    "pending[lvl + 1] := node; size := size + 1; "
    "RETURN NEXT; "
    "END LOOP; "
    # An event above the ids the sequence just handed out was not given its id by it (the
    # sequence never goes back): the positions the fence and the trust directory take from the
    # newest id would stop following the log, so nothing more is written until it is gone.
    "IF EXISTS (SELECT 1 FROM {schema}.{events} k WHERE k.notification_id > stored_id) THEN "
    "RAISE EXCEPTION USING ERRCODE = 'data_corrupted', MESSAGE = "
    + "'"
    + ABOVE_THE_SEQUENCE.replace("'", "''")
    + "'; "
    "END IF; "
    # A fence at or above the ids just handed out was taken from an event no longer there: the
    # directory decided with followed the store further than the store now goes.
    "IF fence >= ids[1] THEN "
    "RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation', "
    "MESSAGE = " + "'" + FENCE_MOVED.replace("'", "''") + "'; "
    "END IF; "
    "INSERT INTO {schema}.{leaves} SELECT first_leaf + u.ord - 1, u.id "
    "FROM unnest(ids) WITH ORDINALITY AS u(id, ord); "
    "INSERT INTO {schema}.{nodes} SELECT * FROM unnest(node_levels, node_idxs, node_hashes); "
    "IF claim_scope IS NOT NULL THEN "
    "INSERT INTO {schema}.{claims} VALUES (claim_scope, claim_key, claim_hash, claim_result); "
    "END IF; "
    "END $$"
)


# The insert's database functions before ``_INSERT_LOGGED_FUNCTION`` (each named after the
# events table): a store made by an earlier version still holds them until it is opened.
RETIRED_FUNCTIONS = ("log_head", "append_stored", "append_log")

_EVENT_COLUMNS = (
    "e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
    "l.leaf_index, n.hash AS leaf_hash"
)
_LEAF_JOIN = (
    "LEFT JOIN {schema}.{leaves} l ON l.notification_id = e.notification_id "
    "LEFT JOIN {schema}.{nodes} n ON n.level = 0 AND n.idx = l.leaf_index"
)


def _of_topics(bounds: Sequence[str], *, joined: str) -> str:
    """The FROM text of the first ``limit`` events of some topics (parameters: the topics, one
    per bound, then the limit twice), with their leaves, in notification order; ``joined`` is
    what follows each LATERAL (``ON true`` after a LEFT JOIN).

    Each topic is sought on its own in the (topic, notification_id) index, its range
    (``bounds``, as ``> (w.topic, %s::bigint)``) a row comparison only that index can use:
    these statements are planned once for any parameters (prepared, or in the insert function),
    and a plan reading in notification order from a position and filtering by topic would read
    every event since. Only the ids are read there; the rows, each by its id, are only those
    returned."""
    where = " AND ".join(
        ["y.topic = w.topic", *(f"(y.topic, y.notification_id) {b}" for b in bounds)]
    )
    return (
        "(SELECT x.notification_id FROM unnest(%s::text[]) AS w(topic) CROSS JOIN LATERAL "
        f"(SELECT y.notification_id FROM {{schema}}.{{events}} y WHERE {where} "
        "ORDER BY y.topic, y.notification_id LIMIT %s) x ORDER BY x.notification_id LIMIT %s) "
        f"ids {joined} {'LEFT JOIN' if joined else 'CROSS JOIN'} LATERAL (SELECT * FROM "
        "{schema}.{events} z WHERE z.notification_id = ids.notification_id OFFSET 0) e "
        f"{joined} {_LEAF_JOIN} ORDER BY e.notification_id"
    )


def _rendered(statement: Composable) -> Composed:
    """A statement as one piece of SQL text, its identifiers quoted once and for all."""
    return Composed([SQL(statement.as_string())])


@guard_storage_errors
class LedgerRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        # psycopg never prepares a statement on its own (only reads in ``_fetch`` ask it to):
        # under concurrent writers with failed pipelined transactions its cache and the
        # server's fell out of step ("prepared statement _pg3_N does not exist"), so nothing of
        # the insert transaction is prepared; ``_lock_table`` overrides eventsourcing's request.
        # Set before eventsourcing's __init__ opens the pool, so every connection gets it.
        connect_options = datastore.pool.kwargs
        assert isinstance(connect_options, dict)
        connect_options["prepare_threshold"] = 2**31
        # No JIT compilation: the ledger's statements are short index lookups, and on a store
        # without planner statistics their estimated cost passes ``jit_above_cost``, so each
        # paid ~130 ms of compiling for a read of under a millisecond.
        connect_options["options"] = "-c jit=off"
        # Text parameters made by ``pg_arrays`` are UTF-8, as every str psycopg sends then is.
        connect_options["client_encoding"] = "UTF8"
        super().__init__(datastore, events_table_name=events_table_name)
        self._rendered: dict[str, Composed] = {}
        self._names = {
            "schema": Identifier(datastore.schema),
            "events": Identifier(events_table_name),
            "leaves": Identifier("ledger_log_leaves"),
            "nodes": Identifier("ledger_log_nodes"),
            "claims": Identifier("ledger_idempotency"),
            "side": Identifier("ledger_side"),
            "topic_index": Identifier(f"{events_table_name}_topic"),
            "insert_logged": Identifier(f"{events_table_name}_insert_logged"),
            "retired_functions": SQL(", ").join(
                SQL("{}.{}").format(
                    Identifier(datastore.schema), Identifier(f"{events_table_name}_{name}")
                )
                for name in RETIRED_FUNCTIONS
            ),
        }
        # eventsourcing's database functions stay disabled (a tailing projection was seen to
        # miss events with them), so its insert function is never created: recreating it
        # concurrently from several processes also fails with "tuple concurrently updated".
        # The ledger's own insert function runs in the insert's transaction, behind the lock.
        del self.sql_create_statements[self.create_insert_function_statement_index]
        # The statements every insert runs, rendered once (see ``_sql``).
        self.lock_table_statements = [
            _rendered(s) if isinstance(s, Composable) else s for s in self.lock_table_statements
        ]
        self._notify_statement = _rendered(SQL("NOTIFY {0}").format(Identifier(self.channel_name)))
        self._begin, self._commit, self._rollback = (
            _rendered(SQL(word)) for word in ("BEGIN", "COMMIT", "ROLLBACK")
        )
        for statement in (
            "CREATE TABLE IF NOT EXISTS {schema}.{leaves} (leaf_index bigint PRIMARY KEY, "
            "notification_id bigint NOT NULL UNIQUE)",
            "CREATE TABLE IF NOT EXISTS {schema}.{nodes} (level smallint NOT NULL, "
            "idx bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, idx))",
            "CREATE TABLE IF NOT EXISTS {schema}.{claims} (scope text NOT NULL, key text NOT NULL, "
            "request_hash text NOT NULL, result bytea NOT NULL, PRIMARY KEY (scope, key))",
            "CREATE TABLE IF NOT EXISTS {schema}.{side} (namespace text NOT NULL, "
            "key text NOT NULL, value bytea NOT NULL, PRIMARY KEY (namespace, key))",
            # Readers of a few event types (the trust directory's key events) seek them by topic
            # instead of scanning every event: a process starts in time proportional to them.
            "CREATE INDEX IF NOT EXISTS {topic_index} ON {schema}.{events} "
            "(topic, notification_id)",
            # Every insert, in a PL/pgSQL function: its statements are planned once per
            # connection (planning cost as much as running them). See ``insert_events``.
            _INSERT_LOGGED_FUNCTION,
            # What earlier versions stored instead; nothing calls them now.
            "DROP FUNCTION IF EXISTS {retired_functions}",
        ):
            self.sql_create_statements.append(self._sql(statement))
        self._max_notification_id = self._sql(
            "SELECT MAX(notification_id) AS top FROM {schema}.{events}"
        )
        self._insert_logged = self._sql(
            "SELECT * FROM {schema}.{insert_logged}(%s::bigint, %s::text[], %s::bigint, "
            "%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s::int[], %s::int[], "
            "%s::text, %s::text, %s::text, %s::bytea)"
        )
        self._select = self._sql(
            "SELECT " + _EVENT_COLUMNS + " FROM {schema}.{events} e " + _LEAF_JOIN + " "
        )
        self._select_to_newest = self._sql(
            "SELECT t.top, " + _EVENT_COLUMNS + " "
            "FROM (SELECT MAX(notification_id) AS top FROM {schema}.{events}) t "
            "LEFT JOIN LATERAL "
            + _of_topics(["> (w.topic, %s::bigint)", "<= (w.topic, t.top)"], joined="ON true")
        )
        # Each aggregate's events, leaves and leaf hashes are looked up by primary key, whatever
        # the planner's statistics say: ``OFFSET 0`` keeps each LATERAL subquery a parameterised
        # index lookup. Flattened into joins, a store never analysed (autovacuum off, or right
        # after a bulk load) was read by sequential scans of all three tables.
        self._select_from_starts = self._sql(
            "SELECT " + _EVENT_COLUMNS + " FROM unnest(%s::uuid[], %s::bigint[]) AS w(id, v) "
            "CROSS JOIN LATERAL (SELECT * FROM {schema}.{events} x WHERE x.originator_id = w.id "
            "AND x.originator_version >= w.v OFFSET 0) e "
            "LEFT JOIN LATERAL (SELECT y.leaf_index FROM {schema}.{leaves} y "
            "WHERE y.notification_id = e.notification_id OFFSET 0) l ON true "
            "LEFT JOIN LATERAL (SELECT z.hash FROM {schema}.{nodes} z "
            "WHERE z.level = 0 AND z.idx = l.leaf_index OFFSET 0) n ON true "
            "ORDER BY e.originator_id, e.originator_version"
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
        """``text`` with the schema's and tables' names filled in, rendered once per text: a
        composed statement would quote its identifiers again at every execution."""
        rendered = self._rendered.get(text)
        if rendered is None:
            rendered = self._rendered[text] = _rendered(SQL(text).format(**self._names))
        return rendered

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        for statement in self.lock_table_statements:
            curs.execute(statement, prepare=False)

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self._notify_statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Store the events with their leaves, Merkle nodes, idempotency claim (kwarg
        ``claim``) and side rows (kwarg ``side_rows``) in one transaction, and return their
        notification ids; the leaf indexes and stamped times go to kwarg ``receipt``.

        BEGIN, the table lock, the notification, the one call that stores everything
        (``_INSERT_LOGGED_FUNCTION``), the side rows and COMMIT are queued in one pipeline with
        one sync: the writer waits for the server once, and the lock is held only while the
        server runs them (eventsourcing's own insert waits for its BEGIN, its INSERT and its
        COMMIT in turn, holding the lock across the last two waits).

        With kwarg ``stamp_clock`` each event's ``recorded_at`` is the clock's time read here
        or, when a writer that took the lock earlier stamped a later one, one microsecond after
        the last leaf's: times follow the order in which writers get the lock, which is log
        order. Without it the events are stored as given. A stale ``fence`` (kwargs ``fence``
        and ``fence_topics``: a key event was stored after it), a taken claim and a taken event
        version fail the pipeline before its COMMIT: an ``IntegrityError``, nothing stored."""
        if not stored_events:
            return None
        clock = kwargs.get("stamp_clock")
        spans = [recorded_at_span(s.state) for s in stored_events] if clock else []
        claim: IdempotencyClaim | None = kwargs.get("claim")
        side_rows: Sequence[SideRow] = kwargs.get("side_rows") or ()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                with conn.pipeline():
                    conn.execute(self._begin, prepare=False)
                    self._lock_table(curs)
                    self._notify_channel(curs)
                    curs.execute(
                        self._insert_logged,
                        [
                            kwargs.get("fence"),
                            text_array(list(kwargs.get("fence_topics") or ())),
                            None if clock is None else microseconds_since_epoch(clock()),
                            uuid_array([s.originator_id for s in stored_events]),
                            int8_array([s.originator_version for s in stored_events]),
                            text_array([s.topic for s in stored_events]),
                            bytea_array([s.state for s in stored_events]),
                            int4_array([start + 1 for start, _ in spans]),
                            int4_array([end - start for start, end in spans]),
                            *(
                                [None] * 4
                                if claim is None
                                else [claim.scope, claim.key, claim.request_hash, claim.result]
                            ),
                        ],
                    )
                    if side_rows:
                        with conn.cursor() as queued:
                            self._insert_side_rows(queued, side_rows)
                    conn.execute(self._commit, prepare=False)
            except BaseException as error:
                # Whatever failed, nothing is committed: a failed statement skips the queued
                # COMMIT, and an error raised here comes before it was queued.
                with contextlib.suppress(psycopg.Error):
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        conn.execute(self._rollback, prepare=False)
                if isinstance(error, psycopg.errors.DataCorrupted):
                    raise StoreIntegrityError(error.diag.message_primary or str(error)) from error
                raise
            rows = curs.fetchall()
        ids = [int(row["stored_id"]) for row in rows]
        receipt: InsertReceipt | None = kwargs.get("receipt")
        if receipt is not None:
            receipt.notification_ids = ids
            receipt.leaf_indexes = [int(row["stored_leaf"]) for row in rows]
            if clock is not None:
                receipt.recorded_at = [row["stored_time"] for row in rows]
        return ids

    def _insert_side_rows(self, curs: Cursor[DictRow], side_rows: Sequence[SideRow]) -> None:
        """Queue the rows' upsert. An exclusive row whose key holds another value is given a
        NULL value instead, which the NOT NULL column refuses: the pipeline fails before its
        COMMIT (checked under the table lock, so no other writer comes between)."""
        for exclusive in (False, True):
            rows = [r for r in side_rows if r.exclusive is exclusive]
            if not rows:
                continue
            value = (
                "CASE WHEN {side}.value = EXCLUDED.value THEN EXCLUDED.value END"
                if exclusive
                else "EXCLUDED.value"
            )
            curs.execute(
                self._sql(
                    "INSERT INTO {schema}.{side} SELECT * FROM "
                    "unnest(%s::text[], %s::text[], %s::bytea[]) "
                    f"ON CONFLICT (namespace, key) DO UPDATE SET value = {value}"
                ),
                ([r.namespace for r in rows], [r.key for r in rows], [r.value for r in rows]),
            )

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
        """One read in autocommit, outside any pipeline, as a prepared statement: the server
        plans each text once per connection (planning cost more than running these reads)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return list(curs.fetchall())

    def max_notification_id(self) -> int | None:
        rows = self._fetch(self._max_notification_id, [])
        return None if rows[0]["top"] is None else int(rows[0]["top"])

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

    def select_events_from(
        self, starts: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]:
        """The events of many aggregates, each from a version on (inclusive), in one query."""
        found: dict[UUID, list[StoredEvent]] = {}
        if not starts:
            return found
        rows = self._fetch(
            self._select_from_starts,
            [uuid_array([i for i, _ in starts]), int8_array([v for _, v in starts])],
        )
        for event in self._rows_to_events(rows):
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
        if topics:
            return self._select_notifications_of(start, limit, stop, topics, inclusive_of_start)
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
        statement = self._select
        if clauses:
            statement += SQL("WHERE ") + SQL(" AND ").join(clauses)
        statement += SQL(" ORDER BY e.notification_id LIMIT %s")
        params.append(limit)
        return self._rows_to_events(self._fetch(statement, params))

    def _select_notifications_of(
        self,
        start: int | None,
        limit: int,
        stop: int | None,
        topics: Sequence[str],
        inclusive_of_start: bool,
    ) -> list[LoggedEvent]:
        """``select_notifications`` with topics, each sought in its index (``_of_topics``)."""
        bounds: list[str] = []
        params: list[Any] = [list(topics)]
        if start is not None:
            bounds.append(f"{'>=' if inclusive_of_start else '>'} (w.topic, %s::bigint)")
            params.append(start)
        if stop is not None:
            bounds.append("<= (w.topic, %s::bigint)")
            params.append(stop)
        statement = self._sql("SELECT " + _EVENT_COLUMNS + " FROM " + _of_topics(bounds, joined=""))
        params += [limit, limit]
        return self._rows_to_events(self._fetch(statement, params))

    def select_notifications_to_newest(
        self, after: int, limit: int, topics: Sequence[str]
    ) -> tuple[int | None, Sequence[LoggedEvent]]:
        """The newest notification id, and the first ``limit`` notifications of ``topics``
        after ``after`` up to it: one statement, so one round trip and one snapshot."""
        rows = self._fetch(self._select_to_newest, [list(topics), after, limit, limit])
        top = rows[0]["top"]
        return (
            None if top is None else int(top),
            self._rows_to_events([r for r in rows if r["notification_id"] is not None]),
        )

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

    def select_leaf_and_nodes(
        self, leaf_index: int, coordinates: Sequence[tuple[int, int]]
    ) -> tuple[LoggedEvent | None, dict[tuple[int, int], bytes]]:
        """One statement, so one round trip (:meth:`leaf_and_nodes_query`)."""
        return self.leaf_and_nodes_from(
            self._fetch(*self.leaf_and_nodes_query(leaf_index, coordinates))
        )

    def leaf_and_nodes_query(
        self, leaf_index: int, coordinates: Sequence[tuple[int, int]]
    ) -> tuple[Composed, list[Any]]:
        """The statement and parameters of :meth:`select_leaf_and_nodes`, to run on any
        connection (its rows go to :meth:`leaf_and_nodes_from`): the leaf's row as
        :meth:`select_leaves` reads it (its ``level`` is NULL), then one row per stored node of
        ``coordinates``, each looked up by primary key (``OFFSET 0`` keeps the LATERAL subquery
        an index lookup: as a join, a small log's nodes were read by a sequential scan, 0.45 ms
        of 0.6 at 2,700 nodes)."""
        statement = self._sql(
            "SELECT l.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "l.leaf_index, n.hash AS leaf_hash, NULL::smallint AS level, NULL::bigint AS idx "
            "FROM {schema}.{leaves} l "
            "LEFT JOIN {schema}.{events} e ON e.notification_id = l.notification_id "
            "LEFT JOIN {schema}.{nodes} n ON n.level = 0 AND n.idx = l.leaf_index "
            "WHERE l.leaf_index = %s "
            "UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, p.hash, w.level, w.idx "
            "FROM unnest(%s::smallint[], %s::bigint[]) AS w(level, idx) "
            "CROSS JOIN LATERAL (SELECT z.hash FROM {schema}.{nodes} z "
            "WHERE z.level = w.level AND z.idx = w.idx OFFSET 0) p"
        )
        params = [
            leaf_index,
            int2_array([c[0] for c in coordinates]),
            int8_array([c[1] for c in coordinates]),
        ]
        return statement, params

    def leaf_and_nodes_from(
        self, rows: Sequence[DictRow]
    ) -> tuple[LoggedEvent | None, dict[tuple[int, int], bytes]]:
        """The leaf's row and the nodes found, from the rows of :meth:`leaf_and_nodes_query`."""
        leaf_rows = [row for row in rows if row["level"] is None]
        nodes = {
            (row["level"], row["idx"]): bytes(row["leaf_hash"])
            for row in rows
            if row["level"] is not None
        }
        found = self._rows_to_events(leaf_rows)
        return (found[0] if found else None), nodes

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

    def side_increment(self, namespace: str, key: str) -> int:
        """One upsert: PostgreSQL serialises the increments of concurrent processes."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql(
                    "INSERT INTO {schema}.{side} AS s VALUES (%s, %s, '1'::bytea) "
                    "ON CONFLICT (namespace, key) DO UPDATE SET value = convert_to("
                    "(convert_from(s.value, 'UTF8')::bigint + 1)::text, 'UTF8') RETURNING value"
                ),
                (namespace, key),
            )
            row = curs.fetchone()
            assert row is not None
            return int(bytes(row["value"]))

    def side_delete_before(self, namespace: str, key: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self._sql("DELETE FROM {schema}.{side} WHERE namespace=%s AND key<%s"),
                (namespace, key),
            )

    def select_leaf_rows(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """As :meth:`select_leaves`, as plain tuples (the event's columns None when its event
        is gone, the notification id among them)."""
        rows = self._fetch(
            self._sql(
                "SELECT l.leaf_index, e.notification_id, e.originator_id, e.originator_version, "
                "e.topic, e.state, n.hash AS leaf_hash FROM {schema}.{leaves} l "
                "LEFT JOIN {schema}.{events} e ON e.notification_id = l.notification_id "
                "LEFT JOIN {schema}.{nodes} n ON n.level = 0 AND n.idx = l.leaf_index "
                "WHERE l.leaf_index >= %s ORDER BY l.leaf_index LIMIT %s"
            ),
            [start, limit],
        )
        return [
            (
                row["leaf_index"],
                row["notification_id"],
                row["originator_id"],
                row["originator_version"],
                row["topic"],
                None if row["state"] is None else bytes(row["state"]),
                None if row["leaf_hash"] is None else bytes(row["leaf_hash"]),
            )
            for row in rows
        ]
