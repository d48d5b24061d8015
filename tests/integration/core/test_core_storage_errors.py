"""Driver errors reach callers as ledger errors with a code, and writers in several processes
on PostgreSQL never see driver-internal errors (no server-side prepared statements)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from core_support import create_city
from writer_testing import audit_store, describe, run_writers, writer_city

from ledger import Ledger, LedgerError
from ledger.errors import StorageError, StoreIntegrityError, StoreUnavailableError


@pytest.mark.slow
@pytest.mark.postgres
def test_six_writer_processes_on_postgresql_see_only_ledger_errors(
    postgres_schema: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    orgs = writer_city(postgres_schema, keys, writers=6)
    writers = run_writers(postgres_schema, keys, orgs, each=40)  # each exits 0: no raw error
    assert all(e["error"] == "storage-unavailable" for w in writers for e in w.errors)
    report = audit_store(postgres_schema)
    assert report.clean, describe(report)


@pytest.mark.postgres
def test_pool_connections_prepare_single_reads_only_never_an_insert(
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    """Reads run alone in autocommit are prepared; nothing of the pipelined insert transaction
    is (a failed pipeline would leave psycopg's cache and the server's out of step)."""
    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    for number in range(8):
        ledger.register_volunteer("org-a", idempotency_key=f"v{number}")
    datastore = ledger._recorder.datastore  # type: ignore[attr-defined]
    statements: list[str] = []
    with ExitStack() as stack:  # every pooled connection, each with its own prepared statements
        for _ in range(datastore.pool.max_size):
            conn = stack.enter_context(datastore.get_connection())
            rows = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
            statements += [row["statement"] for row in rows]
    assert any("ledger_idempotency" in text for text in statements)
    for text in statements:
        assert text.lstrip().upper().startswith("SELECT"), text
        assert not any(word in text.upper() for word in ("INSERT", "LOCK", "NOTIFY")), text


@pytest.mark.postgres
def test_a_dropped_connection_is_a_retryable_ledger_error(
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    """The operator's database restarts under a running ledger: the call in flight fails with
    ``storage-unavailable``, and retrying it succeeds."""
    import psycopg

    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    size = ledger.log_size()
    datastore = ledger._recorder.datastore  # type: ignore[attr-defined]
    pids = []
    with ExitStack() as stack:  # hold every pooled connection to learn its backend
        for _ in range(datastore.pool.max_size):
            conn = stack.enter_context(datastore.get_connection())
            pids.append(conn.info.backend_pid)
    base = postgres_schema.split("?")[0]
    with psycopg.connect(base, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StoreUnavailableError) as caught:
        ledger.log_size()
    assert caught.value.code == "storage-unavailable"
    assert isinstance(caught.value, LedgerError)
    for _ in range(len(pids) + 1):
        try:
            assert ledger.log_size() == size
            break
        except StoreUnavailableError:
            continue
    else:
        pytest.fail("the store never came back")


def test_storage_errors_are_problems_with_a_code_and_retry_after() -> None:
    from ledger_api.problems import for_ledger_error

    busy = for_ledger_error(StoreUnavailableError("the store is unavailable for now"))
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    broken = for_ledger_error(StoreIntegrityError("stored data fails verification"))
    assert broken.status_code == 500
    assert "Retry-After" not in broken.headers


def test_a_missing_merkle_node_on_read_is_a_store_integrity_error(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for("sqlite"))
    create_city(ledger)
    assert ledger.store.path is not None
    with sqlite3.connect(ledger.store.path) as conn:
        conn.execute("DELETE FROM ledger_log_nodes WHERE level = 0 AND idx = 0")
    with pytest.raises(StoreIntegrityError) as caught:
        ledger._recorder.read_nodes([(0, 0)])
    assert isinstance(caught.value, StorageError)
