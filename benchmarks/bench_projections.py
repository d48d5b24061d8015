"""Projections: events applied per second catching up from empty, and leaderboard latency.

1. **Catch-up.** A ledger of at least 50,000 events (``--quick``: about 6,000) is built once on
   a SQLite file and cached under the temporary directory (reused by later runs; ``--rebuild-cache``
   builds it again). It is a city of 12 stations under 3 counties whose volunteers serve three
   activities each: registrations, hour records, approvals, and the stars and time-bank credit the
   rules derive from approvals, plus a few corrections and voids. It is built fast by staging
   many events per command (``ledger._writer.run`` with a decision that emits a whole station's
   registrations; rosters and approvals of up to 1,000 records per command): the same signed
   write path as any command.

   For PostgreSQL the same stored events (the same signed bytes) are copied into a fresh schema
   through the ledger's recorder (``insert_events``, which also builds the Merkle log).

   Then, on each store, fresh empty views (a new SQLite file; a new PostgreSQL schema) are caught
   up from the first event with ``ledger.projections(views_url, verify=...)``, running the same
   loop as ``Projections.catch_up()`` (batches of 500 notifications, one transaction each) but
   stopping after ``--budget`` seconds: once with ``verify=False`` (stored bodies applied as they
   are: the issue's goal is at least 20,000 events per second on SQLite, excluding signature
   verification, which the audit does) and once with ``verify=True`` (every event's signature
   and key checked before it is applied). The figure is notifications applied / wall-clock
   seconds (for SQLite with ``verify=False``, the goal's figure, the median over ``--rounds``;
   the other cases run once); the rate per 5,000-event segment is printed too, since
   verification currently slows down as the log grows (see docs/performance.md).

   Building shortcut: while the ledger is *built*, the building Ledger instance's
   ``directory.authorise_at`` skips the trust directory refresh it does for every event read
   (every command already refreshes the directory when it starts, and no key changes during the
   build). Without this the build is quadratic in the log size. The measurements use fresh Ledger
   objects with nothing patched.

2. **Leaderboard latency.** The reads of ``bench_leaderboards.py`` (the maintained
   ``view_rank_*`` rows of 100,000 volunteers, ``--quick``: 20,000, **inserted directly**, not
   through events: this part measures the queries, not the projection): the first page, a page
   50 pages deep (by cursor), one year, one county in one year, and the organisations' boards.
   Median and p99 over ``--queries`` runs each. ``bench_leaderboards.py`` compares two sizes.

Run: ``.venv/bin/python benchmarks/bench_projections.py`` (``--quick`` for a smoke run,
``--profile`` to print where catch-up time goes, ``--help``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_leaderboards import fill as fill_boards
from bench_leaderboards import measure as measure_boards
from eventsourcing.persistence import StoredEvent

from ledger import Ledger, MemoryKeystore
from ledger.context import Context
from ledger.model.ids import volunteer_aggregate_id
from ledger.projections import ViewDatabase
from ledger.projections.runner import BATCH
from ledger.results import NoValue
from ledger.storage.url import parse_store_url

GOAL = 20_000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "LEDGER_BENCH_POSTGRES_URL"
COUNTIES = ("luzhou", "shangdang", "tunliu")
FIELDS = ("legal-aid", "emergency-rescue", "care-for-elderly-and-children", "culture-and-arts")
BUILD_VERSION = 2  # part of the cache file name: bump when the history's shape changes
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# Building the ledger


def _number(rng: random.Random) -> str:
    return "V" + "".join(rng.choice(ALPHABET) for _ in range(13))


def stations() -> list[tuple[str, str]]:
    """(station, its township) for 3 counties x 2 townships x 2 stations."""
    return [
        (f"{county}-town{t}-station{s}", f"{county}-town{t}")
        for county in COUNTIES
        for t in (1, 2)
        for s in (1, 2)
    ]


def build_ledger(url: str, volunteers: int, seed: int = 7) -> dict[str, int]:
    """Fill an empty ledger; returns counts of what was written."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        ledger.create(
            name="Projection benchmark ledger",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="bench.example/ledger",
        )
        directory = ledger._directory
        directory.authorise_at = (  # type: ignore[method-assign]  # the building shortcut
            lambda key_id, org_id, position, purpose: directory.authorise(
                key_id, org_id, position, purpose
            )
        )
        ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
        ledger.publish_star_scheme(
            "city", scheme_id="national-stars", name="National stars", idempotency_key="national"
        )
        ledger.publish_star_scheme(
            "city",
            scheme_id="youth-stars",
            name="Youth stars",
            thresholds_hours=[2, 5, 10, 20, 40],
            idempotency_key="youth",
        )
        ledger.open_time_bank(
            "city",
            bank_id="city-bank",
            cap_minutes=600,
            surplus_account="city-bank:org:city",
            idempotency_key="bank",
        )

        def register(parent: str, org_id: str, kind: str) -> None:
            ledger.register_organisation(
                parent,
                org_id=org_id,
                name=org_id,
                kind=kind,
                region="140401",
                idempotency_key=f"org-{org_id}",
            )
            ledger.new_key(parent, for_org=org_id, idempotency_key=f"key-{org_id}")

        for county in COUNTIES:
            register("city", county, "organisation")
            for t in (1, 2):
                register(county, f"{county}-town{t}", "organisation")
        for station, township in stations():
            register(township, station, "station")

        per_station = max(1, volunteers // len(stations()))
        members: dict[str, list[str]] = {}
        for station, _ in stations():
            numbers = [_number(rng) for _ in range(per_station)]
            members[station] = numbers
            for start in range(0, len(numbers), 1000):
                chunk = numbers[start : start + 1000]

                def decide(ctx: Context, chunk: list[str] = chunk) -> dict[str, Any]:
                    for number in chunk:
                        ctx.emit(
                            "VolunteerRegistered",
                            volunteer_aggregate_id(number),
                            {"number": number},
                        )
                    return {}

                ledger._writer.run(
                    org=station,
                    signer=ledger.signer_for(station),
                    idempotency_key=f"register-{station}-{start}",
                    command="VolunteerRegistered",
                    params={"numbers": chunk},
                    decide=decide,
                    result_type=NoValue,
                )
            counts["volunteers"] = counts.get("volunteers", 0) + len(numbers)

        approved: list[tuple[str, str, str]] = []  # record, station, township
        for a in range(3):
            for station, township in stations():
                day = datetime(2025, 1, 6, 9, tzinfo=UTC) + timedelta(
                    days=7 * (a * 12) + rng.randrange(60)
                )
                hours = rng.randint(2, 4)
                activity = ledger.publish_activity(
                    station,
                    title=f"Activity {a}",
                    field=rng.choice(FIELDS),
                    place="square",
                    starts_at=day,
                    ends_at=day + timedelta(hours=hours),
                    leader="lead",
                    content="service",
                    people_served=rng.randint(10, 300),
                    idempotency_key=f"activity-{station}-{a}",
                    occurred_at=day - timedelta(days=3),
                ).value.activity_id
                numbers = members[station]
                for start in range(0, len(numbers), 1000):
                    chunk = numbers[start : start + 1000]
                    recorded = ledger.record_roster(
                        station,
                        activity_id=activity,
                        idempotency_key=f"roster-{activity}-{start}",
                        entries=[
                            {"number": n, "minutes": rng.randint(60, hours * 60)} for n in chunk
                        ],
                        occurred_at=day + timedelta(days=rng.choice((1, 2, 5, 20))),
                    )
                    ids = recorded.value.record_ids
                    ledger.approve_records(
                        station,
                        approvals=[{"record_id": r} for r in ids],
                        idempotency_key=f"approve-{activity}-{start}",
                    )
                    approved += [(r, station, township) for r in ids]
                counts["records"] = counts.get("records", 0) + len(numbers)
        for i, (record, station, township) in enumerate(rng.sample(approved, len(approved) // 100)):
            if i % 3 == 2:
                ledger.void_record(
                    township, record_id=record, grounds="spot check", idempotency_key=f"void-{i}"
                )
                counts["voids"] = counts.get("voids", 0) + 1
            else:
                ledger.correct_record(
                    station,
                    record_id=record,
                    delta_minutes=-15,
                    reason="left early",
                    idempotency_key=f"correct-{i}",
                )
                counts["corrections"] = counts.get("corrections", 0) + 1
        counts["events"] = len(ledger._recorder.select_notifications(1, 10**9))
    return counts


def cached_ledger(volunteers: int, rebuild: bool) -> tuple[str, int, float | None]:
    """The cached SQLite ledger's URL, its event count, and the build time (None if reused)."""
    path = Path(tempfile.gettempdir()) / f"bench-projections-v{BUILD_VERSION}-{volunteers}.db"
    url = f"sqlite:///{path}"
    if path.exists() and not rebuild:
        with Ledger(url, keystore=MemoryKeystore()) as ledger:
            events = len(ledger._recorder.select_notifications(1, 10**9))
        if events:
            return url, events, None
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    counts = build_ledger(url, volunteers)
    return url, counts["events"], time.perf_counter() - started


# PostgreSQL: a schema of our own, and a copy of the SQLite ledger's events


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    import psycopg

    schema = "bench_proj_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def copy_events(source: Ledger, target: Ledger, page: int = 2000) -> int:
    """Store the source's events, byte for byte, in the target (which builds its own log)."""
    copied, start = 0, 1
    while True:
        batch = source._recorder.select_notifications(start, page)
        if not batch:
            return copied
        target._recorder.insert_events(
            [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in batch]
        )
        copied += len(batch)
        start = batch[-1].id + 1


# Measurements


@dataclass
class CatchUp:
    applied: int
    seconds: float
    cpu: float  # this process's CPU seconds (SQLite runs in-process; PostgreSQL's server does not)
    segments: list[tuple[int, float]]  # (events applied so far, events/s in that segment)
    complete: bool

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        """Events per CPU-second of this process: what a quiet machine's core would give."""
        return self.applied / self.cpu if self.cpu else 0.0


def catch_up_from_empty(
    ledger: Ledger, views_url: str, verify: bool, budget: float, segment: int = 5000
) -> CatchUp:
    """Catch fresh, empty views up from the first event, as ``Projections.catch_up()`` does
    (the same loop: read 500 notifications after the lowest position, apply them in one
    transaction), but stop once ``budget`` seconds have passed."""
    views = ledger.projections(views_url, verify=verify)
    applied, marks, last_mark = 0, [], (0, 0.0)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        while True:
            positions = views.positions()
            batch = ledger._recorder.select_notifications(min(positions.values()) + 1, BATCH)
            if not batch:
                complete = True
                break
            views._apply_batch(batch, positions)
            applied += len(batch)
            elapsed = time.perf_counter() - started
            if applied - last_mark[0] >= segment:
                marks.append((applied, (applied - last_mark[0]) / (elapsed - last_mark[1])))
                last_mark = (applied, elapsed)
            if elapsed > budget:
                complete = False
                break
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if complete:
            assert views.position() == ledger._recorder.max_notification_id()
    finally:
        views.close()
    return CatchUp(applied, seconds, cpu, marks, complete)


def median_catch_up(
    ledger: Ledger, fresh_url: Callable[[], str], verify: bool, rounds: int, budget: float
) -> CatchUp:
    runs = [catch_up_from_empty(ledger, fresh_url(), verify, budget) for _ in range(rounds)]
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


@contextmanager
def views_without(name: str) -> Iterator[None]:
    """The projections keep every view but ``name`` inside (``VIEWS`` is the runner's list)."""
    from ledger.projections import runner

    kept = dict(runner.VIEWS)
    if name not in kept:
        raise SystemExit(f"no view {name!r}; views: {sorted(kept)}")
    del runner.VIEWS[name]
    try:
        yield
    finally:
        runner.VIEWS.clear()
        runner.VIEWS.update(kept)


def cost_of_view(
    ledger: Ledger, fresh_url: Callable[[], str], name: str, rounds: int, budget: float
) -> None:
    """Catch-up (SQLite, verify=False) with every view and without ``name``, rounds
    alternating which goes first; medians of events per CPU-second and wall-clock rate."""
    runs: dict[bool, list[CatchUp]] = {True: [], False: []}
    for r in range(rounds):
        for included in (True, False) if r % 2 == 0 else (False, True):
            if included:
                runs[True].append(catch_up_from_empty(ledger, fresh_url(), False, budget))
            else:
                with views_without(name):
                    runs[False].append(catch_up_from_empty(ledger, fresh_url(), False, budget))
    cpu = {k: statistics.median(r.cpu_rate for r in v) for k, v in runs.items()}
    wall = {k: statistics.median(r.rate for r in v) for k, v in runs.items()}
    print(
        f"  sqlite      without {name!r}: {wall[False]:,.0f}/s, {cpu[False]:,.0f} per CPU-second; "
        f"with it: {wall[True]:,.0f}/s, {cpu[True]:,.0f} per CPU-second "
        f"(with / without, per CPU-second: {cpu[True] / cpu[False]:.2f}; {rounds} rounds each)"
    )


def profile_catch_up(ledger: Ledger, views_url: str, verify: bool, top: int = 22) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    catch_up_from_empty(ledger, views_url, verify, budget=30)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def leaderboard(url: str, volunteers: int, count: int) -> list[tuple[str, float, float]]:
    """The leaderboard reads of ``bench_leaderboards`` over ``volunteers`` synthetic rows."""
    database = ViewDatabase(parse_store_url(url))
    try:
        fill_boards(database, volunteers)
        return [(name, *figures) for name, figures in measure_boards(database, count).items()]
    finally:
        database.close()


# Main


def report(kind: str, verify: bool, result: CatchUp) -> None:
    note = "" if result.complete else " (stopped at the time budget)"
    print(
        f"  {kind:<11} verify={verify!s:<5} {result.rate:>9,.0f} events/s "
        f"({result.applied} events in {result.seconds:.2f} s; "
        f"{result.cpu_rate:,.0f} per CPU-second){note}"
    )
    if len(result.segments) > 1:
        steps = ", ".join(f"{n // 1000}k: {r:,.0f}/s" for n, r in result.segments)
        print(f"  {'':<11} {'':<12} by segment: {steps}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--volunteers", type=int, help="volunteers in the ledger (default 4500)")
    parser.add_argument("--board", type=int, help="volunteers in the leaderboard (100000)")
    parser.add_argument("--rounds", type=int, help="catch-up rounds per case (default 3)")
    parser.add_argument("--queries", type=int, help="runs per query (default 100)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--rebuild-cache", action="store_true", help="build the ledger again")
    parser.add_argument("--profile", action="store_true", help="profile the catch-ups")
    parser.add_argument(
        "--cost-of",
        metavar="VIEW",
        help="also catch up SQLite without this view, alternating rounds, and print the ratio",
    )
    parser.add_argument(
        "--budget", type=float, default=120.0, help="seconds per catch-up before it is stopped"
    )
    args = parser.parse_args(argv)
    volunteers = args.volunteers or (500 if args.quick else 4500)
    board = args.board or (20_000 if args.quick else 100_000)
    rounds = args.rounds or (1 if args.quick else 3)
    count = args.queries or (20 if args.quick else 100)
    pg_base = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)

    load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores{load}")
    url, events, built = cached_ledger(volunteers, args.rebuild_cache)
    how = "reused" if built is None else f"built in {built:.1f} s"
    print(f"ledger: {events} events, {volunteers} volunteers, SQLite file {how}")
    if events < 50_000 and not args.quick:
        print(f"  warning: fewer than 50,000 events ({events}); pass --volunteers")

    results: dict[tuple[str, bool], CatchUp] = {}
    scratch = Path(tempfile.mkdtemp(prefix="bench-projections-"))

    def fresh_sqlite() -> str:
        return f"sqlite:///{scratch / ('views-' + uuid.uuid4().hex[:8] + '.db')}"

    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        for verify in (False, True):
            # the goal's figure is a median over rounds; the slow cases run once
            times = 1 if verify else rounds
            result = median_catch_up(ledger, fresh_sqlite, verify, times, args.budget)
            results[("sqlite", verify)] = result
            report("sqlite", verify, result)
        if args.cost_of:
            cost_of_view(ledger, fresh_sqlite, args.cost_of, max(rounds, 3), args.budget)
        if args.profile:
            print("\nprofile, SQLite, verify=False (by own time):")
            print(profile_catch_up(ledger, fresh_sqlite(), False))
            print("\nprofile, SQLite, verify=True (by own time, 30 s budget):")
            print(profile_catch_up(ledger, fresh_sqlite(), True))
        if not args.no_postgres:
            with pg_schema(pg_base) as pg_url, Ledger(pg_url, keystore=MemoryKeystore()) as pg:
                started = time.perf_counter()
                copied = copy_events(ledger, pg)
                took = time.perf_counter() - started
                print(f"  (copied {copied} events to PostgreSQL in {took:.1f} s)")
                with ExitStack() as schemas:

                    def fresh_pg() -> str:
                        return schemas.enter_context(pg_schema(pg_base))

                    for verify in (False, True):
                        result = median_catch_up(pg, fresh_pg, verify, 1, args.budget)
                        results[("postgresql", verify)] = result
                        report("postgresql", verify, result)
                    if args.profile:
                        print("\nprofile, PostgreSQL, verify=False (by own time):")
                        print(profile_catch_up(pg, fresh_pg(), False))

    print(f"\nleaderboard over {board:,} volunteers (rows inserted directly), {count} runs each:")
    boards = [("sqlite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'board.db'}")]
    with contextmanager_or_none(not args.no_postgres, pg_base) as pg_board:
        if pg_board is not None:
            boards.append(("postgresql", pg_board))
        for kind, board_url in boards:
            for name, median, p99 in leaderboard(board_url, board, count):
                print(f"  {kind:<11} {name:<28} median {median:8.2f} ms   p99 {p99:8.2f} ms")

    rate = results[("sqlite", False)].rate
    verdict = "met" if rate >= GOAL else "MISSED"
    cpu_rate = results[("sqlite", False)].cpu_rate
    print(
        f"\ngoal: >= {GOAL:,} events/s on SQLite with verify=False: {verdict} "
        f"({rate:,.0f}/s wall clock; {cpu_rate:,.0f} per CPU-second)"
    )
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


@contextmanager
def contextmanager_or_none(wanted: bool, base: str) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    with pg_schema(base) as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
