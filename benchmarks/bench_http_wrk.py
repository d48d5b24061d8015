"""Public reads under ``wrk`` on loopback, against a bare FastAPI route served the same way.

For each store (a SQLite file in a temporary directory; PostgreSQL in a schema of its own,
dropped afterwards) this

1. builds a demo city with ``ledger demo --volunteers N``;
2. starts a real ``ledger serve --workers W`` on it (default: 1 worker on SQLite, 2 on
   PostgreSQL, as ``bench_api.py``) and, beside it, this file's ``bare`` mode: uvicorn started
   by the same function (``ledger_api.server.serve``: the same ``workers`` and ``log_level``,
   one ``SO_REUSEPORT`` listener per worker with several) serving a plain FastAPI app whose one
   route is a sync function returning a constant;
3. drives each URL with ``wrk -t2 -c8`` for ``--seconds`` after a one-second warm-up, each
   right after the bare route (a pair), for ``--rounds`` rounds: the bare app's same route as
   a coroutine (what the event loop alone reaches beside the thread-pool route), a full hash
   tile, a
   full entry bundle, a partial hash tile, the checkpoint, a record with its proof
   (``/leaves/{i}`` for a random leaf per request: the event, its key, the inclusion proof and
   the signed checkpoint) and a record's status (``/records/{id}`` for a random record);
4. prints requests per second and the median over the rounds of each pair's ratio to the bare
   route (the pairs keep a load that changes during the run out of the ratio), with the goals
   of issue 19 (record with its proof at least 0.5 of the bare route, full tiles at least 0.8);
   beside it, the server's CPU time per request (every process of the server's group, read
   from ``/proc``) and the bare route's over it: what the ratio would be were the server alone
   on its cores, and less moved by other work on a shared machine.

Both servers, ``wrk`` and the database share this machine's cores, so the ratios say what a
request costs beside the cheapest FastAPI request, not what a bigger machine would reach.

Run: ``.venv/bin/python benchmarks/bench_http_wrk.py`` (``--quick`` for a short run,
``--store sqlite|postgresql|both``, ``--help``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
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
from pathlib import Path
from typing import Any

from bench_support import cpu_seconds

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL_ENV = "LEDGER_BENCH_POSTGRES_URL"
LEDGER = [sys.executable, "-m", "ledger.cli"]
GOALS = {"record with proof": 0.5, "full hash tile": 0.8, "full entry bundle": 0.8}
ON_BARE = {"bare async route"}  # served by the bare app, not the ledger
HERE = Path(__file__).resolve()


# --- the bare baseline: plain FastAPI under the same uvicorn settings as ``ledger serve`` -----


def bare_app() -> Any:
    """uvicorn factory: a FastAPI app with one trivial sync route, ``GET /bare`` (the
    baseline), and the same route as a coroutine, ``GET /bare-async`` (run on the event loop,
    as the API serves a kept tile)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bare-async")
    async def bare_async() -> dict[str, str]:
        return {"status": "ok"}

    return app


