"""Leaderboards at a city's size: the same reads at 25,000 and at 566,000 volunteers.

The leaderboards read maintained rows (``view_rank_volunteers``: a volunteer's approved minutes
per year and per part of the organisation tree; ``view_rank_organisations``: each organisation's
minutes rolled up its subtree), each with an index on the ranking, so a top-N page should cost
the same whatever the number of volunteers (the issue's goal: about 1x).

For each size, a fresh views database (a SQLite file; a PostgreSQL schema) is **filled directly
with synthetic rows**, not produced from events: this measures the reads only (the handlers that
keep the rows are checked against a recomputation by
``tests/property/projections/test_leaderboards_property.py``). The synthetic city has 12
counties of 10 townships each, one station per 140 volunteers, each volunteer serving at one
station in one to three of the years 2023-2025; each volunteer has a row for every (year or all
years) x (the city, their county, township and station), as the handlers write them. The views'
own tables and indexes are used (``leaderboards.VIEW``).

Then ``ViewQueries.top_volunteers`` is timed for the first page, a page 50 pages deep (by
cursor), one year, and one county in one year, and ``ViewQueries.organisations_by_minutes`` for
the first page and for one kind; median and p99 over ``--queries`` runs each (after one warm-up),
and the ratio large/small of the medians is printed.

Run: ``.venv/bin/python benchmarks/bench_leaderboards.py`` (``--quick``: 2,000 and 20,000
volunteers; ``--no-postgres``; ``--help``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench_support import Stores, postgres_problem

from ledger.projections import ViewDatabase, ViewQueries
from ledger.projections.leaderboards import ALL
from ledger.projections.leaderboards import VIEW as LEADERBOARDS

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "LEDGER_BENCH_POSTGRES_URL"
COUNTIES = 12
TOWNSHIPS = 10
VOLUNTEERS_PER_STATION = 140
YEARS = ("2023", "2024", "2025")
CHUNK = 50_000


def city(volunteers: int) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """(organisation, kind) rows, and (station, township, county) for every station."""
    orgs = [("city", "federation")]
    counties = [f"county{c:02d}" for c in range(COUNTIES)]
    towns = [(f"{c}-town{t}", c) for c in counties for t in range(TOWNSHIPS)]
    orgs += [(c, "organisation") for c in counties] + [(t, "organisation") for t, _ in towns]
    count = max(len(towns), volunteers // VOLUNTEERS_PER_STATION)
    stations = [(f"{towns[i % len(towns)][0]}-s{i}", *towns[i % len(towns)]) for i in range(count)]
    orgs += [(s, "station") for s, _, _ in stations]
    return orgs, stations


def volunteer_rows(
    volunteers: int, stations: list[tuple[str, str, str]], rng: random.Random
) -> Iterator[tuple[list[tuple[str, str, str, int]], dict[str, int]]]:
    """Chunks of (year, scope, number, minutes) rows, with each chunk's minutes per station."""
    for start in range(0, volunteers, CHUNK):
        rows: list[tuple[str, str, str, int]] = []
        by_station: dict[str, int] = {}
        for i in range(start, min(volunteers, start + CHUNK)):
            number = f"V{i:013d}"
            station, town, county = rng.choice(stations)
            per_year = {y: rng.randint(1, 400) * 30 for y in rng.sample(YEARS, rng.randint(1, 3))}
            total = sum(per_year.values())
            by_station[station] = by_station.get(station, 0) + total
            for year, minutes in (*per_year.items(), (ALL, total)):
                for scope in (ALL, "city", county, town, station):
                    rows.append((year, scope, number, minutes))
        yield rows, by_station


def fill(database: ViewDatabase, volunteers: int, seed: int = 5) -> int:
    """Create the leaderboard tables, fill them with synthetic rows, then index; rows written."""
    rng = random.Random(seed)
    orgs, stations = city(volunteers)
    with database.transaction() as cursor:
        for table, columns in LEADERBOARDS.tables.items():
            cursor.execute(f"CREATE TABLE {table} ({columns})")
    written, station_minutes = 0, dict.fromkeys((s for s, _, _ in stations), 0)
    insert = "INSERT INTO view_rank_volunteers (year, scope, number, minutes) VALUES (?, ?, ?, ?)"
    for rows, by_station in volunteer_rows(volunteers, stations, rng):
        for station, minutes in by_station.items():
            station_minutes[station] += minutes
        if database.kind == "postgresql":
            raw = database._connection()
            with (
                raw.cursor() as cur,
                cur.copy(
                    "COPY view_rank_volunteers (year, scope, number, minutes) FROM STDIN"
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            with database.transaction() as cursor:
                cursor.executemany(insert, rows)
        written += len(rows)
    rolled: dict[str, int] = {org: 0 for org, _ in orgs}
    for station, town, county in stations:
        for org in (station, town, county, "city"):
            rolled[org] += station_minutes[station]
    with database.transaction() as cursor:
        cursor.executemany(
            "INSERT INTO view_rank_organisations (org_id, kind, minutes) VALUES (?, ?, ?)",
            [(org, kind, rolled[org]) for org, kind in orgs],
        )
        for index, target in LEADERBOARDS.indexes.items():
            cursor.execute(f"CREATE INDEX {index} ON {target}")
        cursor.execute("ANALYZE")  # both engines: statistics for the planner
    return written + len(orgs)


def latency(run: Callable[[], Any], count: int) -> tuple[float, float]:
    """(median, p99) in milliseconds."""
    run()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.99 * len(samples)))]


