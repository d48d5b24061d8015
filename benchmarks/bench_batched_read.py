"""The batched read of a roster's aggregates on a PostgreSQL store that was never analysed.

A command that touches many aggregates (a roster of 45 volunteers) reads their events with one
statement (``select_events_from``). Written as plain joins, a store without planner statistics
(autovacuum off, or right after a bulk load) was read by sequential scans of the events, leaves
and nodes tables, so the read's cost grew with the store. The statement the store uses now looks
each aggregate up by primary key (LATERAL subqueries kept apart with ``OFFSET 0``).

This pads a fresh schema with bulk rows of other aggregates, never analysed, at growing sizes and
times the store's read against the plain-join statement in the same run, then once more after
``ANALYZE``. It prints each size's median, the growth against the smallest size (the goal: about
1) and the store's read against the plain join.

Run: ``.venv/bin/python benchmarks/bench_batched_read.py`` (``--sizes 20000 200000``,
``--quick``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable

import psycopg
from psycopg.sql import SQL, Composed

from ledger import Ledger, MemoryKeystore
from ledger.storage.postgresql_recorder import LedgerRecorder

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROSTER = 45
ROUNDS = 15


def pad(base: str, schema: str, rows: int) -> None:
    """Add ``rows`` bulk rows of other aggregates to the three tables the read joins."""
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(
            "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
            "SELECT gen_random_uuid(), 1, 'padding', decode(repeat('00', 600), 'hex') "
            "FROM generate_series(1, %s)",
            (rows,),
        )
        conn.execute(
            "INSERT INTO ledger_log_leaves (leaf_index, notification_id) "
            "SELECT 10000000 + e.notification_id, e.notification_id FROM ledger_events e "
            "WHERE e.topic = 'padding' AND NOT EXISTS (SELECT 1 FROM ledger_log_leaves l "
            "WHERE l.notification_id = e.notification_id)"
        )
        conn.execute(
            "INSERT INTO ledger_log_nodes (level, idx, hash) "
            "SELECT 0, leaf_index, decode(repeat('00', 32), 'hex') FROM ledger_log_leaves "
            "WHERE leaf_index >= 10000000 ON CONFLICT DO NOTHING"
        )


def plain_join(recorder: LedgerRecorder) -> Composed:
    return recorder._select + SQL(
        "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(id, v) ON e.originator_id = w.id "
        "AND e.originator_version >= w.v ORDER BY e.originator_id, e.originator_version"
    )


def timed(read: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        read()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def row(label: str, ours: float, first: float, theirs: float) -> None:
    print(f"{label:>9} {ours:>9.2f} {ours / first:>7.2f} {theirs:>14.2f} {ours / theirs:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 200_000])
    default_url = os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    parser.add_argument("--postgres", default=default_url)
    parser.add_argument("--quick", action="store_true", help="sizes 5,000 and 20,000")
    args = parser.parse_args()
    if args.quick:
        args.sizes = [5_000, 20_000]
    base = args.postgres.split("?")[0]
    schema = "bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        ledger = Ledger(f"{base}?schema={schema}", keystore=MemoryKeystore())
        recorder = ledger._recorder
        assert isinstance(recorder, LedgerRecorder)
        with psycopg.connect(base, autocommit=True) as conn:
            for table in ("ledger_events", "ledger_log_leaves", "ledger_log_nodes"):
                conn.execute(f'ALTER TABLE "{schema}".{table} SET (autovacuum_enabled = false)')
        starts = [(uuid.uuid4(), 1) for _ in range(ROSTER)]
        params = [[i for i, _ in starts], [v for _, v in starts]]
        joined = plain_join(recorder)
        print(f"roster of {ROSTER} aggregates, median of {ROUNDS} reads, tables never analysed")
        print(f"{'rows':>9} {'store ms':>9} {'growth':>7} {'plain join ms':>14} {'ratio':>6}")
        padded, first = 0, 0.0
        for size in sorted(args.sizes):
            pad(base, schema, size - padded)
            padded = size
            ours = timed(lambda: recorder.select_events_from(starts))
            theirs = timed(lambda: recorder._fetch(joined, params))
            first = first or ours
            row(str(size), ours, first, theirs)
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'ANALYZE "{schema}".ledger_events')
            conn.execute(f'ANALYZE "{schema}".ledger_log_leaves')
            conn.execute(f'ANALYZE "{schema}".ledger_log_nodes')
        ours = timed(lambda: recorder.select_events_from(starts))
        theirs = timed(lambda: recorder._fetch(joined, params))
        row("analysed", ours, first, theirs)
        ledger.close()
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
