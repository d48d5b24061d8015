"""The views survive driver errors: a batch that fails is retried from the position the views
last committed, on a fresh connection, and the result equals a rebuild from empty."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from ledger_testing import create_city

from ledger import Ledger
from ledger.errors import StoreUnavailableError
from ledger.projections import Projections

pytestmark = pytest.mark.postgres


def drop_views_connection(views: Projections, base_url: str) -> None:
    """The operator's database kills the views' connection (a restart, a failover)."""
    pid = views.database._conn.info.backend_pid
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def register(ledger: Ledger, prefix: str, count: int) -> int:
    for index in range(count):
        ledger.register_volunteer("org-a", idempotency_key=f"{prefix}-{index}")
    return int(ledger._recorder.max_notification_id() or 0)


def test_a_dropped_views_connection_fails_one_batch_and_the_retry_resumes(
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    views = ledger.projections()
    try:
        views.catch_up()
        before = views.position()
        last = register(ledger, "after-drop", 5)
        drop_views_connection(views, postgres_schema.split("?")[0])
        with pytest.raises(StoreUnavailableError):
            views.catch_up()
        assert views.position() == before  # nothing of the failed batch was applied
        views.catch_up()
        assert views.position() == last
        incremental = views.digest()
        views.rebuild()
        assert views.digest() == incremental
    finally:
        views.close()


def test_the_background_runner_keeps_going_after_a_dropped_connection(
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    views = ledger.projections()
    try:
        views.start(interval=0.05)
        views.wait_for(int(ledger._recorder.max_notification_id() or 0))
        drop_views_connection(views, postgres_schema.split("?")[0])
        last = register(ledger, "while-running", 5)
        views.wait_for(last, timeout=15)
        views.stop()
        incremental = views.digest()
        views.rebuild()
        assert views.digest() == incremental
    finally:
        views.close()
