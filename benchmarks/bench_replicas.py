"""Reads from a PostgreSQL hot standby: throughput beside the primary, and replication delay.

What it does, on the test server (primary, default port 5432) and its hot standby (default port
5433, made by ``scripts/pg-standby.sh``):

1. builds a demo city (``ledger demo``) in a schema of its own on the primary, dropped afterwards,
   and waits until the standby has replayed it;
2. serves it twice with ``ledger serve --workers 2``: once on the primary alone, once with
   ``--read-db`` pointing at the standby, and drives each with ``wrk`` (8 connections) on the
   public reads: a record with its proof (``/leaves/N``), the checkpoint, a full hash tile and the
   city's statistics; it prints requests per second and the ratio standby / primary;
3. measures the replication delay a read-your-writes read waits for: it runs small commands on
   the primary with the library and times how long until the standby holds the new log size,
   printing the median and p99.

Both clusters and the server share this machine, so the throughput ratio shows what serving
from a standby costs (its log-size check before each read), not what a standby on its own
machine adds.

Run: ``.venv/bin/python benchmarks/bench_replicas.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from ledger import DirectoryKeystore, Ledger
from ledger.replica import open_replica

DEFAULT_PRIMARY = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_STANDBY = "postgresql://postgres@127.0.0.1:5433/test"
LEDGER = [sys.executable, "-m", "ledger.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def schema_on(primary: str) -> Iterator[str]:
    name = "bench_replicas_" + uuid.uuid4().hex[:10]
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(primary, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def wait_replayed(primary_url: str, standby_url: str, timeout: float = 60.0) -> None:
    with Ledger(primary_url) as primary:
        size = primary.log_size()
        replica = open_replica(standby_url, primary)
        try:
            deadline = time.monotonic() + timeout
            while replica.log_size() < size:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the standby did not replay {size} leaves in {timeout} s")
                time.sleep(0.05)
        finally:
            replica.close()


@contextlib.contextmanager
def serving(db_url: str, cwd: Path, read_db: str | None) -> Iterator[str]:
    port = free_port()
    command = [*LEDGER, "serve", "--db", db_url, "--port", str(port), "--workers", "2"]
    if read_db is not None:
        command += ["--read-db", read_db]
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"ledger serve exited: {process.stderr and process.stderr.read()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise SystemExit("ledger serve did not start within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()


def wrk(url: str, seconds: int) -> float:
    """Requests per second ``wrk`` reached on ``url`` with 8 connections (non-2xx refused)."""
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise SystemExit(f"no rate in wrk's output:\n{out}")
    return float(match.group(1))


def replication_delays(primary_url: str, standby_url: str, keys: Path, writes: int) -> list[float]:
    """Seconds from a committed command on the primary until the standby holds its leaf."""
    delays: list[float] = []
    with Ledger(primary_url, keystore=DirectoryKeystore(keys)) as primary:
        replica = open_replica(standby_url, primary)
        root = primary.trust_anchors()["root_org"]
        try:
            for index in range(writes):
                primary.add_service_field(
                    root,
                    field="bench-" + "".join(chr(97 + int(d)) for d in str(index)),
                    idempotency_key=f"bench-field-{index}",
                )
                size = primary.log_size()
                started = time.perf_counter()
                while replica.log_size() < size:
                    time.sleep(0.0005)
                delays.append(time.perf_counter() - started)
        finally:
            replica.close()
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--primary", default=os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_PRIMARY)
    )
    parser.add_argument(
        "--standby", default=os.environ.get("LEDGER_BENCH_STANDBY_URL", DEFAULT_STANDBY)
    )
    parser.add_argument("--volunteers", type=int, default=300, help="demo city size")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per URL")
    parser.add_argument("--writes", type=int, default=200, help="writes timed for the delay")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.volunteers, args.seconds, args.writes = 60, 2, 30
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with schema_on(args.primary) as schema, tempfile.TemporaryDirectory() as tmp:
        primary_url = f"{args.primary}?schema={schema}"
        standby_url = f"{args.standby}?schema={schema}"
        cwd = Path(tmp)
        subprocess.run(
            [*LEDGER, "demo", "--db", primary_url, "--volunteers", str(args.volunteers), "--quiet"],
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wait_replayed(primary_url, standby_url)
        with Ledger(primary_url) as ledger:
            size = ledger.log_size()
        paths = {
            "record with proof": f"/leaves/{size // 2}",
            "checkpoint": "/log/checkpoint",
            "full hash tile": "/log/tile/0/000",
            "city statistics": "/stats/city",
        }
        rates: dict[str, dict[str, float]] = {}
        for label, read_db in (("primary", None), ("standby", standby_url)):
            with serving(primary_url, cwd, read_db) as base:
                for name, path in paths.items():
                    wrk(base + path, 1)  # warm-up: caches, connections, a first checkpoint
                    rates.setdefault(name, {})[label] = wrk(base + path, args.seconds)
        print(
            f"log size {size} leaves, {args.volunteers} volunteers, wrk 8 connections, "
            f"{args.seconds} s per URL, ledger serve --workers 2"
        )
        print(f"{'read':<20} {'primary req/s':>14} {'standby req/s':>14} {'ratio':>7}")
        for name, rate in rates.items():
            print(
                f"{name:<20} {rate['primary']:>14.0f} {rate['standby']:>14.0f} "
                f"{rate['standby'] / rate['primary']:>7.2f}"
            )
        delays = sorted(
            replication_delays(primary_url, standby_url, cwd / "ledger-keys", args.writes)
        )
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"replication delay over {len(delays)} writes: median "
            f"{statistics.median(delays) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {delays[-1] * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
