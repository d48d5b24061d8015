"""Views built from empty to the end on PostgreSQL, at 200,000 events or more.

A rebuild from empty once failed on PostgreSQL with ``the last operation didn't produce
records`` (psycopg, pipeline mode, with server-side prepared statements) at about the 36,500th
event. This benchmark builds the whole views of a ledger of at least ``--events`` events in a
fresh PostgreSQL schema with ``Projections.rebuild()`` (the code ``ledger projections rebuild``
runs: batches of 500 notifications, one pipelined transaction each), checks that every view
reached the last event, and that the views equal the same views built on SQLite from the same
events (their digests). It prints events, seconds and events per second for both.

The ledger is the one ``bench_projections.py`` builds (a city's registrations, hour records,
approvals, stars, credit, corrections and voids, signed through the write path), cached under
the temporary directory, and copied byte for byte into the PostgreSQL schema.

Run: ``.venv/bin/python benchmarks/bench_views_rebuild.py`` (``--events 20000`` for a quick
run; ``LEDGER_BENCH_POSTGRES_URL`` names the server).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_projections import (
    DEFAULT_POSTGRES_URL,
    POSTGRES_URL_ENV,
    cached_ledger,
    copy_events,
    pg_schema,
)

from ledger import Ledger, MemoryKeystore

EVENTS_PER_VOLUNTEER = 11  # about, in bench_projections' city


def rebuild(ledger: Ledger, views_url: str | None) -> tuple[float, dict[str, str], int]:
    """Rebuild every view from empty; (seconds, digests, position reached)."""
    views = ledger.projections(views_url, verify=False)
    try:
        started = time.perf_counter()
        views.rebuild()
        seconds = time.perf_counter() - started
        return seconds, views.digest(), views.position()
    finally:
        views.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="at least this many events")
    args = parser.parse_args(argv)
    base = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    volunteers = max(100, args.events // EVENTS_PER_VOLUNTEER)
    url, events, built = cached_ledger(volunteers, rebuild=False)
    while events < args.events:
        volunteers = volunteers * args.events // events + 100
        url, events, built = cached_ledger(volunteers, rebuild=False)
    print(
        f"ledger: {events} events ({volunteers} volunteers)"
        + (f", built in {built:.0f} s" if built else ", cached")
    )
    with Ledger(url, keystore=MemoryKeystore()) as source:
        last = source._recorder.max_notification_id()
        sqlite_views = (
            f"sqlite:///{Path(tempfile.gettempdir()) / ('views-' + uuid.uuid4().hex[:8] + '.db')}"
        )
        seconds, sqlite_digest, position = rebuild(source, sqlite_views)
        Path(sqlite_views[len("sqlite:///") :]).unlink(missing_ok=True)
        assert position == last, (position, last)
        print(
            f"SQLite views rebuilt: {events} events in {seconds:.1f} s, {events / seconds:,.0f}/s"
        )
        with pg_schema(base) as pg_url, Ledger(pg_url, keystore=MemoryKeystore()) as target:
            started = time.perf_counter()
            copy_events(source, target)
            print(f"copied into PostgreSQL in {time.perf_counter() - started:.1f} s")
            pg_last = target._recorder.max_notification_id()
            seconds, pg_digest, position = rebuild(target, None)
            rate = events / seconds
            print(f"PostgreSQL views rebuilt from empty: {events} events", end=" ")
            print(f"in {seconds:.1f} s, {rate:,.0f}/s")
            assert position == pg_last, f"views stopped at {position}, not {pg_last}"
            same = pg_digest == sqlite_digest
            print(f"every view reached the last event; PostgreSQL views equal SQLite's: {same}")
            return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
