"""What a new process pays before its first command: opening the store and its trust directory.

A process (a restarted server worker, a command-line run, an auditor's verifier) builds the trust
directory (organisations, keys, log keys, reference data) from the ledger's key events, verifying
each. This measures it in a fresh process on ledgers of growing size whose key events are the same
few (bulk events from ``bench_audit.fill_ledger``: a root, two organisations, their keys), on
SQLite and PostgreSQL, and prints each size's time and its ratio to the smallest: the goal is a
start-up that does not grow with the number of events stored (ratio about 1).

Run: ``.venv/bin/python benchmarks/bench_startup.py`` (``--sizes 10000 200000``, ``--quick``).
The SQLite ledgers are kept in ``--cache`` and reused; PostgreSQL ones live in schemas of their
own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from bench_audit import fill_ledger, ledger_for

from ledger import Ledger, MemoryKeystore

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROUNDS = 9


def start_once(url: str) -> dict[str, float]:
    """Open the ledger at ``url`` and build its trust directory, in this (fresh) process."""
    import time

    started = time.perf_counter()
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        opened = time.perf_counter()
        ledger.trust_anchors()
        ready = time.perf_counter()
    return {"open_ms": (opened - started) * 1000, "directory_ms": (ready - opened) * 1000}


def start_in_new_process(url: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--_start", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = json.loads(out)
    return figures


def median_start(url: str) -> dict[str, float]:
    start_in_new_process(url)  # the first open of a store may build its indexes
    runs = [start_in_new_process(url) for _ in range(ROUNDS)]
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def postgres_ledger(base: str, events: int) -> tuple[str, str]:
    schema = "bench_startup_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{base}?schema={schema}"
    fill_ledger(url, events, workers=2)
    return url, schema


def drop_schema(base: str, schema: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def report(store: str, figures: dict[int, dict[str, float]]) -> None:
    smallest = min(figures)
    print(f"{store}: start-up of a new process (median of {ROUNDS})")
    print(f"  {'events':>9} {'open ms':>9} {'directory ms':>13} {'total ms':>9} {'ratio':>6}")
    base_total = figures[smallest]["open_ms"] + figures[smallest]["directory_ms"]
    for size, row in sorted(figures.items()):
        total = row["open_ms"] + row["directory_ms"]
        print(
            f"  {size:>9,} {row['open_ms']:>9.1f} {row['directory_ms']:>13.1f} "
            f"{total:>9.1f} {total / base_total:>6.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ledger-bench")
    parser.add_argument(
        "--postgres", default=os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--quick", action="store_true", help="sizes 2,000 and 20,000")
    parser.add_argument("--_start", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._start:
        print(json.dumps(start_once(args._start)))
        return 0
    sizes = [2_000, 20_000] if args.quick else args.sizes
    args.cache.mkdir(parents=True, exist_ok=True)
    sqlite = {size: median_start(ledger_for(args.cache, size, 2)["url"]) for size in sizes}
    report("SQLite", sqlite)
    if not args.no_postgres:
        postgres: dict[int, dict[str, float]] = {}
        for size in sizes:
            url, schema = postgres_ledger(args.postgres, size)
            try:
                postgres[size] = median_start(url)
            finally:
                drop_schema(args.postgres, schema)
        report("PostgreSQL", postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())
