"""The HTTP API's throughput and latency, against a bare FastAPI endpoint on the same server.

For each store (a SQLite file in a temporary directory, served by one uvicorn worker as
``ledger serve`` does; PostgreSQL in a schema of its own, dropped afterwards, served by two
workers as ``ledger serve --workers 2`` does), this

1. builds a ledger with the library (a root, one organisation with its key, volunteers in groups
   of 50, one long activity that allows repeats), and an API key;
2. starts the API as a subprocess: this file's ``launch`` mode builds the app with
   ``ledger_api.app.create_app`` and mounts ``GET /bare`` (a trivial sync route returning a
   constant)
   on that same app, so the bare route runs under the same uvicorn, the same middleware (body
   limit, request counter) and the same thread pool as the ledger's routes;
3. drives it over loopback with a bounded concurrent client (``--clients`` processes with
   ``--threads`` threads each, one keep-alive ``httpx.Client`` per thread), each scenario for
   ``--seconds`` after a short warm-up, and at most ``--max-requests`` requests:

   * ``bare``: ``GET /bare``;
   * ``leaf``: ``GET /leaves/{i}`` for random leaves: the record with its signed body, the
     organisation's key, the inclusion proof and the signed checkpoint covering it;
   * ``roster``: ``POST /activities/{id}/roster`` with 50 entries (a new ``Idempotency-Key``
     each time; each request records a group of 50 volunteers on its own service date).

It prints requests per second, p50 and p99 latency per scenario and the ratios to the bare
route. The goal: ``leaf`` at least 0.5 of ``bare``.

Run: ``.venv/bin/python benchmarks/bench_api.py`` (``--quick`` for a smoke run, ``--help``);
``--profile`` adds an in-process cProfile of the ``leaf`` and ``roster`` handlers.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import multiprocessing
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GOAL = 0.5
GROUP = 50
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "LEDGER_BENCH_POSTGRES_URL"
HERE = Path(__file__).resolve().parent


# --- the server: the API's own app with one bare route added ---------------------------------


def app_with_bare() -> Any:
    """uvicorn factory: the ledger's app (settings from ``LEDGER_*``) plus ``GET /bare``."""
    from ledger_api.app import create_app
    from ledger_api.settings import Settings

    app = create_app(Settings())

    @app.get("/bare", include_in_schema=False)
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    return app


