"""The server as an operator runs it: ``ledger serve --demo`` for a newcomer, and several
PostgreSQL workers serving one consistent ledger."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from api_support import LEDGER_CLI, Api, free_port, idem, start_ledger_serve, start_process
from postgres_testing import drop_schema, new_schema, require_postgres


def test_the_cli_runs_as_a_module() -> None:
    """``ledger serve --workers N`` starts its projection runner as ``python -m ledger.cli``."""
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "project", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_serve_demo_prints_a_key_and_working_links(tmp_path: Path) -> None:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    server = start_process(
        [*LEDGER_CLI, "serve", "--db", db_url, "--port", str(port), "--demo", "--volunteers", "20"],
        tmp_path,
        {},
        port,
        timeout=120,
    )
    try:
        key = (tmp_path / "demo-api-key.txt").read_text().strip()
        assert key.startswith("slk_") and key in server.log()
        links = re.findall(r"(http://127\.0\.0\.1:\d+/[^\s,)]+)", server.log())
        paths = {link.split(str(port), 1)[1] for link in links}
        assert {"/docs", "/log/checkpoint"} <= paths
        assert any(p.startswith("/records/") for p in paths)
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for path in paths:
                assert client.get(path).status_code == 200, path
            me = client.post(
                "/volunteers",
                json={},
                headers={
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": "demo-check",
                    "X-Acting-Org": "luzhou",
                },
            )
            assert me.status_code == 201, me.text
    finally:
        server.stop()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_start_on_a_fresh_schema(tmp_path: Path) -> None:
    """Both workers create the view tables at start-up; neither may fail for the other."""
    require_postgres()
    from ledger import DirectoryKeystore, Ledger

    db_url = new_schema()
    try:
        with Ledger(db_url, keystore=DirectoryKeystore(tmp_path / "ledger-keys")) as ledger:
            ledger.create(
                name="fresh",
                root_org_id="fresh-city",
                root_name="Fresh City",
                region="140400",
                origin="fresh.e2e.example/log",
            )
        server = start_ledger_serve(db_url, tmp_path, workers=2)
        try:
            assert httpx.get(server.base_url + "/readyz").json()["log_size"] >= 1
        finally:
            server.stop()
    finally:
        drop_schema(db_url)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_serve_one_ledger_and_never_double_apply(pg_api: Api) -> None:
    """Writes through either worker are visible through both at once, and figures read from
    both workers while they catch up (and while the projection runner does) count every approved
    minute exactly once."""
    api = pg_api
    numbers = api.take_volunteers(12)
    minutes = {number: 10 + i for i, number in enumerate(numbers)}
    activity_id = api.publish_activity()

    def fresh() -> httpx.Client:
        return httpx.Client(base_url=api.base_url, timeout=60, headers={"Connection": "close"})

    with fresh() as client:
        made = client.post(
            f"/activities/{activity_id}/roster",
            json={"entries": [{"number": n, "minutes": m} for n, m in minutes.items()]},
            headers=api.headers("a", idempotency=idem()),
        )
        assert made.status_code == 201, made.text
        record_ids = made.json()["value"]["record_ids"]
    for record_id in record_ids:  # each record is readable through any worker at once
        with fresh() as client:
            assert client.get(f"/records/{record_id}").status_code == 200

    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            with fresh() as client:
                assert client.get("/stats/city").status_code == 200

    readers = [threading.Thread(target=keep_reading) for _ in range(6)]
    for reader in readers:
        reader.start()
    try:
        last = 0
        for start in range(0, len(record_ids), 2):
            batch = record_ids[start : start + 2]
            time.sleep(0.2)
            with fresh() as client:
                approved = client.post(
                    "/records/approvals",
                    json={"approvals": [{"record_id": r} for r in batch]},
                    headers=api.headers("a", idempotency=idem()),
                )
            assert approved.status_code == 201, approved.text
            last = max(last, *(e["notification_id"] for e in approved.json()["events"]))
        time.sleep(0.5)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    api.wait_for_views(last)
    wrong = {}
    for number, expected in minutes.items():
        with fresh() as client:
            replayed = client.get(f"/volunteers/{number}", headers=api.headers("a_read"))
            view = client.get(f"/volunteers/{number}/balance", headers=api.headers("a_read"))
        assert replayed.json()["balance"]["approved_minutes"] == expected  # the signed events
        if view.json()["approved_minutes"] != expected:
            wrong[number] = (expected, view.json()["approved_minutes"])
    assert not wrong, f"views disagree with the events (expected, got): {wrong}"


@pytest.mark.postgres
@pytest.mark.slow
def test_keep_alive_requests_are_not_delayed_with_two_workers(pg_api: Api) -> None:
    """With several workers each response must still leave at once (TCP_NODELAY); without it,
    every keep-alive request after the first waits about 40 ms for a delayed ACK."""
    with httpx.Client(base_url=pg_api.base_url, timeout=30) as client:
        client.get("/healthz")
        timings = []
        for _ in range(15):
            began = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            timings.append(time.perf_counter() - began)
    assert statistics.median(timings) < 0.030, f"median {statistics.median(timings) * 1000:.1f} ms"
