"""``ledger federation stats`` end to end: three city ledgers in three PostgreSQL databases, each
served by its own ``ledger serve``; the province follows them over loopback HTTP.

The province's totals equal the sum of what each city's own ``/stats/dashboard`` and
``/stats/city`` say; after more service in one city a second run reads only its new entries;
a city whose entries are altered on the way (a proxy flipping a byte) or that shows an older
checkpoint is refused by name, and its saved state is not advanced.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import Server, start_ledger_serve
from integration.federation.province_testing import figures_from_pages, more_service
from postgres_testing import POSTGRES_URL, require_postgres

from ledger import DirectoryKeystore, Ledger
from ledger.demo import DemoCity, build_demo

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
NAMES = ("a", "b", "c")
STATS = [sys.executable, "-m", "ledger.cli.federation_stats", "stats"]
Rewrite = Callable[[str, bytes], bytes]


@dataclass
class City:
    name: str
    db_url: str
    ledger: Ledger
    demo: DemoCity
    server: Server
    anchors: dict[str, Any]

    def own_figures(self) -> dict[str, Any]:
        """What the city's server publishes about itself, read over HTTP."""
        self.ledger.projections().catch_up()  # the server's views, brought up to date
        dashboard = httpx.get(self.server.base_url + "/stats/dashboard", timeout=30).json()
        city = httpx.get(self.server.base_url + "/stats/city", timeout=30).json()
        return figures_from_pages(dashboard, city)


def added(figures: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures added key by key (written out here, not with the code under test)."""
    total: dict[str, Any] = {}
    for one in figures:
        for key, value in one.items():
            if isinstance(value, dict):
                total[key] = added([total.get(key, {}), value])
            else:
                total[key] = total.get(key, 0) + value
    return total


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL.split("?")[0], autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, City]]:
    require_postgres()
    tag = uuid.uuid4().hex[:10]
    base = POSTGRES_URL.split("?")[0].rsplit("/", 1)[0]
    made: dict[str, City] = {}
    databases = [f"fed_prov_{tag}_{name}" for name in NAMES]
    try:
        for seed, (name, database) in enumerate(zip(NAMES, databases, strict=True), start=1):
            admin(f"CREATE DATABASE {database}")
            cwd = tmp_path_factory.mktemp(f"city-{name}")
            db_url = f"{base}/{database}"
            ledger = Ledger(db_url, keystore=DirectoryKeystore(cwd / "ledger-keys"))
            ledger.create(
                name=f"City {name} ledger",
                root_org_id=f"city-{name}",
                root_name=f"City {name} Volunteer Federation",
                region="140400",
                origin=f"{name}.province.example/log",
            )
            demo: DemoCity = build_demo(ledger, volunteers=6 + seed, seed=seed)["city"]
            ledger.projections().close()  # the view tables, before the server starts
            server = start_ledger_serve(db_url, cwd)
            made[name] = City(name, db_url, ledger, demo, server, ledger.trust_anchors())
        yield made
    finally:
        for city in made.values():
            city.server.stop()
            city.ledger.close()
        for database in databases:
            admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def grow(city: City) -> None:
    """More service in the city, stored by this process behind its server's back; then wait
    until the server's checkpoint covers it (a server keeps the checkpoint it served for up to
    ``LEDGER_CHECKPOINT_MAX_AGE``, 1 s, and signs a new one after that)."""
    more_service(city.ledger, city.demo.recorders[0], f"e2e-{uuid.uuid4().hex[:8]}")
    size, deadline = city.ledger.log_size(), time.monotonic() + 30
    while True:
        note = httpx.get(city.server.base_url + "/log/checkpoint", timeout=30).text
        if int(note.splitlines()[1]) >= size:
            return
        assert time.monotonic() < deadline, f"city {city.name} serves {note!r}, not {size} leaves"
        time.sleep(0.1)


def province_file(path: Path, cities: dict[str, City], urls: dict[str, str] | None = None) -> Path:
    """A province file; each city's trust anchors in a file of its own, as published."""
    entries = []
    for name, city in cities.items():
        trust = path.parent / f"{name}-trust.json"
        trust.write_text(json.dumps(city.anchors), encoding="utf-8")
        url = (urls or {}).get(name, city.server.base_url)
        entries.append({"name": name, "url": url, "trust": trust.name})
    path.write_text(json.dumps({"cities": entries}), encoding="utf-8")
    return path


