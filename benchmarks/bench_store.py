"""Signed events stored per second, against plain eventsourcing storing unsigned events.

For each store (a SQLite file in a temporary directory; PostgreSQL in schemas of its own, dropped
afterwards) and each batch size (1 and 100 events per insert), this stores the same number of
events twice, interleaved round by round:

* unsigned: a plain ``eventsourcing`` application with the same persistence settings (same
  recorder kind, same environment as the ledger's store URL gives) saving domain events whose
  state is a JSON envelope of the same size as a signed one; ``app.save(event)`` per event at
  batch 1, ``app.save(*events)`` with 100 events at batch 100. No signing, no Merkle log, no reads.
* signed: the ledger's public write path. At batch 1, ``ledger.register_volunteer(...)`` per event
  (a verified read of state, the idempotency claim, an Ed25519 signature, a Merkle leaf). At
  batch 100, one ``ledger._writer.run(...)`` command staging 100 ``VolunteerRegistered`` events.

Every round starts from fresh, empty stores (plus ``--preload`` events), so rounds are comparable;
the reported figures are medians over rounds, and the ratio is the median of each round's
signed/unsigned ratio. The goal is a ratio of at least 0.7.

Run: ``.venv/bin/python benchmarks/bench_store.py`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import math
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench_support import Stores, postgres_problem
from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent

from ledger import Ledger, MemoryKeystore
from ledger.context import Context
from ledger.model.aggregates import Volunteer
from ledger.model.ids import new_volunteer_number, volunteer_aggregate_id
from ledger.results import NoValue
from ledger.storage.url import StoreURL

GOAL = 0.7
BATCH_SIZES = (1, 100)
ORG = "org-a"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "LEDGER_BENCH_POSTGRES_URL"
# Settings that make the ledger's store the ledger's (its recorder subclass and signed mapper,
# and on SQLite its factory, below); everything else in the store URL's environment is shared
# with the unsigned baseline.
LEDGER_ONLY_SETTINGS = ("APPLICATION_RECORDER_TOPIC", "MAPPER_TOPIC")
ENGINE_FACTORIES = {"memory": "eventsourcing.popo", "sqlite": "eventsourcing.sqlite"}


# The unsigned baseline: plain eventsourcing


@dataclass(frozen=True)
class PlainRegistered(DomainEvent):
    """An unsigned event whose state is a JSON envelope shaped like a signed one."""

    envelope: dict[str, Any]


class PlainApplication(Application[uuid.UUID]):
    name = "plainbench"


class Baseline:
    """Plain eventsourcing on the same store kind, with the same persistence settings."""

    def __init__(
        self, store: StoreURL, target_state_size: int, *, create_table: bool = True
    ) -> None:
        env = {k: v for k, v in store.eventsourcing_env().items() if k not in LEDGER_ONLY_SETTINGS}
        # the engine's own factory (the ledger's SQLite one keeps more statements; its memory
        # one makes the ledger's recorder)
        env["PERSISTENCE_MODULE"] = ENGINE_FACTORIES.get(store.kind, env["PERSISTENCE_MODULE"])
        if not create_table:  # the tables exist: several processes creating them at once fail
            env["CREATE_TABLE"] = "n"
        self.app = PlainApplication(env=env)
        self.padding = 0
        self.padding = max(0, target_state_size - self.state_size(self.event("calibrate")))
        self.counter = 0

    def event(self, key: str) -> PlainRegistered:
        number = new_volunteer_number()
        aggregate_id = uuid.uuid4()
        now = _now()
        envelope = {
            "body": {
                "type": "VolunteerRegistered",
                "org": ORG,
                "key_id": "0" * 32,
                "aggregate_id": str(aggregate_id),
                "aggregate_version": 1,
                "occurred_at": now,
                "idempotency_key": key,
                "data": {"number": number},
            },
            "signature": "A" * self.padding,
            "recorded_at": now,
        }
        return PlainRegistered(
            originator_id=aggregate_id,
            originator_version=1,
            timestamp=PlainRegistered.create_timestamp(),
            envelope=envelope,
        )

    def state_size(self, event: PlainRegistered) -> int:
        return len(self.app.mapper.to_stored_event(event).state)

    def store(self, count: int, batch: int) -> None:
        for _ in range(count // batch):
            self.counter += 1
            key = f"p{self.counter}"
            self.app.save(*[self.event(f"{key}-{i}") for i in range(batch)])

    def close(self) -> None:
        self.app.close()


# The signed path: the ledger's public API


class Signed:
    """A fresh ledger with a root, one organisation and its key, ready to register volunteers."""

    def __init__(self, store: StoreURL) -> None:
        self.ledger = Ledger(store, keystore=MemoryKeystore())
        self.ledger.create(
            name="Benchmark ledger",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="bench.example/log",
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

    def _key(self) -> str:
        self.counter += 1
        return f"bench-{self.prefix}-{self.counter}"

    def register_one(self) -> str:
        """One command, one signed event; returns the event's stored envelope."""
        result = self.ledger.register_volunteer(ORG, idempotency_key=self._key())
        ref = result.events[0]
        return self.ledger.event(ref.aggregate_id, ref.version).envelope.decode()

    def register_batch(self, size: int) -> None:
        """One command staging ``size`` events, signed and stored in one insert."""
        numbers = [new_volunteer_number() for _ in range(size)]

        def decide(ctx: Context) -> dict[str, Any]:
            for number in numbers:  # as register_volunteer does: a new random number is not read
                ctx.fresh(Volunteer, volunteer_aggregate_id(number))
                ctx.emit("VolunteerRegistered", volunteer_aggregate_id(number), {"number": number})
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

    def store(self, count: int, batch: int) -> None:
        if batch == 1:
            for _ in range(count):
                self.ledger.register_volunteer(ORG, idempotency_key=self._key())
        else:
            for _ in range(count // batch):
                self.register_batch(batch)

    def log_size(self) -> int:
        return self.ledger.log_size()

    def close(self) -> None:
        self.ledger.close()


# Stores


# Measuring


@dataclass
class Sample:
    unsigned: float
    signed: float
    log_before: int
    log_after: int

    @property
    def ratio(self) -> float:
        return self.signed / self.unsigned


@dataclass
class Row:
    kind: str
    batch: int
    samples: list[Sample] = field(default_factory=list)

    def median(self, value: Callable[[Sample], float]) -> float:
        return statistics.median(value(s) for s in self.samples)


@dataclass
class Plan:
    events: int
    batch_events: int
    rounds: int
    preload: int
    kinds: list[str]
    postgres_url: str | None
    profile: bool

    def count(self, batch: int) -> int:
        if batch == 1:
            return self.events
        return max(batch, self.batch_events // batch * batch)


def rate(count: int, batch: int, target: Baseline | Signed) -> float:
    """Events per second storing ``count`` events ``batch`` at a time into ``target``."""
    started = time.perf_counter()
    target.store(count, batch)
    return count / (time.perf_counter() - started)


@contextlib.contextmanager
def round_stores(
    stores: Stores, kind: str, preload: int
) -> Iterator[tuple[Baseline, Signed, tuple[int, int]]]:
    """A fresh ledger and a fresh baseline store of ``kind``, warmed up and preloaded."""
    signed_url, plain_url = stores.new(kind, "signed"), stores.new(kind, "plain")
    signed: Signed | None = None
    baseline: Baseline | None = None
    try:
        signed = Signed(signed_url)
        sample_envelope = signed.register_one()  # also warms up the signed path
        baseline = Baseline(plain_url, len(sample_envelope.encode()))
        baseline.store(1, 1)  # warm up
        sizes = (len(sample_envelope.encode()), baseline.state_size(baseline.event("size")))
        if preload:
            signed.store(preload // 100 * 100, 100)
            baseline.store(preload // 100 * 100, 100)
        yield baseline, signed, sizes
    finally:
        if baseline is not None:
            baseline.close()
        if signed is not None:
            signed.close()
        stores.drop(signed_url)
        stores.drop(plain_url)


def measure(plan: Plan, stores: Stores) -> list[Row]:
    rows = [Row(kind, batch) for kind in plan.kinds for batch in BATCH_SIZES]
    for round_number in range(1, plan.rounds + 1):
        for kind in plan.kinds:
            with round_stores(stores, kind, plan.preload) as (baseline, signed, sizes):
                if round_number == 1:
                    print(
                        f"  {kind}: a stored event's state is {sizes[0]} bytes signed, "
                        f"{sizes[1]} bytes unsigned"
                    )
                for row in (r for r in rows if r.kind == kind):
                    count = plan.count(row.batch)
                    before = signed.log_size()
                    unsigned_rate = rate(count, row.batch, baseline)
                    signed_rate = rate(count, row.batch, signed)
                    sample = Sample(unsigned_rate, signed_rate, before, signed.log_size())
                    row.samples.append(sample)
                    print(
                        f"  round {round_number} {kind:<10} batch {row.batch:>3}: "
                        f"unsigned {unsigned_rate:>8,.0f}/s  signed {signed_rate:>8,.0f}/s  "
                        f"ratio {sample.ratio:.2f}  (ledger log {before:,} -> "
                        f"{sample.log_after:,})",
                        flush=True,
                    )
    return rows


def report(rows: list[Row], plan: Plan) -> None:
    print()
    print(
        f"Median of {plan.rounds} round(s); ratio = median of per-round signed/unsigned "
        f"(goal >= {GOAL})"
    )
    print(
        f"{'store':<11}{'batch':>6}{'events':>8}{'unsigned/s':>13}{'signed/s':>11}"
        f"{'ratio':>8}  goal"
    )
    for row in rows:
        ratio = row.median(lambda s: s.ratio)
        print(
            f"{row.kind:<11}{row.batch:>6}{plan.count(row.batch):>8}"
            f"{row.median(lambda s: s.unsigned):>13,.0f}{row.median(lambda s: s.signed):>11,.0f}"
            f"{ratio:>8.2f}  {'met' if ratio >= GOAL else 'MISSED'}"
        )


# Profiling

# The signed write path's steps, timed by wrapping the ledger's methods (no profiler overhead).
# The first five are disjoint; the indented ones happen inside "insert transaction". A step whose
# method no longer exists is reported as missing rather than failing the benchmark.
STEPS: tuple[tuple[str, str, str, str], ...] = (
    ("ledger.trust", "TrustDirectory", "refresh", "trust directory refresh (every call)"),
    ("ledger.writer", "Writer", "_replay", "idempotency lookup before deciding"),
    ("ledger.writer", "Writer", "read_events", "aggregate state reads (one query per aggregate)"),
    ("ledger.writer", "Writer", "_seal", "sealing: authorise, validate, JCS, Ed25519, envelope"),
    ("ledger.writer", "Writer", "_store", "insert transaction, including commit"),
    ("ledger.storage.{kind}_recorder", "LedgerRecorder", "_log_size", "  in it: log size query"),
    (
        "ledger.storage.{kind}_recorder",
        "LedgerRecorder",
        "_read_nodes",
        "  in it: Merkle frontier read",
    ),
)


@contextlib.contextmanager
def timed_steps(kind: str) -> Iterator[dict[str, float]]:
    """Seconds spent in each of STEPS while the block runs (NaN: step not found)."""
    import importlib
    import inspect

    spent: dict[str, float] = {}
    restore: list[tuple[type, str, Any]] = []
    for module_name, class_name, attribute, label in STEPS:
        owner = getattr(importlib.import_module(module_name.format(kind=kind)), class_name, None)
        original = None if owner is None else inspect.getattr_static(owner, attribute, None)
        if owner is None or original is None:
            spent[label] = float("nan")
            continue
        is_static = isinstance(original, staticmethod)
        function = original.__func__ if is_static else original
        spent[label] = 0.0

        def timed(*args: Any, _f: Any = function, _label: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(owner, attribute, staticmethod(timed) if is_static else timed)
        restore.append((owner, attribute, original))
    try:
        yield spent
    finally:
        for owner, attribute, original in reversed(restore):
            setattr(owner, attribute, original)


@contextlib.contextmanager
def timed_statements() -> Iterator[dict[str, float]]:
    """Wall-clock seconds in each SQLite statement (named by its first words) and in COMMIT,
    through eventsourcing's cursor and connection, while the block runs."""
    from eventsourcing.sqlite import SQLiteConnection, SQLiteCursor

    spent: dict[str, float] = {}
    originals = [
        (SQLiteCursor, "execute"),
        (SQLiteCursor, "executemany"),
        (SQLiteConnection, "commit"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name in originals]

    def timing(function: Any, many: bool) -> Any:
        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            label = "COMMIT" if not args else " ".join(str(args[0]).split()[:4])[:48]
            if many:
                label += " (executemany)"
            started = time.perf_counter()
            try:
                return function(self, *args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        return timed

    for owner, name, function in saved:
        setattr(owner, name, timing(function, name == "executemany"))
    try:
        yield spent
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


def statements_profile(baseline: Baseline, signed: Signed, count: int, batch: int) -> None:
    """Each statement's time per event, signed and unsigned, and each path's wall clock against
    its CPU time: what a command waits for beyond its own work."""
    times: dict[str, tuple[float, float, dict[str, float]]] = {}
    for label, target in (("unsigned", baseline), ("signed", signed)):
        with timed_statements() as spent:
            wall, cpu = time.perf_counter(), time.process_time()
            target.store(count, batch)
            times[label] = (time.perf_counter() - wall, time.process_time() - cpu, spent)
    print()
    print(f"Statements: sqlite, batch {batch}, {count} events (wall clock us per event)")
    print(f"{'unsigned':>10}{'signed':>10}  statement")
    unsigned, signed_spent = times["unsigned"][2], times["signed"][2]
    for statement in sorted(
        {*unsigned, *signed_spent}, key=lambda k: -max(unsigned.get(k, 0), signed_spent.get(k, 0))
    ):
        cells = [
            f"{1e6 * spent[statement] / count:>10.1f}" if statement in spent else f"{'':>10}"
            for spent in (unsigned, signed_spent)
        ]
        print(f"{cells[0]}{cells[1]}  {statement}")
    for label, (wall, cpu, _) in times.items():
        print(
            f"{label}: wall {1e6 * wall / count:,.0f} us, CPU {1e6 * cpu / count:,.0f} us, "
            f"waiting {1e6 * (wall - cpu) / count:,.0f} us per event"
        )


def profile(plan: Plan, stores: Stores) -> None:
    """Where the signed path's time goes, per store and batch size, per signed event."""
    for kind in plan.kinds:
        if kind == "sqlite":
            for batch in BATCH_SIZES:
                with round_stores(stores, kind, plan.preload) as (baseline, signed, _sizes):
                    statements_profile(baseline, signed, plan.count(batch), batch)
        for batch in BATCH_SIZES:
            count = plan.count(batch)
            with round_stores(stores, kind, plan.preload) as (baseline, signed, _sizes):
                unsigned_rate = rate(count, batch, baseline)
                before = signed.log_size()
                with timed_steps(kind) as spent:
                    started = time.perf_counter()
                    signed.store(count, batch)
                    total = time.perf_counter() - started
            print()
            print(
                f"Steps: signed path, {kind}, batch {batch}, {count} events from ledger log "
                f"{before:,}: {1e6 * total / count:,.0f} us per signed event "
                f"(unsigned: {1e6 / unsigned_rate:,.0f} us)"
            )
            accounted = 0.0
            for label, seconds in spent.items():
                if math.isnan(seconds):
                    print(f"{'missing':>10}  {label}")
                    continue
                if not label.startswith(" "):
                    accounted += seconds
                print(f"{1e6 * seconds / count:>10,.1f}  {label}")
            print(
                f"{1e6 * (total - accounted) / count:>10,.1f}  rest: deciding (event rules, data "
                "schema), signer lookup, request hash, result"
            )
            with round_stores(stores, kind, plan.preload) as (_, signed, _sizes):
                before = signed.log_size()
                profiler = cProfile.Profile()
                profiler.enable()
                signed.store(count, batch)
                profiler.disable()
            print()
            print(
                f"cProfile: signed path, {kind}, batch {batch}, {count} events from ledger log "
                f"{before:,} (cumulative and own microseconds per signed event; cProfile "
                "inflates Python-heavy code)"
            )
            print_profile(pstats.Stats(profiler), count)


def print_profile(stats: pstats.Stats, events: int, top: int = 28) -> None:
    entries: list[tuple[float, float, int, str]] = []
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, own, cumulative, _) in raw.items():
        where = _short(filename)
        if where is None:
            continue
        label = f"{where}:{line}({name})" if line else name
        entries.append((cumulative, own, calls, label))
    entries.sort(reverse=True)
    print(f"{'cum us':>9}{'own us':>9}{'calls':>7}  function")
    for cumulative, own, calls, label in entries[:top]:
        print(
            f"{cumulative / events * 1e6:>9.1f}{own / events * 1e6:>9.1f}"
            f"{calls / events:>7.2f}  {label}"
        )


def _short(filename: str) -> str | None:
    """Where a profiled function lives, shortened; None to leave it out of the table."""
    if filename == "~":  # built-ins: keep only the database and signing calls
        return ""
    for marker in ("/ledger/", "/eventsourcing/", "/psycopg/"):
        if marker in filename:
            return marker.strip("/") + "/" + filename.split(marker, 1)[1]
    return None


# Command line


def parse_args(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(
        description="Signed events stored per second vs plain eventsourcing (goal ratio >= 0.7)."
    )
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help="events per measurement at batch size 1 (default 1000; --quick: 100)",
    )
    parser.add_argument(
        "--batch-events",
        type=int,
        default=None,
        help="events per measurement at batch size 100 (default 5 x --events)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="interleaved rounds, each on fresh stores (default 5; --quick: 1)",
    )
    parser.add_argument(
        "--preload",
        type=int,
        default=0,
        help="events stored in each fresh store before measuring, to measure a larger ledger",
    )
    parser.add_argument(
        "--stores",
        default="sqlite,postgresql",
        help="comma-separated store kinds to measure: memory, sqlite, postgresql "
        "(default: sqlite,postgresql)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        help=f"PostgreSQL database (default ${POSTGRES_URL_ENV} or {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after measuring, cProfile the signed path and print where its time goes",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    events = args.events if args.events is not None else (100 if args.quick else 1000)
    batch_events = args.batch_events if args.batch_events is not None else 5 * events
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    if events < 1 or batch_events < 1 or rounds < 1 or args.preload < 0:
        parser.error("--events, --batch-events and --rounds must be positive")
    kinds = [k.strip() for k in args.stores.split(",") if k.strip()]
    unknown = set(kinds) - {"memory", "sqlite", "postgresql"}
    if unknown or not kinds:
        parser.error(f"--stores takes memory, sqlite and postgresql, not {sorted(unknown)}")
    postgres_url: str | None = args.postgres_url.split("?")[0]
    if "postgresql" in kinds:
        problem = postgres_problem(str(postgres_url))
        if problem is not None:
            print(f"Skipping PostgreSQL: {postgres_url} is not available ({problem})")
            kinds.remove("postgresql")
            postgres_url = None
    return Plan(events, batch_events, rounds, args.preload, kinds, postgres_url, args.profile)


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    if not plan.kinds:
        print("Nothing to measure.")
        return 1
    print(
        f"Storing {plan.events} events at batch 1 and {plan.count(100)} at batch 100, "
        f"{plan.rounds} round(s), stores: {', '.join(plan.kinds)}"
        + (f", preload {plan.preload}" if plan.preload else "")
    )
    stores = Stores(plan.postgres_url, "bench-store")
    started = time.perf_counter()
    try:
        rows = measure(plan, stores)
        report(rows, plan)
        if plan.profile:
            profile(plan, stores)
    finally:
        stores.close()
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    return 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


if __name__ == "__main__":
    sys.exit(main())
