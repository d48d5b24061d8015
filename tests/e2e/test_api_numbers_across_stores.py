"""Numbers are numbers on every store: the same demo city served from SQLite and from
PostgreSQL gives the same JSON, byte for byte, on every read endpoint that carries figures.

PostgreSQL widens ``SUM`` to ``numeric``; read as ``Decimal`` it used to reach JSON as a string
(``"681"``) where SQLite gave ``681``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import Server, start_ledger_serve

from ledger import Ledger
from ledger.apikeys import create_api_key
from ledger.cli import main

pytestmark = pytest.mark.slow
VOLUNTEERS = "16"
# Credit transfers get a fresh random id in each store, and registrations the wall-clock time
# they were made; everything else is the same city.
RANDOM_IDS = re.compile(rb'"transfer_id":"[0-9a-f-]{36}"')
WALL_CLOCK = re.compile(rb'"(registered_at|recorded_at)":"[0-9T:.Z-]+"')


def same_city_bytes(body: bytes) -> bytes:
    return WALL_CLOCK.sub(rb'"\1":"-"', RANDOM_IDS.sub(b'"transfer_id":"-"', body))


def build_and_serve(url: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Server, str]:
    """``ledger demo`` into ``url`` (keystore under ``cwd``), a read key, a server on it."""
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["demo", "--db", url, "--volunteers", VOLUNTEERS, "--quiet"]) == 0
    with Ledger(url) as ledger:
        key = create_api_key(ledger, "changzhi", ["read"])
        last = ledger._recorder.max_notification_id() or 0
    server = start_ledger_serve(url, cwd)
    deadline = time.monotonic() + 60
    while httpx.get(server.base_url + "/readyz").json()["views_position"] < last:
        assert time.monotonic() < deadline, "the views did not catch up"
        time.sleep(0.2)
    return server, key


@pytest.fixture
def servers(
    tmp_path: Path, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[Server, str]]]:
    started = []
    try:
        started.append(
            build_and_serve(f"sqlite:///{tmp_path / 'a' / 'city.db'}", tmp_path / "a", monkeypatch)
        )
        started.append(build_and_serve(postgres_schema, tmp_path / "b", monkeypatch))
        yield started
    finally:
        for server, _ in started:
            server.stop()


def read_paths(server: Server, key: str) -> list[str]:
    """Every figure-carrying read, for the demo's volunteers, organisations and accounts."""
    headers = {"Authorization": f"Bearer {key}"}
    board = httpx.get(server.base_url + "/leaderboards/volunteers?limit=500", headers=headers)
    numbers = sorted(item["number"] for item in board.json()["items"])[:6]
    orgs = ["changzhi", "luzhou", "luzhou-town1", "luzhou-town1-station1", "tunliu-youth-team"]
    paths = [
        "/stats/city",
        "/stats/city?from=2025-03&to=2025-09",
        "/leaderboards/volunteers?limit=500",
        "/leaderboards/volunteers?limit=3",
        "/leaderboards/volunteers?year=2025&under_org=luzhou",
        "/leaderboards/organisations?limit=500",
        "/leaderboards/organisations?kind=station",
        "/time-banks/accounts/changzhi-bank:org:changzhi",
    ]
    paths += [f"/orgs/{org}/figures" for org in orgs]
    for number in numbers:
        paths += [
            f"/volunteers/{number}/balance",
            f"/volunteers/{number}/records",
            f"/time-banks/accounts/changzhi-bank:vol:{number}",
        ]
    return paths


def test_every_figure_reads_the_same_bytes_from_sqlite_and_postgresql(
    servers: list[tuple[Server, str]],
) -> None:
    (sqlite, sqlite_key), (postgres, postgres_key) = servers
    paths = read_paths(sqlite, sqlite_key)
    compared = 0
    for path in paths:
        a = httpx.get(sqlite.base_url + path, headers={"Authorization": f"Bearer {sqlite_key}"})
        b = httpx.get(postgres.base_url + path, headers={"Authorization": f"Bearer {postgres_key}"})
        assert a.status_code == b.status_code, path
        if a.status_code == 404:
            continue  # an account with no movements in this demo: the same on both
        assert a.status_code == 200, (path, a.text)
        assert same_city_bytes(a.content) == same_city_bytes(b.content), (path, a.text, b.text)
        compared += 1
    assert compared >= 15
    figures = json.loads(httpx.get(postgres.base_url + "/stats/city").content)
    whole = [v for v in _leaves(figures) if not isinstance(v, str | bool | type(None))]
    assert whole and all(isinstance(v, int) for v in whole)


def _leaves(value: object) -> Iterator[object]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value
