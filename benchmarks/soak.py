"""Soak: ``ledger serve`` killed with SIGKILL 100+ times under sustained HTTP load on loopback.

Several client threads register volunteers over HTTP without pause, each with an
``Idempotency-Key``, retrying a key until it is acknowledged (while the server is down the
connection is refused; that is retried, and counted). The main ``ledger serve`` process is
killed with SIGKILL at a random moment (0.2 to 1.2 s after it has acknowledged something) and
started again at once on the same port, ``--kills`` times. Then the store is checked exactly as
the chaos suite checks it (``tests/chaos/chaos_support.py``): every acknowledged event is stored
and verifies at its acknowledged leaf, leaves are contiguous, ``ledger audit`` exits 0, and the
views caught up incrementally (by the server, between kills) equal a rebuild from empty.

It prints: kills, acknowledged writes, non-retryable errors (must be 0), retried failures by
kind, restart time (kill to ``/readyz`` 200: median and max), and acknowledged writes per second
of server uptime.

Run: ``.venv/bin/python benchmarks/soak.py`` (SQLite, 100 kills, 4 clients);
``--store postgresql --workers 2`` uses a fresh schema on ``LEDGER_BENCH_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "chaos")]

from chaos_support import (  # noqa: E402
    HttpWriter,
    check_store,
    free_port,
    kill_server,
    reap_group,
    start_serve,
)
from writer_testing import writer_city  # noqa: E402

from ledger import DirectoryKeystore, Ledger  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def make_store(kind: str, workdir: Path) -> tuple[str, Path, str | None]:
    """(store URL, keystore directory the server uses, PostgreSQL schema to drop)."""
    if kind == "sqlite":
        path = workdir / "soak.db"
        return f"sqlite:///{path}", Path(str(path) + ".keys"), None
    import psycopg

    base = os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = "soak_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?schema={schema}", workdir / "ledger-keys", schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    from ledger.apikeys import create_api_key

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="soak-") as temporary:
        workdir = Path(temporary)
        url, keys, schema = make_store(args.store, workdir)
        try:
            writer_city(url, keys, writers=1)
            with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
                api_key = create_api_key(ledger, "org-w0", ["register"])
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_serve(url, workdir, port, args.workers)
            started = time.monotonic()
            clients = [HttpWriter(base, api_key, f"soak-{i}").start() for i in range(args.clients)]
            restarts: list[float] = []
            downtime = 0.0
            try:
                for kill in range(args.kills):
                    seen = sum(len(c.acks) for c in clients)
                    while sum(len(c.acks) for c in clients) == seen:
                        time.sleep(0.02)
                    time.sleep(rng.uniform(0.2, 1.2))
                    killed = time.monotonic()
                    kill_server(server)
                    server = start_serve(url, workdir, port, args.workers)
                    restarts.append(time.monotonic() - killed)
                    downtime += restarts[-1]
                    if (kill + 1) % 10 == 0:
                        acked = sum(len(c.acks) for c in clients)
                        print(f"  {kill + 1} kills, {acked} writes acknowledged", flush=True)
                for client in clients:
                    client.finish()
            finally:
                for client in clients:
                    client.stop.set()
                kill_server(server)
                reap_group(server)
            elapsed = time.monotonic() - started
            acks = [ack for client in clients for ack in client.acks]
            errors = [error for client in clients for error in client.errors]
            failures: dict[str, int] = {}
            for client in clients:
                for kind, count in client.failures.items():
                    failures[kind] = failures.get(kind, 0) + count
            print(f"store {args.store}, --workers {args.workers}, {args.clients} clients")
            print(f"kills: {args.kills} (SIGKILL of the main ledger serve process)")
            print(f"acknowledged writes: {len(acks)}; non-retryable errors: {len(errors)}")
            print(f"retried failures while the server was down: {failures}")
            print(
                f"restart, kill to ready: median {statistics.median(restarts):.2f} s, "
                f"max {max(restarts):.2f} s"
            )
            uptime = elapsed - downtime
            print(f"acknowledged writes per second of uptime: {len(acks) / uptime:.1f}")
            counts = check_store(url, keys, acks)
            print(
                f"check: {counts['acknowledged']} acknowledged events all at their leaves of "
                f"{counts['leaves']}; leaves contiguous; ledger audit exit 0; "
                "rebuilt views equal incremental"
            )
            for error in errors[:10]:
                print("  error:", error)
            return 0 if not errors else 1
        finally:
            if schema is not None:
                import psycopg

                base = os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
                with psycopg.connect(base, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
