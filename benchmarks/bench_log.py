"""The transparency log's costs: appending leaves, generating proofs at 1M leaves, verifying.

1. **Leaves appended per second, and the log's share of storing a signed event.** Two fresh
   SQLite ledgers per round, the same signed write path, measured interleaved in the same run:

   * *with log*: the ledger as shipped; every insert transaction reads the tree's right frontier,
     hashes the new leaves and nodes, and writes the leaf and node rows;
   * *without log*: the same recorder class and write path with the Merkle part removed
     (:class:`RecorderWithoutLog`: no frontier read, no hashing, no leaf or node rows; the
     claim, the fence check and everything else are the recorder's own code, unchanged).

   At batch 1, one ``ledger.register_volunteer`` command per event; at batch 100, one
   ``ledger._writer.run`` command staging 100 ``VolunteerRegistered`` events. The overhead is
   ``time with log / time without - 1``, the median over rounds (goal: at most 15%). Also
   printed: bare ``TreeBuilder.append`` leaves per second (hashing only, no storage).

2. **Inclusion-proof latency at 1,000,000 leaves.** A SQLite node table built directly
   (``TreeBuilder`` + ``executemany`` into ``ledger_log_nodes``, leaf rows into
   ``ledger_log_leaves``), then proofs for random indexes timed one by one, both through the
   recorder's ``read_nodes`` and through ``ledger.log.inclusion_proof`` (which also reads the
   log size). Median and p99 (goal: median under 1 ms). Consistency proofs likewise.

3. **Proofs verified per second**: RFC 9162 inclusion and consistency proofs from (2), and whole
   tlog-proof receipts (checkpoint note signature plus inclusion proof).

Run: ``.venv/bin/python benchmarks/bench_log.py`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import contextvars
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteCursor
from eventsourcing.utils import get_topic

import ledger.storage.sqlite_recorder as sqlite_recorder
from ledger import Ledger, MemoryKeystore, SigningKey
from ledger.context import Context
from ledger.log import (
    Checkpoint,
    NoteSigner,
    TreeBuilder,
    consistency_proof,
    format_receipt,
    inclusion_proof,
    leaf_hash,
    root_hash,
    sign_checkpoint,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)
from ledger.model.ids import new_volunteer_number, volunteer_aggregate_id
from ledger.results import NoValue
from ledger.storage.url import StoreURL, parse_store_url

OVERHEAD_GOAL = 0.15
LATENCY_GOAL_MS = 1.0
BATCH_SIZES = (1, 100)
ORG = "org-a"
ORIGIN = "bench.example/log"


# The ledger without its Merkle log: the same recorder, the log steps made no-ops

_WITHOUT_MERKLE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "without_merkle", default=False
)
_extend_log = sqlite_recorder.extend_log


def _extend_log_unless_skipped(
    size: int, read_nodes: Callable[[Sequence[tuple[int, int]]], list[bytes]], states: Any
) -> tuple[list[tuple[int, int, bytes]], list[tuple[int, int, bytes]] | None]:
    """No rows and no frontier to remember without the log (so no frontier is read either)."""
    return ([], None) if _WITHOUT_MERKLE.get() else _extend_log(size, read_nodes, states)


# Both ledgers go through this wrapper, so its (tiny) cost is on both sides.
sqlite_recorder.extend_log = _extend_log_unless_skipped  # type: ignore[assignment]


class _CursorWithoutLogRows:
    """Passes everything to the real cursor except the leaf and node row inserts."""

    def __init__(self, cursor: SQLiteCursor) -> None:
        self._cursor = cursor

    def executemany(self, statement: str, rows: Any) -> None:
        if "ledger_log_" not in statement:
            self._cursor.executemany(statement, rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class RecorderWithoutLog(sqlite_recorder.LedgerRecorder):
    """The SQLite ledger recorder with the Merkle part removed once ``log_events`` is False.

    The ledger's setup events are logged (they are read back, and reads check their leaves);
    the measured events, new volunteers that are never read back, are stored without leaves.
    """

    log_events = True

    def _log_size(self, c: SQLiteCursor) -> int:  # type: ignore[override]
        return sqlite_recorder.LedgerRecorder._log_size(c) if self.log_events else 0

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.log_events:
            return super()._insert_events(c, stored_events, **kwargs)
        token = _WITHOUT_MERKLE.set(True)
        try:
            return super()._insert_events(
                _CursorWithoutLogRows(c),  # type: ignore[arg-type]
                stored_events,
                **kwargs,
            )
        finally:
            _WITHOUT_MERKLE.reset(token)


class StoreWithoutLog(StoreURL):
    """A SQLite store URL whose recorder is :class:`RecorderWithoutLog`."""

    def eventsourcing_env(self) -> dict[str, str]:
        env = super().eventsourcing_env()
        env["APPLICATION_RECORDER_TOPIC"] = get_topic(RecorderWithoutLog)
        return env


# Part 1: storing signed events with and without the log


class Target:
    """A fresh SQLite ledger with a root, one organisation and its key."""

    def __init__(self, path: Path, with_log: bool) -> None:
        store = parse_store_url(f"sqlite:///{path}")
        if not with_log:
            store = StoreWithoutLog(**{f: getattr(store, f) for f in store.__dataclass_fields__})
        self.with_log = with_log
        self.ledger = Ledger(store, keystore=MemoryKeystore())
        self.ledger.create(
            name="Benchmark ledger",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin=ORIGIN,
        )
        self.ledger.register_organisation(
            "city",
            org_id=ORG,
            name="Organisation A",
            kind="organisation",
            region="140402",
            idempotency_key=ORG,
        )
        self.ledger.new_key("city", for_org=ORG, idempotency_key=f"{ORG}-key")
        self.prefix = uuid.uuid4().hex[:8]
        self.counter = 0
        self.store(2, 1)  # warm up, logged in both
        if not with_log:
            recorder = self.ledger._recorder
            assert isinstance(recorder, RecorderWithoutLog)
            recorder.log_events = False

    def _key(self) -> str:
        self.counter += 1
        return f"bench-{self.prefix}-{self.counter}"

    def store(self, count: int, batch: int) -> None:
        if batch == 1:
            for _ in range(count):
                self.ledger.register_volunteer(ORG, idempotency_key=self._key())
            return
        for _ in range(count // batch):
            numbers = [new_volunteer_number() for _ in range(batch)]

            def decide(ctx: Context, numbers: list[str] = numbers) -> dict[str, Any]:
                for number in numbers:
                    ctx.emit(
                        "VolunteerRegistered", volunteer_aggregate_id(number), {"number": number}
                    )
                return {}

            self.ledger._writer.run(
                org=ORG,
                signer=self.ledger.signer_for(ORG),
                idempotency_key=self._key(),
                command="bench",
                params={"numbers": numbers},
                decide=decide,
                result_type=NoValue,
            )

    def timed(self, count: int, batch: int) -> float:
        """Seconds to store ``count`` events; checks the log grew exactly when it should."""
        size, stored = self.ledger.log_size(), self.events()
        started = time.perf_counter()
        self.store(count, batch)
        elapsed = time.perf_counter() - started
        assert self.events() == stored + count
        assert self.ledger.log_size() == size + (count if self.with_log else 0)
        return elapsed

    def events(self) -> int:
        recorder = self.ledger._recorder
        return int(recorder.max_notification_id() or 0)

    def close(self) -> None:
        self.ledger.close()


@dataclass
class AppendRow:
    batch: int
    count: int
    with_log: list[float] = field(default_factory=list)  # seconds
    without_log: list[float] = field(default_factory=list)

    @property
    def overheads(self) -> list[float]:
        return [w / wo - 1 for w, wo in zip(self.with_log, self.without_log, strict=True)]


def measure_appends(events: int, rounds: int, preload: int, workdir: Path) -> list[AppendRow]:
    rows = [AppendRow(b, events if b == 1 else 5 * events) for b in BATCH_SIZES]
    for number in range(1, rounds + 1):
        logged = Target(workdir / f"with-{number}.db", with_log=True)
        unlogged = Target(workdir / f"without-{number}.db", with_log=False)
        try:
            if preload:
                for target in (logged, unlogged):
                    target.store(preload // 100 * 100, 100)
            for row in rows:
                # Alternate which goes first, so neither always meets a warmer cache.
                order = [(logged, row.with_log), (unlogged, row.without_log)]
                for target, times in order if number % 2 else reversed(order):
                    times.append(target.timed(row.count, row.batch))
                print(
                    f"  round {number} batch {row.batch:>3}: "
                    f"with log {row.count / row.with_log[-1]:>7,.0f}/s  "
                    f"without {row.count / row.without_log[-1]:>7,.0f}/s  "
                    f"overhead {row.overheads[-1]:+.1%}  (log {logged.ledger.log_size():,})",
                    flush=True,
                )
        finally:
            logged.close()
            unlogged.close()
    return rows


def tree_builder_rate(leaves: int) -> float:
    hashes = [leaf_hash(f"leaf {i}".encode()) for i in range(leaves)]
    builder = TreeBuilder()
    started = time.perf_counter()
    for digest in hashes:
        builder.append(digest)
    return leaves / (time.perf_counter() - started)


# Part 2: proofs at a million leaves


def leaf_data(index: int) -> bytes:
    return f"leaf {index}".encode()


def build_node_table(path: Path, size: int) -> bytes:
    """A ledger file whose log has ``size`` leaves, written directly; returns the root."""
    Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()).close()  # the tables
    builder = TreeBuilder()
    with sqlite3.connect(path) as conn:
        chunk = 100_000
        for start in range(0, size, chunk):
            rows: list[tuple[int, int, bytes]] = []
            for index in range(start, min(size, start + chunk)):
                rows.extend(builder.append(leaf_hash(leaf_data(index))))
            conn.executemany("INSERT INTO ledger_log_nodes VALUES (?,?,?)", rows)
            conn.executemany(
                "INSERT INTO ledger_log_leaves VALUES (?,?)",
                [(i, i + 1) for i in range(start, min(size, start + chunk))],
            )
    return builder.root()


NODE_QUERY_SQL = (
    "WITH wanted(level, idx) AS (VALUES {values}) SELECT n.level, n.idx, n.hash "
    "FROM wanted JOIN ledger_log_nodes n ON n.level = wanted.level AND n.idx = wanted.idx"
)


def indexed_reader(conn: sqlite3.Connection) -> Callable[[Sequence[tuple[int, int]]], list[bytes]]:
    """For diagnosis only: the same node reads as a join that SQLite runs by primary key."""

    def read(coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
        statement = NODE_QUERY_SQL.format(values=",".join("(?,?)" for _ in coordinates))
        params = [v for pair in coordinates for v in pair]
        found = {(r[0], r[1]): r[2] for r in conn.execute(statement, params)}
        return [found[pair] for pair in coordinates]

    return read


def recorder_plan(path: Path) -> str:
    """How SQLite runs the recorder's own node query (as in sqlite_recorder._read_nodes)."""
    statement = (
        "SELECT level, idx, hash FROM ledger_log_nodes WHERE (level, idx) IN (VALUES (?,?),(?,?))"
    )
    with sqlite3.connect(path) as conn:
        return "; ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + statement, [0] * 4))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Latency:
    label: str
    seconds: list[float]

    def line(self) -> str:
        ms = [s * 1000 for s in self.seconds]
        return (
            f"  {self.label:<46} median {statistics.median(ms):.3f} ms  "
            f"p99 {percentile(ms, 0.99):.3f} ms  mean {statistics.fmean(ms):.3f} ms  "
            f"({len(ms):,} proofs)"
        )