def plan(database: ViewDatabase) -> str:
    """The engine's plan for the first page of the volunteers' board, on one line."""
    explain = "EXPLAIN" if database.kind == "postgresql" else "EXPLAIN QUERY PLAN"
    rows = database.query(
        f"{explain} SELECT number, minutes FROM view_rank_volunteers "
        "WHERE year = ? AND scope = ? AND minutes > 0 ORDER BY minutes DESC, number ASC LIMIT 20",
        [ALL, ALL],
    )
    return " | ".join(str(row[-1]).strip() for row in rows)


def measure(database: ViewDatabase, count: int) -> dict[str, tuple[float, float]]:
    queries = ViewQueries(database)
    cursor = None
    for _ in range(50):
        cursor = queries.top_volunteers(limit=20, cursor=cursor)["next_cursor"]
    deep = cursor
    assert deep is not None, "fewer than 51 pages of volunteers"
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("volunteers: top 20", lambda: queries.top_volunteers(limit=20)),
        ("volunteers: page 51 (cursor)", lambda: queries.top_volunteers(limit=20, cursor=deep)),
        ("volunteers: top 20 in 2025", lambda: queries.top_volunteers(limit=20, year="2025")),
        (
            "volunteers: a county in 2025",
            lambda: queries.top_volunteers(limit=20, year="2025", under_org="county03"),
        ),
        ("organisations: top 20", lambda: queries.organisations_by_minutes(limit=20)),
        (
            "organisations: top 20 stations",
            lambda: queries.organisations_by_minutes(limit=20, kind="station"),
        ),
    ]
    return {name: latency(run, count) for name, run in cases}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 volunteers")
    parser.add_argument("--small", type=int, help="volunteers in the small city (25,000)")
    parser.add_argument("--large", type=int, help="volunteers in the large city (566,000)")
    parser.add_argument("--queries", type=int, help="runs per query (default 200)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    small = args.small or (2_000 if args.quick else 25_000)
    large = args.large or (20_000 if args.quick else 566_000)
    count = args.queries or (30 if args.quick else 200)
    pg_url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    kinds = ["sqlite"]
    if not args.no_postgres:
        problem = postgres_problem(pg_url)
        if problem is None:
            kinds.append("postgresql")
        else:
            print(f"PostgreSQL skipped: {problem}")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    )
    print("view rows are inserted directly (synthetic), not produced from events")
    stores = Stores(pg_url if "postgresql" in kinds else None, prefix="bench-boards")
    worst = 0.0
    try:
        for kind in kinds:
            results = {}
            for size in (small, large):
                store = stores.new(kind, f"v{size}")
                database = ViewDatabase(store)
                try:
                    started = time.perf_counter()
                    rows = fill(database, size)
                    took = time.perf_counter() - started
                    print(f"{kind}: {size:,} volunteers, {rows:,} rows filled in {took:.1f} s")
                    print(f"  plan of the first page: {plan(database)}")
                    results[size] = measure(database, count)
                finally:
                    database.close()
                    stores.drop(store)
            print(f"\n{kind}: median / p99 in ms over {count} runs; ratio of medians")
            print(f"  {'query':<32} {small:>9,} vol.      {large:>9,} vol.     ratio")
            for name, (median_small, p99_small) in results[small].items():
                median_large, p99_large = results[large][name]
                ratio = median_large / median_small
                worst = max(worst, ratio)
                print(
                    f"  {name:<32} {median_small:6.2f} / {p99_small:6.2f}   "
                    f"{median_large:6.2f} / {p99_large:6.2f}   {ratio:5.2f}x"
                )
            print()
    finally:
        stores.close()
    print(f"worst ratio {large:,} / {small:,} volunteers: {worst:.2f}x (goal: about 1x)")
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
