"""Helpers for the [core] integration tests (imported by name; not a test module)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from ledger_testing import create_city, outside_body, sign_outside

from ledger import Ledger, SigningKey
from ledger.envelope import format_time
from ledger.model.ids import organisation_aggregate_id, volunteer_aggregate_id

__all__ = [
    "SHAPE_ONLY",
    "SQL_STORES",
    "all_states",
    "create_city",
    "key_of",
    "notification_count",
    "organisation_aggregate_id",
    "outside_body",
    "refused",
    "sign_outside",
    "tamper_state",
    "volunteer_aggregate_id",
]


def notification_count(ledger: Ledger) -> int:
    """How many events are stored, whether or not they have a leaf."""
    return len(ledger._recorder.select_notifications(1, 10**9))


def all_states(ledger: Ledger) -> list[bytes]:
    """The stored bytes of every event."""
    return [bytes(n.state) for n in ledger._recorder.select_notifications(1, 10**9)]


@contextmanager
def refused(
    ledger: Ledger, error: type[BaseException], match: str | None = None
) -> Iterator[pytest.ExceptionInfo[BaseException]]:
    """Expect ``error`` and that nothing at all was stored."""
    size, count = ledger.log_size(), notification_count(ledger)
    with pytest.raises(error, match=match) as caught:
        yield caught
    assert ledger.log_size() == size, "a refused command grew the log"
    assert notification_count(ledger) == count, "a refused command stored an event"


def key_of(ledger: Ledger, org: str) -> SigningKey:
    """The organisation's newest active key held in the ledger's keystore."""
    signer = ledger.signer_for(org)
    assert isinstance(signer, SigningKey)
    return signer


def tamper_state(ledger: Ledger, notification_id: int, new_state: bytes) -> None:
    """Overwrite one stored event's bytes directly in the store, behind the ledger's back."""
    kind = ledger.store.kind
    table = getattr(ledger._recorder, "events_table_name", "stored_events")
    if kind == "sqlite":
        assert ledger.store.path is not None
        with sqlite3.connect(ledger.store.path) as conn:
            changed = conn.execute(
                f"UPDATE {table} SET state=? WHERE rowid=?", (new_state, notification_id)
            ).rowcount
        assert changed == 1
    elif kind == "postgresql":
        import psycopg

        store = ledger.store
        with psycopg.connect(
            host=store.host,
            port=store.port,
            user=store.user,
            password=store.password or None,
            dbname=store.dbname,
            autocommit=True,
        ) as conn:
            changed = conn.execute(
                f'UPDATE "{store.schema}"."{table}" SET state=%s WHERE notification_id=%s',
                (new_state, notification_id),
            ).rowcount
        assert changed == 1
    else:
        recorder: Any = ledger._recorder
        with recorder._database_lock:
            old = recorder._stored_events[notification_id - 1]
            recorder._stored_events[notification_id - 1] = dataclasses.replace(old, state=new_state)


def tamper_sql(ledger: Ledger, statement: str, params: tuple[Any, ...]) -> None:
    """Run one SQL statement on the ledger's SQLite file or PostgreSQL schema ({schema}.)."""
    if ledger.store.kind == "sqlite":
        assert ledger.store.path is not None
        with sqlite3.connect(ledger.store.path) as conn:
            conn.execute(statement.replace("{schema}.", "").replace("%s", "?"), params)
    else:
        import psycopg

        store = ledger.store
        with psycopg.connect(
            host=store.host,
            port=store.port,
            user=store.user,
            password=store.password or None,
            dbname=store.dbname,
            autocommit=True,
        ) as conn:
            conn.execute(statement.replace("{schema}", f'"{store.schema}"'), params)


def new_time(ledger: Ledger, seconds: int = 0) -> str:
    from datetime import timedelta

    return format_time(ledger.clock() + timedelta(seconds=seconds))


SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# For input refused before any store is read or written, PostgreSQL adds nothing over SQLite
# but a second per test; these run on memory and SQLite only.
SHAPE_ONLY = pytest.mark.parametrize("store_url", ["memory", "sqlite"], indirect=True)
