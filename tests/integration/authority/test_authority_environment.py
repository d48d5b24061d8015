"""The environment cannot redirect the store or replace the mapper.

eventsourcing reads ``LEDGER_*`` variables (the application is named ``ledger``) and the
unprefixed ones before the settings the ledger passes; the ledger's application ignores them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_testing import create_city

from ledger import Ledger, MemoryKeystore

HOSTILE = {
    "LEDGER_SQLITE_DBNAME": "elsewhere.db",
    "SQLITE_DBNAME": "elsewhere-too.db",
    "LEDGER_MAPPER_TOPIC": "eventsourcing.persistence:Mapper",
    "MAPPER_TOPIC": "eventsourcing.persistence:Mapper",
    "LEDGER_PERSISTENCE_MODULE": "eventsourcing.popo",
    "PERSISTENCE_MODULE": "eventsourcing.popo",
    "LEDGER_APPLICATION_RECORDER_TOPIC": "eventsourcing.popo:POPOApplicationRecorder",
    "LEDGER_POSTGRES_SCHEMA": "public",
    "LEDGER_IS_SNAPSHOTTING_ENABLED": "y",
}


@pytest.fixture
def hostile_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, str(elsewhere / value) if value.endswith(".db") else value)
    monkeypatch.chdir(elsewhere)
    return elsewhere


def _event_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def test_ledger_sqlite_dbname_in_the_environment_does_not_redirect_the_store(
    tmp_path: Path, hostile_environment: Path
) -> None:
    intended = tmp_path / "intended.db"
    with Ledger(f"sqlite:///{intended}", keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        assert type(ledger._app.mapper).__name__ == "SignedEventMapper"
        assert type(ledger._recorder).__module__ == "ledger.storage.sqlite_recorder"
        stored = ledger.log_size()
    assert stored > 0
    assert _event_count(intended) == stored
    assert list(hostile_environment.iterdir()) == []


@pytest.mark.postgres
def test_postgres_schema_in_the_environment_does_not_redirect_the_store(
    postgres_schema: str, hostile_environment: Path, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    assert type(ledger._app.mapper).__name__ == "SignedEventMapper"
    import psycopg

    schema = postgres_schema.split("schema=")[1]
    with psycopg.connect(postgres_schema.split("?")[0]) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            [schema],
        ).fetchone()
    assert found is not None and found[0] > 0
    assert ledger.log_size() > 0
    assert list(hostile_environment.iterdir()) == []
