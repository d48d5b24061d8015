"""Over HTTP, a server whose views cannot take a batch says so: ``/readyz`` stays 200 (writes
and the log's reads still work) and names the failure, ``/metrics`` counts the failed batches,
and both clear once the cause is fixed. The server is a real ``ledger serve`` process; its view
table is dropped behind its back, as an operator's mistaken migration would."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from api_support import build_city, start_ledger_serve
from e2e_environment import LOCAL_LINKS


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def _failed_batches(client: httpx.Client) -> int:
    metrics = client.get("/metrics").text
    (line,) = [x for x in metrics.splitlines() if x.startswith("ledger_views_failed_batches ")]
    return int(line.split()[1])


def test_readyz_and_metrics_name_a_failing_view_until_it_is_fixed(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    city = build_city(db_url, tmp_path, volunteers=1, fillers=0)
    server = start_ledger_serve(db_url, tmp_path, env=LOCAL_LINKS)
    client = httpx.Client(base_url=server.base_url, timeout=30.0)
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and "views_failing" not in ready.json()
        assert _failed_batches(client) == 0
        with sqlite3.connect(tmp_path / "ledger.db") as conn:
            conn.execute("DROP TABLE view_volunteers")
        made = client.post(
            "/volunteers",
            json={},
            headers={"Authorization": f"Bearer {city.keys['a']}", "Idempotency-Key": "v-x"},
        )
        assert made.status_code == 201, made.text

        _wait_for(lambda: "views_failing" in client.get("/readyz").json(), "reported failing")
        ready = client.get("/readyz")
        assert ready.status_code == 200
        failing = ready.json()["views_failing"]
        assert failing["batches"] >= 1 and failing["error"] == "StoreUnavailableError"
        assert _failed_batches(client) >= 1

        from ledger import Ledger

        with Ledger(db_url) as ledger:  # the table made again, as the views make it
            views = ledger.projections(verify=False)
            views.database.close()
        _wait_for(lambda: "views_failing" not in client.get("/readyz").json(), "cleared")
        assert _failed_batches(client) == 0
    finally:
        client.close()
        server.stop()