def launch_bare(port: int, workers: int) -> int:
    """The bare app served as ``ledger serve --workers N`` serves the API (one listener per
    worker with several)."""
    from ledger_api.server import serve

    sys.path.insert(0, str(HERE.parent))
    return serve("bench_http_wrk:bare_app", "127.0.0.1", port, workers, log_level="warning")


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(command: list[str], cwd: Path, port: int, ready_path: str) -> Iterator[tuple[str, int]]:
    """Run a server ``command`` in its own process group; yield its base URL and the group's id
    once ``ready_path`` answers 200."""
    import httpx

    log = (cwd / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise SystemExit((cwd / f"server-{port}.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + ready_path, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{command} did not start within 90 s")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@dataclass
class Run:
    """One ``wrk`` run: requests per second, and the server's CPU seconds per request (all the
    processes of its group, user and system), which another load on the machine moves less."""

    rate: float
    cpu_per_request: float


def group_cpu_seconds(pgid: int) -> float:
    """User and system CPU seconds of every live process in process group ``pgid``."""
    return cpu_seconds(lambda _, fields: int(fields[2]) == pgid)


def wrk(url: str, seconds: float, script: Path | None = None, pgid: int | None = None) -> Run:
    """``wrk`` with 2 threads and 8 connections on ``url``; with ``pgid``, the CPU time that
    server process group spent meanwhile."""
    command = ["wrk", "-t2", "-c8", f"-d{max(1, round(seconds))}s"]
    if script is not None:
        command += ["-s", str(script)]
    cpu_before = group_cpu_seconds(pgid) if pgid is not None else 0.0
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    cpu = group_cpu_seconds(pgid) - cpu_before if pgid is not None else 0.0
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rate is None or count is None:
        raise SystemExit(f"no rate in wrk's output:\n{out}")
    return Run(float(rate.group(1)), cpu / max(1, int(count.group(1))))


def random_paths_script(folder: Path, name: str, paths: list[str]) -> Path:
    """A wrk Lua script asking for a random one of ``paths`` on each request."""
    script = folder / f"{name}.lua"
    quoted = ",\n".join(f'  "{path}"' for path in paths)
    script.write_text(
        f"local paths = {{\n{quoted}\n}}\n"
        "math.randomseed(19)\n"
        "request = function()\n"
        '  return wrk.format("GET", paths[math.random(#paths)])\n'
        "end\n"
    )
    return script


# --- the ledger behind it ------------------------------------------------------------------------


def record_ids(db_url: str, limit: int) -> list[str]:
    """Up to ``limit`` record ids of the demo city, read with the library."""
    from ledger import Ledger

    found: list[str] = []
    with Ledger(db_url) as ledger:
        for event in ledger.events_of_types("HoursRecorded"):
            found.append(str(event.data["record_id"]))
            if len(found) >= limit:
                break
    return found


@contextlib.contextmanager
def store_url(store: str, folder: Path) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    import psycopg

    base = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL).split("?")[0]
    schema = "bench_wrk_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def run_store(store: str, workers: int, args: argparse.Namespace) -> dict[str, float]:
    from ledger import Ledger

    with tempfile.TemporaryDirectory(prefix=f"bench-wrk-{store}-") as tmp:
        folder = Path(tmp)
        with store_url(store, folder) as db_url:
            subprocess.run(
                [*LEDGER, "demo", "--db", db_url, "--volunteers", str(args.volunteers), "--quiet"],
                cwd=folder,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            with Ledger(db_url) as ledger:
                size = ledger.log_size()
            if size < 512:
                raise SystemExit(f"the demo city has {size} leaves; ask for more volunteers")
            records = record_ids(db_url, 200)
            leaves = random_paths_script(folder, "leaves", [f"/leaves/{i}" for i in range(size)])
            statuses = random_paths_script(folder, "records", [f"/records/{r}" for r in records])
            urls: dict[str, tuple[str, Path | None]] = {
                "bare async route": ("/bare-async", None),  # on the bare server
                "full hash tile": ("/log/tile/0/000", None),
                "full entry bundle": ("/log/tile/entries/000", None),
                "partial hash tile": (f"/log/tile/0/{size // 256:03d}.p/{size % 256 or 1}", None),
                "checkpoint": ("/log/checkpoint", None),
                "record with proof": ("/leaves/0", leaves),
                "record status": (f"/records/{records[0]}", statuses),
            }
            if size % 256 == 0:
                del urls["partial hash tile"]
            serve = [*LEDGER, "serve", "--db", db_url, "--workers", str(workers)]
            bare_port, ledger_port = free_port(), free_port()
            bare = [sys.executable, str(HERE), "bare", "--port", str(bare_port)]
            runs: dict[str, list[tuple[Run, Run]]] = {name: [] for name in urls}
            with (
                running([*bare, "--workers", str(workers)], folder, bare_port, "/bare") as (b, bg),
                running([*serve, "--port", str(ledger_port)], folder, ledger_port, "/readyz") as (
                    s,
                    sg,
                ),
            ):
                wrk(b + "/bare", 1)
                for name, (path, script) in urls.items():
                    wrk((b if name in ON_BARE else s) + path, 1, script)  # warm-up
                for _ in range(args.rounds):  # each URL right after the bare route: a pair
                    for name, (path, script) in urls.items():
                        bare_run = wrk(b + "/bare", args.seconds, pgid=bg)
                        base, group = (b, bg) if name in ON_BARE else (s, sg)
                        runs[name].append((wrk(base + path, args.seconds, script, group), bare_run))
        print(
            f"\n[{store}] demo city of {args.volunteers} volunteers, {size} leaves; "
            f"ledger serve --workers {workers}; wrk -t2 -c8, {args.seconds:.0f} s per URL, "
            f"{args.rounds} round(s), each URL measured right after the bare route; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"  {'read':<20} {'req/s':>7} {'bare':>7} {'ratio':>6}   "
            f"{'CPU us/req':>10} {'bare':>6} {'ratio':>6}   (medians over the rounds)"
        )
        ratios: dict[str, float] = {}
        for name, pairs in runs.items():
            ratio = statistics.median(r.rate / b.rate for r, b in pairs)
            cpu_ratio = statistics.median(
                b.cpu_per_request / r.cpu_per_request for r, b in pairs if r.cpu_per_request
            )
            ratios[name] = ratio
            goal = GOALS.get(name)
            verdict = ""
            if goal is not None:
                verdict = f"  goal >= {goal}: {'met' if ratio >= goal else 'MISSED'}"
            print(
                f"  {name:<20} {statistics.median(r.rate for r, _ in pairs):7.0f} "
                f"{statistics.median(b.rate for _, b in pairs):7.0f} {ratio:6.3f}   "
                f"{statistics.median(r.cpu_per_request for r, _ in pairs) * 1e6:10.0f} "
                f"{statistics.median(b.cpu_per_request for _, b in pairs) * 1e6:6.0f} "
                f"{cpu_ratio:6.3f}{verdict}"
            )
        return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "bare"])
    parser.add_argument("--port", type=int, default=8000, help="(bare mode)")
    parser.add_argument("--workers", type=int, default=1, help="(bare mode)")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--volunteers", type=int, default=150, help="demo city size")
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk duration per URL")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of bare and URL runs")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--postgres-workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 s per URL")
    args = parser.parse_args(argv)
    if args.mode == "bare":
        return launch_bare(args.port, args.workers)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if args.quick:
        args.seconds, args.rounds = 2.0, 1
    print(
        f"bench_http_wrk: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
        f"(server, wrk and database share them)"
    )
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        workers = args.sqlite_workers if store == "sqlite" else args.postgres_workers
        run_store(store, workers, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