def launch(args: argparse.Namespace) -> int:
    import uvicorn

    if args.nodelay_fix:
        from ledger_api.server import bind_listeners_as_tcp

        bind_listeners_as_tcp()

    uvicorn.run(
        "bench_api:app_with_bare",
        factory=True,
        app_dir=str(HERE),
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(db_url: str, cwd: Path, workers: int, nodelay_fix: bool = False) -> Iterator[str]:
    """Run this file's ``launch`` mode in ``cwd``; yield its base URL once ``/readyz`` is 200."""
    import httpx

    port = free_port()
    env = {**os.environ, "LEDGER_DATABASE_URL": db_url}
    if workers > 1:  # as ``ledger serve --workers N``: reads catch the views up themselves
        env["LEDGER_RUN_PROJECTIONS"] = "false"
    log = (cwd / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "launch",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *(["--nodelay-fix"] if nodelay_fix else []),
        ],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError((cwd / "server.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + (cwd / "server.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


# --- the ledger behind it --------------------------------------------------------------------


@dataclass
class Fixture:
    api_key: str
    activity_id: str
    groups: list[list[str]]
    first_day: str  # the activity's first service date, YYYY-MM-DD
    days: int


def build(db_url: str, cwd: Path, groups: int, days: int) -> Fixture:
    from ledger import DirectoryKeystore, Ledger
    from ledger.apikeys import create_api_key

    keystore = None if db_url.startswith("sqlite") else DirectoryKeystore(cwd / "ledger-keys")
    with Ledger(db_url, keystore=keystore) as ledger:
        ledger.create(
            name="bench",
            root_org_id="city",
            root_name="Bench City",
            region="140400",
            origin="bench.example/log",
        )
        ledger.register_organisation(
            "city",
            org_id="org-a",
            name="Org A",
            kind="organisation",
            region="140402",
            idempotency_key="org-a",
        )
        ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key")
        numbers = [
            str(ledger.register_volunteer("org-a", idempotency_key=f"v{i}").value.number)
            for i in range(groups * GROUP)
        ]
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=days + 1)
        made = ledger.publish_activity(
            "org-a",
            title="Season of service",
            field="community-governance",
            place="City",
            starts_at=start,
            ends_at=now - timedelta(hours=1),
            leader="leader-1",
            content="street patrols",
            allow_repeats=True,
            idempotency_key="activity",
        )
        ledger.log.sign_checkpoint()
        key = create_api_key(ledger, "org-a", ["record", "read"])
        if keystore is not None:  # several workers: create the views once, before they start
            ledger.projections().close()
    return Fixture(
        key,
        str(made.value.activity_id),
        [numbers[g * GROUP : (g + 1) * GROUP] for g in range(groups)],
        start.date().isoformat(),
        days,
    )


# --- the client ------------------------------------------------------------------------------


@dataclass
class Job:
    base: str
    scenario: str
    seconds: float
    warmup: float
    max_requests: int
    threads: int
    worker: int
    workers: int
    fixture: Fixture
    log_size: int
    offset: int  # roster slots already used by earlier rounds


def _request_maker(job: Job, thread: int) -> Any:
    from datetime import date

    first = date.fromisoformat(job.fixture.first_day)
    rng = random.Random(job.worker * 1000 + thread)
    counter = iter(range(10**9))
    slot = job.worker * job.threads + thread
    slots = job.workers * job.threads
    headers = {"Authorization": f"Bearer {job.fixture.api_key}"}

    def make(client: Any) -> Any:
        if job.scenario == "bare":
            return client.get("/bare")
        if job.scenario == "leaf":
            return client.get(f"/leaves/{rng.randrange(job.log_size)}")
        # roster: each (group, day) is used once, so no volunteer exceeds the daily limit
        k = job.offset + next(counter) * slots + slot
        group, day = k % len(job.fixture.groups), k // len(job.fixture.groups)
        if day >= job.fixture.days:
            raise StopIteration
        served = (first + timedelta(days=day)).isoformat()
        body = {
            "entries": [
                {"number": n, "minutes": 30, "service_date": served}
                for n in job.fixture.groups[group]
            ]
        }
        return client.post(
            f"/activities/{job.fixture.activity_id}/roster",
            json=body,
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )

    return make


def _client_process(job: Job, results: Any) -> None:
    import threading

    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_thread = max(1, job.max_requests // (job.workers * job.threads))
    start_at = time.monotonic() + job.warmup
    stop_at = start_at + job.seconds

    def run(thread: int) -> None:
        make = _request_maker(job, thread)
        mine: list[float] = []
        with httpx.Client(base_url=job.base, timeout=60) as client:
            while True:
                now = time.monotonic()
                if now >= stop_at or len(mine) >= per_thread:
                    break
                began = time.perf_counter()
                try:
                    response = make(client)
                except StopIteration:
                    break
                elapsed = time.perf_counter() - began
                if response.status_code >= 300:
                    with lock:
                        errors.append(f"{response.status_code} {response.text[:200]}")
                elif now >= start_at:
                    mine.append(elapsed)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(job.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((latencies, errors))


@dataclass
class Result:
    scenario: str
    latencies: list[float]  # seconds, sorted
    seconds: float
    errors: int
    first_error: str

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0

    @property
    def p99_ms(self) -> float:
        if not self.latencies:
            return 0.0
        return self.latencies[min(len(self.latencies) - 1, int(0.99 * len(self.latencies)))] * 1000

    @classmethod
    def merge(cls, parts: list[Result]) -> Result:
        errors = [p.first_error for p in parts if p.first_error]
        return cls(
            parts[0].scenario,
            sorted(x for p in parts for x in p.latencies),
            sum(p.seconds for p in parts),
            sum(p.errors for p in parts),
            errors[0] if errors else "",
        )


def drive(
    base: str,
    scenario: str,
    args: argparse.Namespace,
    fixture: Fixture,
    log_size: int,
    seconds: float,
    offset: int,
) -> Result:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    jobs = [
        Job(
            base,
            scenario,
            seconds,
            args.warmup,
            args.max_requests,
            args.threads,
            w,
            args.clients,
            fixture,
            log_size,
            offset,
        )
        for w in range(args.clients)
    ]
    processes = [context.Process(target=_client_process, args=(j, results)) for j in jobs]
    started = time.monotonic()
    for p in processes:
        p.start()
    gathered = [results.get(timeout=seconds + args.warmup + 300) for _ in processes]
    for p in processes:
        p.join()
    wall = min(time.monotonic() - started - args.warmup, seconds)
    latencies = sorted(x for lat, _ in gathered for x in lat)
    errors = [e for _, errs in gathered for e in errs]
    return Result(scenario, latencies, wall, len(errors), errors[0] if errors else "")


# --- profile -----------------------------------------------------------------------------------


def profile(db_url: str, cwd: Path, fixture: Fixture, log_size: int, requests: int) -> None:
    """Where a request's time goes, in process (no HTTP): the route functions themselves."""
    from fastapi import Response

    from ledger import DirectoryKeystore, Ledger
    from ledger.apikeys import find_api_key
    from ledger_api.routes.activities import RosterIn, record_roster
    from ledger_api.routes.verification import evidence

    keystore = None if db_url.startswith("sqlite") else DirectoryKeystore(cwd / "ledger-keys")
    with Ledger(db_url, keystore=keystore) as ledger:
        key = find_api_key(ledger, fixture.api_key)
        assert key is not None
        rng = random.Random(7)
        for label, call in [
            (
                "GET /leaves/{i}",
                lambda i: evidence(
                    ledger,
                    ledger.log.verified_entry(
                        rng.randrange(log_size), ledger._app.signed_mapper.verify
                    ),
                ),
            ),
            (
                "POST /activities/{id}/roster (50)",
                lambda i: record_roster(
                    fixture.activity_id,
                    RosterIn.model_validate(
                        {
                            "entries": [
                                {
                                    "number": n,
                                    "minutes": 15,
                                    "service_date": (
                                        datetime.fromisoformat(fixture.first_day)
                                        + timedelta(days=fixture.days - 1 - i)
                                    )
                                    .date()
                                    .isoformat(),
                                }
                                for n in fixture.groups[-1]
                            ]
                        }
                    ),
                    ledger,
                    key,
                    uuid.uuid4().hex,
                    Response(),
                ),
            ),
        ]:
            count = requests if label.startswith("GET") else max(3, requests // 20)
            profiler = cProfile.Profile()
            began = time.perf_counter()
            profiler.enable()
            for i in range(count):
                call(i)
            profiler.disable()
            took = (time.perf_counter() - began) / count
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(28)
            print(
                f"\n--- profile: {label}, {count} calls, {took * 1000:.2f} ms each "
                "(in process, under cProfile) ---"
            )
            print("\n".join(out.getvalue().splitlines()[:60]))


# --- main ------------------------------------------------------------------------------------


def new_pg_schema(base_url: str) -> str:
    import psycopg

    schema = "bench_api_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def drop_pg_schema(base_url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run_store(store: str, args: argparse.Namespace) -> list[Result]:
    import httpx

    with tempfile.TemporaryDirectory(prefix=f"bench-api-{store}-") as folder:
        cwd = Path(folder)
        schema = None
        pg_base = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL).split("?")[0]
        if store == "sqlite":
            db_url, workers = f"sqlite:///{cwd / 'ledger.db'}", args.sqlite_workers
        else:
            schema = new_pg_schema(pg_base)
            db_url, workers = f"{pg_base}?schema={schema}", args.postgres_workers
        try:
            began = time.monotonic()
            fixture = build(db_url, cwd, args.groups, args.days)
            print(
                f"\n[{store}] built a ledger with {args.groups * GROUP} volunteers in "
                f"{time.monotonic() - began:.1f} s; serving it with {workers} worker(s)",
                flush=True,
            )
            parts: dict[str, list[Result]] = {name: [] for name in args.scenarios}
            ratios: dict[str, list[float]] = {name: [] for name in args.scenarios}
            per_round = args.seconds / args.rounds
            with server(db_url, cwd, workers, args.nodelay_fix) as base:
                for round_ in range(args.rounds):
                    order = args.scenarios if round_ % 2 == 0 else args.scenarios[::-1]
                    measured = {}
                    for scenario in order:
                        log_size = httpx.get(base + "/readyz", timeout=30).json()["log_size"]
                        offset = sum(len(p.latencies) + p.errors for p in parts[scenario]) * 2
                        result = drive(
                            base,
                            scenario,
                            args,
                            fixture,
                            log_size,
                            per_round,
                            offset if scenario == "roster" else 0,
                        )
                        parts[scenario].append(result)
                        measured[scenario] = result
                        print(
                            f"  round {round_ + 1} {scenario:<7} {result.requests:>6} requests"
                            f" {result.rate:8.1f} req/s  p50 {result.p50_ms:7.2f} ms"
                            f"  p99 {result.p99_ms:7.2f} ms  errors {result.errors}"
                            f"  (log size {log_size})",
                            flush=True,
                        )
                        if result.errors:
                            print(f"          first error: {result.first_error}")
                    if "bare" in measured and measured["bare"].rate:
                        for name, result in measured.items():
                            ratios[name].append(result.rate / measured["bare"].rate)
                final_size = httpx.get(base + "/readyz", timeout=30).json()["log_size"]
            results = [Result.merge(parts[name]) for name in args.scenarios]
            print(f"\n[{store}] totals over {args.rounds} rounds:")
            for result in results:
                print(
                    f"  {result.scenario:<7} {result.requests:>6} requests in "
                    f"{result.seconds:5.1f} s {result.rate:8.1f} req/s  p50 {result.p50_ms:7.2f}"
                    f" ms  p99 {result.p99_ms:7.2f} ms  errors {result.errors}"
                )
            summarise(store, results, ratios)
            if args.profile:
                profile(db_url, cwd, fixture, final_size, args.profile_requests)
            return results
        finally:
            if schema is not None:
                drop_pg_schema(pg_base, schema)


def summarise(store: str, results: list[Result], ratios: dict[str, list[float]]) -> None:
    by = {r.scenario: r for r in results}
    bare = by.get("bare")
    if bare is None or not bare.rate:
        return
    print(f"[{store}] rate / bare rate (median of the rounds' ratios; totals in brackets):")
    for name in ("leaf", "roster"):
        if name in by and ratios.get(name):
            ratio = statistics.median(ratios[name])
            total = by[name].rate / bare.rate
            goal = (
                f"  goal >= {GOAL}: {'met' if ratio >= GOAL else 'MISSED'}"
                if name == "leaf"
                else f"  ({by[name].rate * GROUP:.0f} records/s)"
            )
            print(f"  {name:<7} {ratio:6.3f} [{total:.3f}]{goal}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "launch"])
    parser.add_argument("--port", type=int, default=8000, help="(launch mode)")
    parser.add_argument("--workers", type=int, default=1, help="(launch mode)")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["bare", "leaf", "roster"],
        choices=["bare", "leaf", "roster"],
    )
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="per scenario, split over the rounds"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of all scenarios, alternating their order"
    )
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--max-requests", type=int, default=50_000, help="per scenario")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument("--groups", type=int, default=8, help="groups of 50 volunteers")
    parser.add_argument("--days", type=int, default=200, help="service dates per group")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--postgres-workers", type=int, default=2)
    parser.add_argument(
        "--nodelay-fix",
        action="store_true",
        help="with several workers, give the listener proto IPPROTO_TCP so that connections get "
        "TCP_NODELAY (works around Kludex/uvicorn#3149; not what `ledger serve` does)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 2 groups")
    args = parser.parse_args(argv)
    if args.mode == "launch":
        return launch(args)
    if args.quick:
        args.seconds, args.warmup, args.groups, args.days, args.rounds = 3.0, 0.5, 2, 60, 1
    print(
        f"bench_api: {args.clients} client processes x {args.threads} threads, "
        f"{args.seconds:.0f} s per scenario after {args.warmup:.0f} s warm-up, "
        f"at most {args.max_requests} requests; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        run_store(store, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
