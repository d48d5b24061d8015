"""A SQLite ledger's connections: the engine's, keeping 128 prepared statements instead of one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from core_support import create_city

from ledger import Ledger, MemoryKeystore
from ledger.errors import StorageError
from ledger.storage import sqlite_factory
from ledger.storage.sqlite_factory import STATEMENT_CACHE, StatementCachingPool
from ledger.storage.url import parse_store_url


def _spy_on_connect(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    opened: list[dict[str, Any]] = []
    connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(kwargs)
        return connect(*args, **kwargs)

    monkeypatch.setattr(sqlite_factory.sqlite3, "connect", spy)
    return opened


def test_the_store_url_names_the_ledgers_factory(tmp_path: Path) -> None:
    env = parse_store_url(f"sqlite:///{tmp_path}/ledger.db").eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "ledger.storage.sqlite_factory:LedgerSQLiteFactory"


def test_every_connection_keeps_prepared_statements_and_the_engines_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _spy_on_connect(monkeypatch)
    path = tmp_path / "ledger.db"
    ledger = Ledger(f"sqlite:///{path}", keystore=MemoryKeystore())
    try:
        create_city(ledger)
        ledger.register_volunteer("org-a", idempotency_key="v1")
        datastore = ledger._recorder.datastore  # type: ignore[attr-defined]
        assert type(datastore.pool) is StatementCachingPool
        assert opened, "the ledger opened no connection through the factory"
        for kwargs in opened:
            assert kwargs["cached_statements"] == STATEMENT_CACHE == 128
            assert kwargs["isolation_level"] is None  # the engine issues BEGIN itself
            assert kwargs["check_same_thread"] is False
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")  # SQLITE_LOCK_TIMEOUT, 30 s
            assert cursor.fetchone()[0] == 30_000
            cursor.execute("SELECT COUNT(*) AS n FROM stored_events")
            row = cursor.fetchone()
            assert isinstance(row, sqlite3.Row) and row["n"] == ledger.log_size()
    finally:
        ledger.close()


def test_a_ledger_reopened_on_its_file_reads_what_it_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    first = Ledger(url, keystore=MemoryKeystore())
    create_city(first)
    registered = first.register_volunteer("org-a", idempotency_key="v1").value
    size = first.log_size()
    first.close()
    again = Ledger(url, keystore=MemoryKeystore())
    try:
        assert again.log_size() == size
        assert again.volunteer(registered.number)["number"] == registered.number
    finally:
        again.close()


def test_an_in_memory_database_is_opened_without_write_ahead_logging() -> None:
    pool = StatementCachingPool(db_name="file::memory:?cache=shared")
    connection = pool.get_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "memory"
        assert not pool.is_journal_mode_wal
    finally:
        pool.put_connection(connection)
        pool.close()


def test_a_file_that_cannot_be_opened_is_a_storage_error(tmp_path: Path) -> None:
    taken = tmp_path / "ledger.db"
    taken.mkdir()  # a directory where the file should be
    with pytest.raises(StorageError, match="unable to open database file"):
        Ledger(f"sqlite:///{taken}", keystore=MemoryKeystore())
    assert not any(taken.iterdir())
