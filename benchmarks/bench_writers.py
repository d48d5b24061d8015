"""Concurrent writers on PostgreSQL: the ledger against plain eventsourcing, 1, 2 and 4 processes.

For each number of writer processes N (``--writers``, default 1 2 4), in a schema of its own on
the test server (dropped afterwards), this runs for ``--seconds``:

* unsigned: N processes, each a plain ``eventsourcing`` application on the same store settings
  (``bench_store.Baseline``) saving one unsigned event of a signed event's size per save;
* signed: N processes, each its own ``Ledger`` on one shared ledger (a root, one organisation and
  its key, read from a keystore directory all of them share), registering one volunteer per
  command (a verified read, the idempotency claim, an Ed25519 signature, a Merkle leaf; writers
  serialised by the table lock, as in production).

It prints events per second for each and the ratio signed / unsigned for each N, measured in the
same run, alternating the two, and the CPU time per event of the writer processes and of the
database server (every ``postgres`` process on this machine, read from ``/proc``; shown as
``-`` when the server runs elsewhere). The goal: at least 0.5 with 1, 2 and 4 writers.

Run: ``.venv/bin/python benchmarks/bench_writers.py`` (``--quick``: 1 and 2 writers, 3 s).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from bench_store import ORG, Baseline
from bench_support import cpu_seconds

from ledger import DirectoryKeystore, Ledger
from ledger.storage.url import parse_store_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOAL = 0.5


def _new_schema(base: str) -> str:
    schema = "bench_writers_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def _drop_schema(base: str, schema: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _signed_writer(url: str, keys: str, seconds: float, start: Any, results: Any) -> None:
    with Ledger(url, keystore=DirectoryKeystore(Path(keys))) as ledger:
        prefix = uuid.uuid4().hex[:8]
        ledger.register_volunteer(ORG, idempotency_key=f"warm-{prefix}")
        start.wait()
        done, deadline = 0, time.perf_counter() + seconds
        cpu = time.process_time()
        while time.perf_counter() < deadline:
            ledger.register_volunteer(ORG, idempotency_key=f"w-{prefix}-{done}")
            done += 1
        cpu = time.process_time() - cpu
    results.put((done, cpu))


def _plain_writer(url: str, size: int, seconds: float, start: Any, results: Any) -> None:
    baseline = Baseline(parse_store_url(url), size, create_table=False)
    baseline.store(1, 1)
    start.wait()
    done, deadline, cpu = 0, time.perf_counter() + seconds, time.process_time()
    while time.perf_counter() < deadline:
        baseline.store(1, 1)
        done += 1
    cpu = time.process_time() - cpu
    baseline.close()
    results.put((done, cpu))


def server_cpu_seconds() -> float:
    """User and system CPU time of every ``postgres`` process on this machine so far."""
    return cpu_seconds(lambda name, _: name.startswith("postgres"))


@dataclass(frozen=True)
class Run:
    """One run's events per second and CPU seconds per event (writers, server)."""

    rate: float
    writer_cpu: float
    server_cpu: float


def _run(target: Any, args: tuple[Any, ...], writers: int, seconds: float) -> Run:
    """Events per second of ``writers`` processes running ``target`` for ``seconds``."""
    context = multiprocessing.get_context("spawn")
    # a writer that fails before the start breaks the barrier after the timeout, not forever
    start, results = context.Barrier(writers + 1, timeout=seconds + 120), context.Queue()
    processes = [
        context.Process(target=target, args=(*args, seconds, start, results))
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    start.wait()
    began, server = time.perf_counter(), server_cpu_seconds()
    done = [results.get(timeout=seconds + 120) for _ in processes]
    server = server_cpu_seconds() - server
    elapsed = max(time.perf_counter() - began, seconds)
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a writer process failed (exit code {process.exitcode})")
    events = max(sum(count for count, _ in done), 1)
    return Run(events / elapsed, sum(cpu for _, cpu in done) / events, server / events)


def _setup(url: str, keys: Path) -> int:
    """A ledger with a root, one organisation and its key; the size of a signed event."""
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        ledger.create(
            name="Writers benchmark",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="bench.example/log",
        )
        ledger.register_organisation(
            "city",
            org_id=ORG,
            name="Organisation A",
            kind="organisation",
            region="140402",
            idempotency_key=ORG,
        )
        ledger.new_key("city", for_org=ORG, idempotency_key=f"{ORG}-key")
        result = ledger.register_volunteer(ORG, idempotency_key="size")
        ref = result.events[0]
        return len(ledger.event(ref.aggregate_id, ref.version).envelope)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres", default=os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=10.0, help="per run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each")
    parser.add_argument("--quick", action="store_true", help="1 and 2 writers, 3 s, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.writers, args.seconds, args.rounds = [1, 2], 3.0, 1
    base = args.postgres.split("?")[0]
    rows = []
    for writers in args.writers:
        ratios: list[float] = []
        signed_runs: list[Run] = []
        plain_runs: list[Run] = []
        for _ in range(args.rounds):
            signed_schema, plain_schema = _new_schema(base), _new_schema(base)
            try:
                with tempfile.TemporaryDirectory() as keys:
                    signed_url = f"{base}?schema={signed_schema}"
                    size = _setup(signed_url, Path(keys))
                    plain_url = f"{base}?schema={plain_schema}"
                    # the tables first, from one process: eventsourcing's CREATE TABLE IF NOT
                    # EXISTS from several at once can fail on PostgreSQL's catalogue
                    Baseline(parse_store_url(plain_url), size).close()
                    plain = _run(_plain_writer, (plain_url, size), writers, args.seconds)
                    signed = _run(_signed_writer, (signed_url, keys), writers, args.seconds)
            finally:
                _drop_schema(base, signed_schema)
                _drop_schema(base, plain_schema)
            plain_runs.append(plain)
            signed_runs.append(signed)
            ratios.append(signed.rate / plain.rate)
        rows.append((writers, _median(plain_runs), _median(signed_runs), statistics.median(ratios)))
    load = os.getloadavg()[0]
    print(
        f"PostgreSQL, one event per command, {args.seconds:g} s per run, {args.rounds} "
        f"round(s), load average {load:.1f} on {os.cpu_count()} cores"
    )
    print("CPU per event in microseconds: the writer processes + the database server")
    print(
        f"{'writers':>7} {'plain events/s':>15} {'ledger events/s':>16} {'ratio':>6}  "
        f"{'plain CPU':>11} {'ledger CPU':>11}  goal"
    )
    for writers, plain, signed, ratio in rows:
        verdict = "met" if ratio >= GOAL else "missed"
        print(
            f"{writers:>7} {plain.rate:>15.0f} {signed.rate:>16.0f} {ratio:>6.2f}  "
            f"{_cpu(plain):>11} {_cpu(signed):>11}  >= {GOAL}: {verdict}"
        )
    return 0


def _median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.rate for r in runs),
        statistics.median(r.writer_cpu for r in runs),
        statistics.median(r.server_cpu for r in runs),
    )


def _cpu(run: Run) -> str:
    server = f"{run.server_cpu * 1e6:.0f}" if run.server_cpu > 0 else "-"
    return f"{run.writer_cpu * 1e6:.0f}+{server}"


if __name__ == "__main__":
    sys.exit(main())
