"""Hour records recorded and approved per second, one at a time and as rosters of 50.

For each store (a SQLite file in a temporary directory; PostgreSQL in a schema of its own,
created for the run and dropped afterwards) and each configuration, a fresh ledger is built:
a root federation, a county organisation and a station under it that publishes an activity and
records hours for it. Volunteers are registered beforehand in batches (not measured). Then:

* ``single``: per record, ``ledger.record_hours(...)`` (one ``HoursRecorded``) followed by
  ``ledger.approve_record(...)`` (one ``RecordApproved``, plus the derived events), each a command
  of its own with its own idempotency key;
* ``roster``: per 50 records, ``ledger.record_roster(...)`` with 50 entries followed by
  ``ledger.approve_records(...)`` with the 50 new records: two commands;
* ``history`` (``city`` configuration only): ``single`` again, for volunteers who already hold
  ``--history`` approved records each, to show how a volunteer's history weighs on each command
  (every command reads and verifies the events of the aggregates it touches).

Each volunteer is recorded once per activity, 120 minutes, on the activity's date, on time.

Configurations:

* ``city`` (the demo city's set-up): the root holds an automatic-awards key, publishes the
  default star scheme (100/300/600/1,000/1,500 h) and runs a time bank with a cap and a surplus
  account, so every approval also stages a ``CreditEarned`` signed by the bank's automatic key,
  and reconciles stars;
* ``plain``: no star scheme and no time bank: an approval is one ``RecordApproved``.

The figure is records per second for recording and approving together (each record counted
once), with the two halves given separately, and the events stored per second. Figures are
medians over rounds; every round uses fresh stores.

``--profile`` then runs one configuration (by default SQLite, ``city``: single, roster and
history) under cProfile and prints where the time per record goes: self time grouped by kind
(Ed25519 signing and verifying, pydantic, canonical JSON, SQL driver, eventsourcing, the
ledger's own Python...), the inclusive time of the main steps of the write path, and the top
functions. cProfile inflates Python code against time spent in C and in the database.

Run: ``.venv/bin/python benchmarks/bench_domain.py`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench_support import Stores, postgres_problem

from ledger import Ledger, MemoryKeystore
from ledger.context import Context
from ledger.model.ids import new_volunteer_number, volunteer_aggregate_id
from ledger.results import NoValue
from ledger.storage.url import StoreURL

ROOT, COUNTY, STATION = "city", "county", "county-station1"
ROSTER = 50
MINUTES = 120
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


# The ledger under test


CAP_MINUTES = 1500 * 60  # the time bank's cap on an account, as in the demo city


class City:
    """A fresh ledger with a root, a county and a station that records hours."""

    def __init__(self, store: StoreURL, config: str, cap_minutes: int = CAP_MINUTES) -> None:
        self.config = config
        self.ledger = Ledger(store, keystore=MemoryKeystore())
        self.prefix = uuid.uuid4().hex[:8]
        self.counter = 0
        ledger = self.ledger
        ledger.create(
            name="Benchmark city",
            root_org_id=ROOT,
            root_name="City Volunteer Federation",
            region="140400",
            origin="bench.example/log",
        )
        for parent, org_id, kind in ((ROOT, COUNTY, "organisation"), (COUNTY, STATION, "station")):
            ledger.register_organisation(
                parent,
                org_id=org_id,
                name=org_id,
                kind=kind,
                region="140402",
                idempotency_key=f"org-{org_id}",
            )
            ledger.new_key(parent, for_org=org_id, idempotency_key=f"key-{org_id}")
        if config == "city":
            ledger.new_key(
                ROOT, for_org=ROOT, purpose="automatic-awards", idempotency_key="auto-key"
            )
            ledger.publish_star_scheme(
                ROOT, scheme_id="national-stars", name="National stars", idempotency_key="stars"
            )
            ledger.open_time_bank(
                ROOT,
                bank_id="city-bank",
                cap_minutes=cap_minutes,
                surplus_account=f"city-bank:org:{ROOT}",
                idempotency_key="bank",
            )

    def key(self) -> str:
        self.counter += 1
        return f"bench-{self.prefix}-{self.counter}"

    def volunteers(self, count: int) -> list[str]:
        """Register ``count`` volunteers at the station, 100 per command (not measured)."""
        numbers = [new_volunteer_number() for _ in range(count)]
        signer = self.ledger.signer_for(STATION)
        for start in range(0, count, 100):
            chunk = numbers[start : start + 100]

            def decide(ctx: Context, chunk: list[str] = chunk) -> dict[str, Any]:
                for number in chunk:
                    ctx.emit(
                        "VolunteerRegistered", volunteer_aggregate_id(number), {"number": number}
                    )
                return {}

            self.ledger._writer.run(
                org=STATION,
                signer=signer,
                idempotency_key=self.key(),
                command="bench-volunteers",
                params={"numbers": chunk},
                decide=decide,
                result_type=NoValue,
            )
        return numbers

    def activity(self) -> str:
        """A four-hour activity that ended an hour ago: records made now are on time."""
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
        return str(
            self.ledger.publish_activity(
                STATION,
                title="Benchmark activity",
                field="community-governance",
                place="Station 1",
                starts_at=start,
                ends_at=start + timedelta(hours=4),
                leader="station-leader",
                content="community service",
                idempotency_key=self.key(),
            ).value.activity_id
        )

    def give_history(self, numbers: list[str], records: int) -> None:
        """``records`` approved records of 30 minutes each, one activity per record."""
        for _ in range(records):
            activity_id = self.activity()
            ids = self.ledger.record_roster(
                STATION,
                activity_id=activity_id,
                entries=[{"number": n, "minutes": 30} for n in numbers],
                idempotency_key=self.key(),
            ).value.record_ids
            self.ledger.approve_records(
                STATION, approvals=[{"record_id": r} for r in ids], idempotency_key=self.key()
            )

    def close(self) -> None:
        self.ledger.close()


# Measuring


@dataclass
class Sample:
    records: int = 0
    events: int = 0
    record_seconds: float = 0.0
    approve_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.record_seconds + self.approve_seconds

    def rate(self) -> float:
        return self.records / self.seconds

    def record_rate(self) -> float:
        return self.records / self.record_seconds

    def approve_rate(self) -> float:
        return self.records / self.approve_seconds

    def event_rate(self) -> float:
        return self.events / self.seconds


def run_single(city: City, activity_id: str, numbers: Sequence[str]) -> Sample:
    ledger, sample = city.ledger, Sample()
    for number in numbers:
        started = time.perf_counter()
        recorded = ledger.record_hours(
            STATION,
            activity_id=activity_id,
            number=number,
            minutes=MINUTES,
            idempotency_key=city.key(),
        )
        middle = time.perf_counter()
        approved = ledger.approve_record(
            STATION, record_id=recorded.value.record_id, idempotency_key=city.key()
        )
        sample.record_seconds += middle - started
        sample.approve_seconds += time.perf_counter() - middle
        sample.records += 1
        sample.events += len(recorded.events) + len(approved.events)
    return sample


def run_roster(city: City, activity_id: str, numbers: Sequence[str]) -> Sample:
    ledger, sample = city.ledger, Sample()
    for start in range(0, len(numbers), ROSTER):
        chunk = numbers[start : start + ROSTER]
        started = time.perf_counter()
        recorded = ledger.record_roster(
            STATION,
            activity_id=activity_id,
            entries=[{"number": n, "minutes": MINUTES} for n in chunk],
            idempotency_key=city.key(),
        )
        middle = time.perf_counter()
        approved = ledger.approve_records(
            STATION,
            approvals=[{"record_id": r} for r in recorded.value.record_ids],
            idempotency_key=city.key(),
        )
        sample.record_seconds += middle - started
        sample.approve_seconds += time.perf_counter() - middle
        sample.records += len(chunk)
        sample.events += len(recorded.events) + len(approved.events)
    return sample


@dataclass(frozen=True)
class Plan:
    single: int
    rosters: int
    history: int
    history_volunteers: int
    rounds: int
    kinds: list[str]
    configs: list[str]
    postgres_url: str | None
    profile: str | None

    def modes(self, config: str) -> list[str]:
        modes = ["single", "roster"]
        if config == "city" and self.history > 0 and self.history_volunteers > 0:
            modes.append("history")
        return modes


@dataclass
class Row:
    kind: str
    config: str
    mode: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, value: Callable[[Sample], float]) -> float:
        return statistics.median(value(s) for s in self.samples)


@contextlib.contextmanager
def fresh_city(stores: Stores, kind: str, config: str) -> Iterator[City]:
    store = stores.new(kind)
    city: City | None = None
    try:
        city = City(store, config)
        yield city
    finally:
        if city is not None:
            city.close()
        stores.drop(store)


def measure_round(plan: Plan, stores: Stores, kind: str, config: str) -> dict[str, Sample]:
    """One fresh ledger: single, then rosters, then (city) volunteers with a history."""
    modes = plan.modes(config)
    results: dict[str, Sample] = {}
    with fresh_city(stores, kind, config) as city:
        numbers = city.volunteers(plan.single + plan.rosters * ROSTER)
        activity_id = city.activity()
        results["single"] = run_single(city, activity_id, numbers[: plan.single])
        results["roster"] = run_roster(city, activity_id, numbers[plan.single :])
        if "history" in modes:
            veterans = city.volunteers(plan.history_volunteers)
            city.give_history(veterans, plan.history)
            results["history"] = run_single(city, city.activity(), veterans)
    return results


def measure(plan: Plan, stores: Stores) -> list[Row]:
    rows = {
        (kind, config, mode): Row(kind, config, mode)
        for kind in plan.kinds
        for config in plan.configs
        for mode in plan.modes(config)
    }
    for round_number in range(1, plan.rounds + 1):
        for kind in plan.kinds:
            for config in plan.configs:
                started = time.perf_counter()
                results = measure_round(plan, stores, kind, config)
                parts = []
                for mode, sample in results.items():
                    rows[(kind, config, mode)].samples.append(sample)
                    parts.append(f"{mode} {sample.rate():7.1f}/s")
                print(
                    f"  round {round_number} {kind:<10} {config:<5}  "
                    + "  ".join(parts)
                    + f"  ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    return list(rows.values())


def describe(mode: str, plan: Plan) -> str:
    if mode == "single":
        return "one at a time"
    if mode == "roster":
        return f"rosters of {ROSTER}"
    return f"one at a time, {plan.history} records of history"


def report(rows: list[Row], plan: Plan) -> None:
    print(
        "\nRecords recorded and approved per second (median over "
        f"{plan.rounds} round(s); record+approve counts each record once)\n"
    )
    header = (
        "| store | config | mode | records | records/s | ms/record | record/s | approve/s "
        "| events/record | events/s |"
    )
    print(header)
    print("|" + "---|" * 10)
    for row in rows:
        if not row.samples:
            continue
        events_per_record = row.samples[0].events / row.samples[0].records
        print(
            f"| {row.kind} | {row.config} | {describe(row.mode, plan)} "
            f"| {row.samples[0].records} "
            f"| {row.median(Sample.rate):,.0f} "
            f"| {1000 / row.median(Sample.rate):.2f} "
            f"| {row.median(Sample.record_rate):,.0f} "
            f"| {row.median(Sample.approve_rate):,.0f} "
            f"| {events_per_record:.1f} "
            f"| {row.median(Sample.event_rate):,.0f} |"
        )


# Profiling

CATEGORIES: list[tuple[str, Callable[[str, str], bool]]] = [
    ("Ed25519 verify", lambda f, n: "ed25519" in n.lower() and "verify" in n),
    ("Ed25519 sign", lambda f, n: "ed25519" in n.lower() and "sign" in n),
    ("SQL driver (sqlite3)", lambda f, n: "sqlite3." in n),
    (
        "SQL driver (psycopg) and waiting for the server",
        lambda f, n: "/psycopg" in f or "psycopg" in n or "of 'select.poll'" in n,
    ),
    ("pydantic", lambda f, n: "pydantic" in f or "pydantic" in n),
    ("canonical JSON", lambda f, n: f.endswith("ledger/canonical.py")),
    ("json (stdlib)", lambda f, n: "/json/" in f or "_json" in n),
    ("hashing", lambda f, n: "_hashlib" in n or "openssl_sha" in n or "sha256" in n),
    ("eventsourcing", lambda f, n: "/eventsourcing/" in f),
    ("ledger (own Python)", lambda f, n: "/ledger/" in f),
]

STEPS: list[tuple[str, str, str]] = [
    ("Writer.run: the whole command", "ledger/writer.py", "run"),
    ("  idempotency lookup (Writer._replay)", "ledger/writer.py", "_replay"),
    ("  trust directory refresh", "ledger/trust.py", "refresh"),
    ("  aggregate reads (Writer.read_events)", "ledger/writer.py", "read_events"),
    ("    SQL select (recorder select_events)", "ledger/storage/", "select_events"),
    ("    verify on read (SignedEventMapper.verify)", "ledger/mapper.py", "verify"),
    ("  Context.emit: parse, rules (and the reads they make)", "ledger/context.py", "emit"),
    ("    pydantic parse (EventSpec.parse)", "ledger/model/registry.py", "parse"),
    ("    stars reconciled (reconcile_stars)", "ledger/model/awards.py", "reconcile_stars"),
    ("    credit reconciled (reconcile_credit)", "ledger/model/timebank.py", "reconcile_credit"),
    ("  sealing: authorise, body, JCS, Ed25519 (Writer._seal)", "ledger/writer.py", "_seal"),
    ("    signing (sign_many)", "ledger/signing.py", "sign_many"),
    ("  storing (Writer._store)", "ledger/writer.py", "_store"),
    ("    insert transaction (recorder insert_events)", "eventsourcing/", "insert_events"),
    ("      of which commit", "", "commit"),
    ("signer lookup (Ledger.signer_for)", "ledger/ledger.py", "signer_for"),
]


def _label(key: tuple[str, int, str]) -> tuple[str, str]:
    filename, _, name = key
    return filename.replace("\\", "/"), name


def categorise_one(filename: str, name: str) -> str:
    return next((c for c, test in CATEGORIES if test(filename, name)), "other")


def categorise(stats: pstats.Stats) -> dict[str, float]:
    totals: dict[str, float] = {}
    for key, value in stats.stats.items():  # type: ignore[attr-defined]
        category = categorise_one(*_label(key))
        totals[category] = totals.get(category, 0.0) + value[2]
    return totals


def _short(filename: str) -> str:
    """A file name without its installation prefix: ``ledger/writer.py``, ``uuid.py``."""
    return re.sub(r"^.*?/(src/|site-packages/|lib/python3\.\d+/)", "", filename)


def _matches(filename: str, name: str, where: str, function: str) -> bool:
    if function == "commit":  # the driver's commit: a built-in method of the connection
        return name.startswith("<method 'commit' of") or (
            name == "commit" and "/psycopg/" in filename
        )
    if name != function:
        return False
    return filename.endswith(where) or (where.endswith("/") and where in filename)


def step_times(stats: pstats.Stats) -> dict[str, tuple[float, int]]:
    found: dict[str, tuple[float, int]] = {}
    for label, suffix, function in STEPS:
        cumulative, calls = 0.0, 0
        for key, value in stats.stats.items():  # type: ignore[attr-defined]
            filename, name = _label(key)
            if _matches(filename, name, suffix, function):
                cumulative += value[3]
                calls += value[1]
        found[label] = (cumulative, calls)
    return found


def count_calls(stats: pstats.Stats, test: Callable[[str, str], bool]) -> int:
    return sum(
        value[1]
        for key, value in stats.stats.items()  # type: ignore[attr-defined]
        if test(*_label(key))
    )


def print_profile(title: str, stats: pstats.Stats, records: int, wall: float) -> None:
    total = sum(categorise(stats).values())
    per = 1e6 / records
    print(f"\n### {title}: {records} records")
    print(
        f"\nWall clock without the profiler: {wall * 1e6 / records:,.0f} µs per record; "
        f"under cProfile: {total * per:,.0f} µs per record (cProfile inflates Python code)."
    )
    signs = count_calls(stats, CATEGORIES[1][1])
    verifies = count_calls(stats, CATEGORIES[0][1])
    print(
        f"Ed25519 per record: {signs / records:.1f} signatures, {verifies / records:.1f} "
        "verifications.\n"
    )
    print("| self time, by kind | µs/record | share |")
    print("|---|---|---|")
    for category, seconds in sorted(categorise(stats).items(), key=lambda kv: -kv[1]):
        print(f"| {category} | {seconds * per:,.0f} | {seconds / total:.0%} |")
    print("\n| step (inclusive) | µs/record | calls/record |")
    print("|---|---|---|")
    for label, (cumulative, calls) in step_times(stats).items():
        print(f"| {label} | {cumulative * per:,.0f} | {calls / records:.2f} |")
    others = sorted(
        (
            (value[2], _label(key))
            for key, value in stats.stats.items()  # type: ignore[attr-defined]
            if categorise_one(*_label(key)) == "other"
        ),
        reverse=True,
    )[:8]
    print("\n| largest self times outside those kinds | µs/record |")
    print("|---|---|")
    for tottime, (filename, name) in others:
        print(f"| {_short(filename)}:{name} | {tottime * per:,.0f} |")
    print("\nTop functions by cumulative time:\n")
    stats.sort_stats("cumulative").print_stats(20)


def profile(plan: Plan, stores: Stores) -> None:
    assert plan.profile is not None
    kind, config = plan.profile.split("/")
    print(f"\n## Profile: {kind}, {config}")
    for mode in plan.modes(config):
        # the same work twice on one fresh ledger: once timed, once under the profiler
        with fresh_city(stores, kind, config) as city:
            if mode == "history":
                count = plan.history_volunteers
                numbers = city.volunteers(2 * count)
                city.give_history(numbers, plan.history)
                timed, profiled = (city.activity(), city.activity())
            else:
                count = max(ROSTER, plan.single) if mode == "single" else plan.rosters * ROSTER
                numbers = city.volunteers(2 * count)
                timed = profiled = city.activity()
            runner = run_roster if mode == "roster" else run_single
            sample = runner(city, timed, numbers[:count])
            profiler = cProfile.Profile()
            profiler.enable()
            runner(city, profiled, numbers[count:])
            profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        print_profile(f"{describe(mode, plan)} ({kind}, {config})", stats, count, sample.seconds)


# Command line


def parse_args(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(
        description="Hour records recorded and approved per second, single and rosters of 50."
    )
    parser.add_argument(
        "--single",
        type=int,
        default=None,
        help="records recorded and approved one at a time per round (default 150; quick 20)",
    )
    parser.add_argument(
        "--rosters",
        type=int,
        default=None,
        help=f"rosters of {ROSTER} recorded and approved per round (default 8; quick 1)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=None,
        help="approved records each volunteer holds before the history measurement "
        "(default 10; quick 3; 0 skips it)",
    )
    parser.add_argument(
        "--history-volunteers",
        type=int,
        default=None,
        help="volunteers in the history measurement (default 30; quick 10)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument(
        "--stores", default="sqlite,postgresql", help="stores to measure (default both)"
    )
    parser.add_argument(
        "--configs",
        default="city,plain",
        help="configurations: city (star scheme and time bank), plain (neither)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="PostgreSQL database; each ledger gets a schema of its own, dropped afterwards",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="sqlite/city",
        default=None,
        metavar="STORE/CONFIG",
        help="after measuring, cProfile each mode of one configuration (default sqlite/city)",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)

    def pick(value: int | None, full: int, quick: int) -> int:
        return value if value is not None else (quick if args.quick else full)

    kinds = [k.strip() for k in args.stores.split(",") if k.strip()]
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for kind in kinds:
        if kind not in ("sqlite", "postgresql"):
            parser.error(f"unknown store {kind!r}")
    for config in configs:
        if config not in ("city", "plain"):
            parser.error(f"unknown configuration {config!r}")
    if args.profile is not None:
        kind, _, config = args.profile.partition("/")
        if kind not in ("sqlite", "postgresql") or config not in ("city", "plain"):
            parser.error("--profile takes STORE/CONFIG, for example sqlite/city")
    postgres_url: str | None = args.postgres_url
    needs_postgres = "postgresql" in kinds or (args.profile or "").startswith("postgresql")
    if needs_postgres:
        problem = postgres_problem(args.postgres_url)
        if problem is not None:
            print(f"PostgreSQL at {args.postgres_url} is not available ({problem}); skipped.")
            kinds = [k for k in kinds if k != "postgresql"]
            postgres_url = None
            if (args.profile or "").startswith("postgresql"):
                args.profile = None
    return Plan(
        single=pick(args.single, 150, 20),
        rosters=pick(args.rosters, 8, 1),
        history=pick(args.history, 10, 3),
        history_volunteers=pick(args.history_volunteers, 30, 10),
        rounds=pick(args.rounds, 3, 1),
        kinds=kinds,
        configs=configs,
        postgres_url=postgres_url,
        profile=args.profile,
    )


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    if not plan.kinds and plan.profile is None:
        print("Nothing to measure.")
        return 1
    print(
        f"Per round and configuration: {plan.single} records one at a time, "
        f"{plan.rosters} roster(s) of {ROSTER}"
        + (
            f", {plan.history_volunteers} volunteers with {plan.history} records of history"
            if plan.history and "city" in plan.configs
            else ""
        )
        + f"; {plan.rounds} round(s); stores: {', '.join(plan.kinds) or 'none'}; "
        f"configurations: {', '.join(plan.configs)}"
    )
    stores = Stores(plan.postgres_url, "bench-domain")
    started = time.perf_counter()
    try:
        if plan.kinds:
            report(measure(plan, stores), plan)
        if plan.profile:
            profile(plan, stores)
    finally:
        stores.close()
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
