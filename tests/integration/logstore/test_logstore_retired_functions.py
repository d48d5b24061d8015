"""Opening a PostgreSQL store made by an earlier version drops the insert functions that version
stored and this one never calls, and keeps the one it does."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from logstore_support import create_city, register_many
from postgres_testing import SERVER_URL

from ledger import Ledger
from ledger.storage.postgresql_recorder import RETIRED_FUNCTIONS

pytestmark = pytest.mark.postgres


def functions(schema: str) -> set[str]:
    with psycopg.connect(SERVER_URL) as conn:
        rows = conn.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s",
            (schema,),
        ).fetchall()
    return {name for (name,) in rows}


def test_an_earlier_versions_insert_functions_are_dropped_when_the_store_opens(
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    first = open_ledger(postgres_schema)
    schema = first.store.schema
    first.close()
    retired = {f"ledger_events_{name}" for name in RETIRED_FUNCTIONS}
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        for name in retired:  # as an earlier version left them (their bodies do not matter)
            conn.execute(
                f'CREATE FUNCTION "{schema}"."{name}"() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'
            )
    assert retired <= functions(schema)
    reopened = open_ledger(postgres_schema)
    assert functions(schema) & retired == set()
    assert "ledger_events_insert_logged" in functions(schema)
    create_city(reopened)  # and the store still writes
    assert register_many(reopened, 3, "after-reopening").events[-1].leaf_index == (
        reopened.log_size() - 1
    )
