"""Integrity failures at read time, over real HTTP: the operator's own database access changes
the store behind a running server. A tampered event is a 500-class problem (never the client's
4xx), its receipt is not served, the failure is logged and counted, and ``/readyz`` fails when
the stored log is shorter than the newest signed checkpoint or has another root."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import PROBLEM_JSON, Server, start_ledger_serve
from ledger_testing import create_city

from ledger import Ledger


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Path, int]]:
    """A SQLite ledger with a signed checkpoint over all of it, served by ``ledger serve``."""
    path = tmp_path / "ledger.db"
    with Ledger(f"sqlite:///{path}") as ledger:
        create_city(ledger)
        for index in range(4):
            ledger.register_volunteer("org-a", idempotency_key=f"more-{index}")
        ledger.log.sign_checkpoint()
        size = ledger.log_size()
    server = start_ledger_serve(f"sqlite:///{path}", tmp_path)
    try:
        yield server, path, size
    finally:
        server.stop()


def tamper(path: Path, statement: str, params: tuple[object, ...] = ()) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)


def assert_integrity_problem(response: httpx.Response) -> None:
    assert response.status_code >= 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] in (
        "/problems/tampered-event",
        "/problems/store-integrity-failure",
    )


def integrity_failures(server: Server) -> int:
    text = httpx.get(server.base_url + "/metrics").text
    return sum(
        int(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ledger_integrity_failures_total{")
    )


def test_a_tampered_event_is_a_server_side_integrity_failure(
    served: tuple[Server, Path, int],
) -> None:
    server, path, size = served
    leaf = size - 2
    assert httpx.get(f"{server.base_url}/receipts/{leaf}").status_code == 200
    with sqlite3.connect(path) as conn:  # the operator rewrites who recorded it
        nid, state = conn.execute(
            "SELECT e.rowid, e.state FROM stored_events e JOIN ledger_log_leaves l "
            "ON l.notification_id = e.rowid WHERE l.leaf_index = ?",
            (leaf,),
        ).fetchone()
        forged = bytes(state).replace(b'"org-a"', b'"org-b"', 1)
        assert forged != bytes(state)
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (forged, nid))
    before = integrity_failures(server)
    assert_integrity_problem(httpx.get(f"{server.base_url}/leaves/{leaf}"))
    receipt = httpx.get(f"{server.base_url}/receipts/{leaf}")
    assert receipt.status_code != 200
    assert_integrity_problem(receipt)
    assert integrity_failures(server) >= before + 2
    assert "integrity failure" in server.log()
    assert httpx.get(f"{server.base_url}/leaves/0").status_code == 200  # the rest still serves


def test_readyz_fails_when_leaves_are_removed_behind_the_servers_back(
    served: tuple[Server, Path, int],
) -> None:
    server, path, size = served
    assert httpx.get(server.base_url + "/readyz").status_code == 200
    for statement in (
        "DELETE FROM stored_events WHERE rowid IN "
        "(SELECT notification_id FROM ledger_log_leaves WHERE leaf_index >= ?)",
        "DELETE FROM ledger_log_nodes WHERE level = 0 AND idx >= ?",
        "DELETE FROM ledger_log_leaves WHERE leaf_index >= ?",
    ):
        tamper(path, statement, (size - 2,))
    ready = httpx.get(server.base_url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["type"] == "/problems/store-integrity-failure"
    assert "fewer than" in ready.json()["detail"]


def test_readyz_fails_when_the_logs_root_differs_from_the_checkpoint(
    served: tuple[Server, Path, int],
) -> None:
    server, path, _ = served
    tamper(path, "UPDATE ledger_log_nodes SET hash = zeroblob(32) WHERE level >= 1")
    ready = httpx.get(server.base_url + "/readyz")
    assert ready.status_code == 503
    assert ready.json()["type"] == "/problems/store-integrity-failure"
