"""Helpers the test suites share (imported by name: ``tests/`` is on the path via conftest)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

from postgres_testing import fresh_schema

from ledger import SIGNING_CONTEXT, Ledger, SignedEvent, SigningKey, canonical_json
from ledger.envelope import format_time
from ledger.model.aggregates import AggregateState
from ledger.storage.records import InsertReceipt

S = TypeVar("S", bound=AggregateState)


def create_city(ledger: Ledger) -> dict[str, str]:
    """A root federation, organisations org-a and org-b each with its own key, and one
    registered volunteer of org-a."""
    ledger.create(
        name="Test city ledger",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.test.example/log",
    )
    ledger.register_organisation(
        "city",
        org_id="org-a",
        name="Organisation A",
        kind="organisation",
        region="140402",
        idempotency_key="org-a",
    )
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key")
    ledger.register_organisation(
        "city",
        org_id="org-b",
        name="Organisation B",
        kind="organisation",
        region="140403",
        idempotency_key="org-b",
    )
    ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key")
    result = ledger.register_volunteer("org-a", idempotency_key="vol-1")
    return {"number": str(result.value.number)}


def outside_body(
    ledger: Ledger,
    *,
    event_type: str,
    org: str,
    key: SigningKey,
    aggregate_id: UUID,
    data: dict[str, Any],
    idempotency_key: str,
    version: int | None = None,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    """An event body built by hand, as an organisation signing outside the ledger would."""
    if version is None:
        version = len(ledger.events(aggregate_id)) + 1
    return {
        "type": event_type,
        "org": org,
        "key_id": key.key_id,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": version,
        "occurred_at": occurred_at or format_time(ledger.clock()),
        "idempotency_key": idempotency_key,
        "data": data,
    }


def sign_outside(body: dict[str, Any], key: SigningKey) -> bytes:
    return key.sign(SIGNING_CONTEXT + canonical_json(body))


def insert_behind(ledger: Ledger, body: dict[str, Any], key: SigningKey) -> SignedEvent:
    """Sign ``body`` with ``key`` and insert it, logged, straight through the recorder, bypassing
    the writer's checks, as someone with write access to the database could; the store's own
    refusals (a taken version, say) are raised."""
    event = SignedEvent.sealed(body, sign_outside(body, key), format_time(ledger.clock()))
    ledger._recorder.insert_events(
        [ledger._app.signed_mapper.to_stored_event(event)], receipt=InsertReceipt()
    )
    return event


@contextmanager
def empty_store(kind: str, directory: Path) -> Iterator[Ledger]:
    """A ledger on a store of its own (``memory``, ``sqlite`` or ``postgresql``), with no events;
    a PostgreSQL schema is dropped afterwards."""
    if kind == "postgresql":
        with fresh_schema() as url, Ledger(url) as ledger:
            yield ledger
    else:
        url = "memory://" if kind == "memory" else f"sqlite:///{directory / uuid4().hex}.db"
        with Ledger(url) as ledger:
            yield ledger


def postgres_connection(ledger: Ledger) -> Any:
    """An autocommit connection to the ledger's PostgreSQL server, as its operator has one."""
    import psycopg

    store = ledger.store
    return psycopg.connect(
        host=store.host,
        port=store.port,
        user=store.user,
        password=store.password or None,
        dbname=store.dbname,
        autocommit=True,
    )


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
        store = ledger.store
        with postgres_connection(ledger) as conn:
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
        with postgres_connection(ledger) as conn:
            conn.execute(statement.replace("{schema}", f'"{ledger.store.schema}"'), params)


def replayed(ledger: Ledger, cls: type[S], aggregate_id: UUID) -> S:
    """An aggregate's state rebuilt from its first event, as a reference for what the ledger's
    cached states answer."""
    state = cls(aggregate_id=aggregate_id)
    for event in ledger.events(aggregate_id):
        state.apply(event, event.data)
    return state


def race_after_lookups(
    recorder: Any, namespace: str, calls: list[Callable[[], object]], monkeypatch: Any
) -> list[object]:
    """Run ``calls`` at once, each in a thread of its own, each first looking a key of side
    table ``namespace`` up and then waiting until all have (the window a real race has: every
    writer looks before any stores). Return what each call returned or raised, as they end."""
    all_looked = threading.Barrier(len(calls), timeout=20)
    looked: set[int] = set()
    real_get = recorder.side_get

    def side_get(table: str, key: str) -> bytes | None:
        value: bytes | None = real_get(table, key)
        thread = threading.get_ident()
        if table == namespace and thread not in looked:
            looked.add(thread)
            all_looked.wait()
        return value

    monkeypatch.setattr(recorder, "side_get", side_get)
    outcomes: list[object] = []

    def run(call: Callable[[], object]) -> None:
        try:
            outcomes.append(call())
        except Exception as error:
            outcomes.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.setattr(recorder, "side_get", real_get)
    return outcomes
