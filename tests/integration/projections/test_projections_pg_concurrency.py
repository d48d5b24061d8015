"""A running projection on PostgreSQL keeps up while several writer processes and threads
store events, each with a Ledger of its own on the same schema, and misses none."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from projections_support import new_pg_schema, write_volunteers

from ledger import DirectoryKeystore, Ledger, MemoryKeystore
from ledger.projections import VIEWS, ViewQueries

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 2
THREADS = 2
PER_WRITER = 6


def prepare(url: str, keys: DirectoryKeystore) -> dict[str, list[str]]:
    """A root with an automatic-awards key and a star scheme (approvals then also store stars),
    and for each writer an organisation with two activities; returns org -> activity ids."""
    plan: dict[str, list[str]] = {}
    with Ledger(url, keystore=keys) as ledger:
        ledger.create(
            name="Concurrent city",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="ledger.test.example/log",
        )
        ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
        ledger.publish_star_scheme(
            "city",
            scheme_id="quick-stars",
            name="Quick stars",
            thresholds_hours=[1, 2, 3],
            idempotency_key="scheme",
        )
        for w in range(PROCESSES + THREADS):
            org = f"writer-{w}"
            ledger.register_organisation(
                "city",
                org_id=org,
                name=org,
                kind="organisation",
                region="140401",
                idempotency_key=org,
            )
            ledger.new_key("city", for_org=org, idempotency_key=f"{org}-key")
            plan[org] = []
            for day in (3, 4):
                start = datetime(2025, 3, day, 9, tzinfo=UTC)
                plan[org].append(
                    ledger.publish_activity(
                        org,
                        title=f"Activity {day}",
                        field="emergency-rescue",
                        place="square",
                        starts_at=start,
                        ends_at=start + timedelta(hours=3),
                        leader="lead",
                        content="drill",
                        idempotency_key=f"{org}-activity-{day}",
                        occurred_at=start - timedelta(days=2),
                    ).value.activity_id
                )
    return plan


def test_a_running_projection_keeps_up_with_concurrent_writers_and_misses_none(
    postgres_schema: str, tmp_path: Path
) -> None:
    url = postgres_schema
    key_dir = tmp_path / "keys"
    keys = DirectoryKeystore(key_dir)
    plan = prepare(url, keys)
    reader = Ledger(url, keystore=keys)
    views = reader.projections()
    views.catch_up()
    start_position = views.position()
    views.start(interval=0.05)
    seen_positions: list[int] = []
    try:
        spawn = multiprocessing.get_context("spawn")
        orgs = sorted(plan)
        with (
            ProcessPoolExecutor(PROCESSES, mp_context=spawn) as processes,
            ThreadPoolExecutor(THREADS) as threads,
        ):
            futures: list[Future[dict[str, Any]]] = [
                processes.submit(write_volunteers, url, str(key_dir), org, plan[org], PER_WRITER)
                for org in orgs[:PROCESSES]
            ] + [
                threads.submit(write_volunteers, url, str(key_dir), org, plan[org], PER_WRITER)
                for org in orgs[PROCESSES:]
            ]
            while not all(f.done() for f in futures):
                seen_positions.append(views.position())
                time.sleep(0.05)
            written = [f.result() for f in futures]
        last = int(reader._recorder.max_notification_id() or 0)
        views.wait_for(last, timeout=60)
    finally:
        views.stop()
    try:
        # it kept up while the writers wrote, not only at the end
        during = {p for p in seen_positions if start_position < p < last}
        assert len(during) >= 3, f"the runner did not advance while writers wrote: {during}"
        assert seen_positions == sorted(seen_positions), "a view's position went backwards"
        # it missed nothing: its content is what a rebuild from the events gives ...
        live = views.digest()
        assert views.positions() == dict.fromkeys(VIEWS, last)
        with new_pg_schema() as elsewhere:
            rebuilt = reader.projections(elsewhere, verify=False)
            rebuilt.catch_up()
            assert rebuilt.digest() == live
            rebuilt.close()
        # ... and the counts match what the writers wrote
        queries = ViewQueries(views.database)
        numbers = sorted(n for w in written for n in w["numbers"])
        total = PER_WRITER * (PROCESSES + THREADS)
        assert len(numbers) == len(set(numbers)) == total
        shown = views.database.query(
            "SELECT COUNT(*), SUM(approved_minutes), SUM(records), SUM(approved_records) "
            "FROM view_volunteers"
        )[0]
        assert [int(v) for v in shown] == [
            total,
            sum(w["minutes"] for w in written),
            sum(w["records"] for w in written),
            sum(w["records"] for w in written),
        ]
        for org, work in zip(orgs, written, strict=True):
            own = queries.organisation(org)["organisation"]
            assert (own["registered_volunteers"], own["approved_minutes"]) == (
                PER_WRITER,
                work["minutes"],
            )
        city = queries.city_statistics()
        assert city["registered_volunteers"] == total
        assert city["approved_minutes"] == sum(w["minutes"] for w in written)
        stars = views.database.query("SELECT COUNT(*) FROM view_volunteer_stars")[0][0]
        assert int(stars) == total
        for number in numbers[:: max(1, total // 10)]:
            balance = reader.volunteer_balance(number)
            assert queries.volunteer(number)["approved_minutes"] == balance["approved_minutes"]
    finally:
        views.close()
        reader.close()


def test_several_ledgers_open_one_schema_at_once(postgres_schema: str) -> None:
    """Writer processes of one city start together (a service restarted, workers scaled up):
    each opens its Ledger on the same, already created schema at the same moment."""
    Ledger(postgres_schema, keystore=MemoryKeystore()).close()
    barrier = threading.Barrier(6)
    failures: list[str] = []

    def open_and_close() -> None:
        barrier.wait(timeout=30)
        try:
            Ledger(postgres_schema, keystore=MemoryKeystore()).close()
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")

    workers = [threading.Thread(target=open_and_close) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert failures == []
