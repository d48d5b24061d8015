"""The batched read of many aggregates (``select_events_from``) looks each one up by primary key
whatever the planner knows: on a store never analysed (autovacuum off, or right after a bulk
load) its cost follows the aggregates asked for, not the size of the store."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from ledger_testing import create_city

from ledger import Ledger
from ledger.model.ids import volunteer_aggregate_id

pytestmark = pytest.mark.postgres

PADDING = 60_000


def pad_without_statistics(url: str) -> None:
    """Bulk rows of other aggregates in the three tables the read joins, never analysed."""
    base, schema = url.split("?")[0], url.split("schema=")[1]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for table in ("ledger_events", "ledger_log_leaves", "ledger_log_nodes"):
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        conn.execute(
            "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, 'padding', decode(repeat('00', 600), 'hex') "
            "FROM generate_series(1, %s)",
            (PADDING,),
        )
        conn.execute(
            "INSERT INTO ledger_log_leaves (leaf_index, notification_id) "
            "SELECT 1000000 + notification_id, notification_id FROM ledger_events "
            "WHERE topic = 'padding'"
        )
        conn.execute(
            "INSERT INTO ledger_log_nodes (level, idx, hash) "
            "SELECT 0, leaf_index, decode(repeat('00', 32), 'hex') FROM ledger_log_leaves "
            "WHERE leaf_index >= 1000000"
        )


def test_the_batched_read_uses_the_primary_keys_on_a_store_never_analysed(
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    numbers = [
        str(ledger.register_volunteer("org-a", idempotency_key=f"v-{i}").value.number)
        for i in range(5)
    ]
    pad_without_statistics(postgres_schema)
    recorder = ledger._recorder
    asked = [volunteer_aggregate_id(n) for n in numbers] + [uuid.uuid4() for _ in range(40)]
    starts = [(aggregate_id, 1) for aggregate_id in asked]  # as a roster of 45 asks
    args = [[i for i, _ in starts], [v for _, v in starts]]
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(b"EXPLAIN " + recorder._select_from_starts.as_bytes(conn), args)
        plan = "\n".join(row["QUERY PLAN"] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
    assert "Function Scan" in plan, plan  # driven by the aggregates asked for
    found = recorder.select_events_from(starts)
    assert sorted(str(i) for i in found) == sorted(str(i) for i in asked[:5])
    assert all([e.originator_version for e in events] == [1] for events in found.values())