def time_each(calls: Sequence[Callable[[], Any]], budget: float) -> tuple[list[float], list[Any]]:
    """Time each call in turn; stop early (after at least 20) once ``budget`` seconds are spent."""
    seconds: list[float] = []
    results: list[Any] = []
    for call in calls:
        started = time.perf_counter()
        results.append(call())
        seconds.append(time.perf_counter() - started)
        if len(seconds) >= 20 and sum(seconds) > budget:
            break
    return seconds, results


def rate_of(work: Sequence[Callable[[], Any]]) -> float:
    started = time.perf_counter()
    for call in work:
        call()
    return len(work) / (time.perf_counter() - started)


def measure_proofs(size: int, samples: int, budget: float, workdir: Path) -> None:
    path = workdir / "million.db"
    started = time.perf_counter()
    root = build_node_table(path, size)
    built = time.perf_counter() - started
    print(f"  node table of {size:,} leaves built in {built:.1f} s ({path.stat().st_size:,} B)")
    chooser = random.Random(6962)
    indexes = [chooser.randrange(size) for _ in range(samples)]
    olds = [chooser.randrange(1, size) for _ in range(samples)]

    # For diagnosis, and to prepare the verification part quickly: the same node reads through
    # a query that SQLite runs by primary key. Every proof it gives is checked against the
    # recorder's below.
    with sqlite3.connect(path) as conn:
        reader = indexed_reader(conn)
        seconds, proofs = time_each(
            [lambda i=i: inclusion_proof(i, size, reader) for i in indexes], budget
        )
        diagnostic = Latency("diagnostic: same proofs, PK-join node query", seconds)
        consistency = [consistency_proof(m, size, reader) for m in olds]
        old_roots = [root_hash(m, reader) for m in olds]
        plan = "; ".join(
            row[-1]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN " + NODE_QUERY_SQL.format(values="(?,?)"), [0, 0]
            )
        )

    with Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()) as ledger:
        read_nodes = ledger._recorder.read_nodes
        assert ledger.log.size() == size and ledger.log.root() == root
        for index in indexes[:5]:  # warm up the page cache and the code paths
            inclusion_proof(index, size, read_nodes)
        seconds, found = time_each(
            [lambda i=i: inclusion_proof(i, size, read_nodes) for i in indexes], budget
        )
        direct = Latency("inclusion proof, recorder.read_nodes", seconds)
        assert found == proofs[: len(found)]
        seconds, _ = time_each(
            [lambda i=i: ledger.log.inclusion_proof(i, size) for i in indexes], budget
        )
        through_log = Latency("inclusion proof, ledger.log.inclusion_proof", seconds)
        seconds, found = time_each(
            [lambda m=m: consistency_proof(m, size, read_nodes) for m in olds], budget
        )
        consistent = Latency("consistency proof (random old size), read_nodes", seconds)
        assert found == consistency[: len(found)]
    for latency in (direct, through_log, consistent, diagnostic):
        print(latency.line())
    print(f"    query plans: the recorder's node query: {recorder_plan(path)}")
    print(f"                 the diagnostic PK-join:    {plan}")

    indexes = indexes[: len(proofs)]
    leaves = [leaf_hash(leaf_data(i)) for i in indexes]
    inclusion_rate = rate_of(
        [
            lambda i=i, leaf=leaf, proof=proof: verify_inclusion(leaf, i, size, proof, root)
            for i, leaf, proof in zip(indexes, leaves, proofs, strict=True)
        ]
    )
    consistency_rate = rate_of(
        [
            lambda m=m, old_root=old_root, proof=proof: verify_consistency(
                m, size, old_root, root, proof
            )
            for m, old_root, proof in zip(olds, old_roots, consistency, strict=True)
        ]
    )
    signer = NoteSigner(ORIGIN, SigningKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root), [signer])
    receipts = [
        (format_receipt(i, proof, note), leaf_data(i))
        for i, proof in zip(indexes, proofs, strict=True)
    ]
    receipt_rate = rate_of(
        [
            lambda text=text, data=data: verify_receipt(text, data, signer.verifier)
            for text, data in receipts
        ]
    )
    print(f"  inclusion proofs verified            {inclusion_rate:>10,.0f}/s (one core)")
    print(f"  consistency proofs verified          {consistency_rate:>10,.0f}/s (one core)")
    print(
        f"  tlog-proof receipts verified         {receipt_rate:>10,.0f}/s (one core; "
        "parse + Ed25519 note signature + inclusion)"
    )
    median_ms = statistics.median(direct.seconds) * 1000
    print(
        f"  goal: median inclusion-proof latency < {LATENCY_GOAL_MS:g} ms: "
        f"{'met' if median_ms < LATENCY_GOAL_MS else 'MISSED'} ({median_ms:.3f} ms)"
    )


# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help="events per measurement at batch 1; batch 100 stores 5x (default 1000; quick 200)",
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="interleaved rounds (default 5; quick 1)"
    )
    parser.add_argument(
        "--preload", type=int, default=0, help="events stored in each fresh ledger first"
    )
    parser.add_argument(
        "--leaves",
        type=int,
        default=None,
        help="leaves in the proof-latency tree (default 1,000,000; quick 100,000)",
    )
    parser.add_argument(
        "--samples", type=int, default=None, help="proofs timed (default 5,000; quick 1,000)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds to spend at most on each latency series (default 60; quick 10)",
    )
    parser.add_argument(
        "--only", choices=("append", "proofs"), default=None, help="run one part only"
    )
    args = parser.parse_args(argv)
    events = args.events or (200 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 5)
    leaves = args.leaves or (100_000 if args.quick else 1_000_000)
    samples = args.samples or (1_000 if args.quick else 5_000)
    budget = args.budget or (10.0 if args.quick else 60.0)
    if min(events, rounds, leaves, samples) < 1 or args.preload < 0:
        parser.error("counts must be positive")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-log-") as tmp:
        workdir = Path(tmp)
        if args.only in (None, "append"):
            print(
                f"1. Storing signed events on SQLite with and without the Merkle log: {events} at "
                f"batch 1, {5 * events} at batch 100, {rounds} round(s)"
                + (f", preload {args.preload}" if args.preload else "")
            )
            rows = measure_appends(events, rounds, args.preload, workdir)
            print(
                f"\n  Median of {rounds} round(s); overhead = time with log / without - 1 "
                f"(goal <= {OVERHEAD_GOAL:.0%})"
            )
            print(
                f"  {'batch':>5}{'events':>8}{'with log/s':>12}{'without/s':>11}"
                f"{'overhead':>10}  goal"
            )
            for row in rows:
                overhead = statistics.median(row.overheads)
                print(
                    f"  {row.batch:>5}{row.count:>8}"
                    f"{row.count / statistics.median(row.with_log):>12,.0f}"
                    f"{row.count / statistics.median(row.without_log):>11,.0f}"
                    f"{overhead:>+10.1%}  {'met' if overhead <= OVERHEAD_GOAL else 'MISSED'}"
                )
            print(f"  TreeBuilder.append alone: {tree_builder_rate(200_000):,.0f} leaves/s")
        if args.only in (None, "proofs"):
            print(f"\n2. Proofs at {leaves:,} leaves (SQLite node table), {samples:,} samples")
            measure_proofs(leaves, samples, budget, workdir)
    print(
        f"\nTotal {time.perf_counter() - started:.0f} s (Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