def run_stats(province: Path, state: Path) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [*STATS, "--province", str(province), "--state", str(state), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout or "null"), done.stderr


class Proxy:
    """A loopback HTTP proxy in front of one city's server that may rewrite what it answers."""

    def __init__(self, upstream: str, rewrite: Rewrite) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = httpx.get(upstream + self.path, timeout=30)
                body = owner.rewrite(self.path, answer.content)
                self.send_response(answer.status_code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.rewrite = rewrite
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_province_equals_the_sum_of_the_cities_and_follows_them_incrementally(
    cities: dict[str, City], tmp_path: Path
) -> None:
    province = province_file(tmp_path / "province.json", cities)
    state = tmp_path / "state.json"
    code, first, stderr = run_stats(province, state)
    assert code == 0, stderr
    own = {name: city.own_figures() for name, city in cities.items()}
    assert {c["name"]: c["figures"] for c in first["cities"]} == own
    assert first["province"] == added(list(own.values()))
    assert first["province"]["approved_minutes"] > 0 and first["province"]["organisations"] > 3

    b = cities["b"]
    before = b.ledger.log_size()
    grow(b)
    code, second, stderr = run_stats(province, state)
    assert code == 0, stderr
    runs = {c["name"]: c for c in second["cities"]}
    assert runs["b"]["new_entries"] == b.ledger.log_size() - before > 0
    assert runs["a"]["new_entries"] == runs["c"]["new_entries"] == 0
    assert runs["a"]["requests"] == runs["c"]["requests"] == 1  # the checkpoint only
    own["b"] = b.own_figures()
    assert runs["b"]["figures"] == own["b"] != first["cities"][1]["figures"]
    assert second["province"] == added(list(own.values()))


def flip_entry_byte(path: str, body: bytes) -> bytes:
    if "/log/tile/entries/" not in path:
        return body
    at = len(body) - 40  # inside the last entry: one the province has not read before
    return body[:at] + bytes([body[at] ^ 0x20]) + body[at + 1 :]


def test_a_city_whose_entries_are_altered_on_the_way_is_refused_by_name(
    cities: dict[str, City], tmp_path: Path
) -> None:
    province = province_file(tmp_path / "province.json", cities)
    state = tmp_path / "state.json"
    assert run_stats(province, state)[0] == 0
    kept = json.loads(state.read_text())["cities"]["c"]
    grow(cities["c"])
    proxy = Proxy(cities["c"].server.base_url, flip_entry_byte)
    try:
        tampered = province_file(tmp_path / "tampered.json", cities, {"c": proxy.url})
        code, view, stderr = run_stats(tampered, state)
    finally:
        proxy.close()
    assert code == 1
    assert "refused city c:" in stderr
    refused = [c["name"] for c in view["cities"] if c["error"]]
    assert refused == ["c"] and view["province"] is None
    assert json.loads(state.read_text())["cities"]["c"] == kept  # not advanced


def test_a_city_showing_an_older_checkpoint_is_refused(
    cities: dict[str, City], tmp_path: Path
) -> None:
    a = cities["a"]
    old = httpx.get(a.server.base_url + "/log/checkpoint", timeout=30).content
    grow(a)
    province = province_file(tmp_path / "province.json", cities)
    state = tmp_path / "state.json"
    assert run_stats(province, state)[0] == 0
    kept = json.loads(state.read_text())["cities"]["a"]

    def older_checkpoint(path: str, body: bytes) -> bytes:
        return old if path == "/log/checkpoint" else body

    proxy = Proxy(a.server.base_url, older_checkpoint)
    try:
        code, _, stderr = run_stats(
            province_file(tmp_path / "rolled-back.json", cities, {"a": proxy.url}), state
        )
    finally:
        proxy.close()
    assert code == 1 and "refused city a:" in stderr and "rolled back" in stderr
    assert json.loads(state.read_text())["cities"]["a"] == kept
