"""On PostgreSQL, the reads by event type seek each type in the (topic, notification_id) index,
whatever the plan: the server plans the insert function's fence check once per connection and a
prepared statement once for any parameters (a generic plan). Planned to read events in
notification order from a position and filter them by topic, the fence check of every command
and each trust-directory refresh read every event since the directory's position, a cost that
grew with the store through the city year.

Each plan is taken as the server makes it for any parameters (``plan_cache_mode`` forced to
generic), on a store holding enough events that reading by notification id looks cheap."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from logstore_support import create_city
from psycopg import sql

from ledger import Ledger
from ledger.trust import KEY_TOPICS

pytestmark = pytest.mark.postgres
TOPIC_INDEX = "ledger_events_topic"


@pytest.fixture
def ledger_with_history(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> Iterator[tuple[Ledger, psycopg.Connection[Any]]]:
    """A city and 20,000 more events of one common type, analysed; a connection to its schema
    that plans generically."""
    ledger = open_ledger(store_url_for("postgresql"))
    create_city(ledger)
    store = ledger.store
    schema = f'"{store.schema}"'
    with psycopg.connect(
        host=store.host, port=store.port, user=store.user, dbname=store.dbname, autocommit=True
    ) as conn:
        conn.execute(
            f"INSERT INTO {schema}.ledger_events (originator_id, originator_version, topic, "  # type: ignore[arg-type]
            "state) SELECT gen_random_uuid(), 1, 'ledger.event.v1:HoursRecorded', "
            "convert_to(repeat('x', 400), 'UTF8') FROM generate_series(1, 20000)"
        )
        conn.execute(f"ANALYZE {schema}.ledger_events")  # type: ignore[arg-type]
        conn.execute("SET plan_cache_mode = force_generic_plan")
        yield ledger, conn


def generic_plan(conn: psycopg.Connection[Any], statement: str, params: list[Any]) -> str:
    """The plan the server makes for ``statement`` (``%s`` placeholders) for any parameters."""
    numbered = iter(range(1, 100))
    text = re.sub(r"%s", lambda _: f"${next(numbered)}", statement)
    conn.execute("DEALLOCATE ALL")
    conn.execute(f"PREPARE probe AS {text}")  # type: ignore[arg-type]
    literals = sql.SQL(", ").join(sql.Literal(p) for p in params)
    rows = conn.execute(sql.SQL("EXPLAIN EXECUTE probe({})").format(literals)).fetchall()
    return "\n".join(row[0] for row in rows)


def test_a_directory_refresh_seeks_each_key_topic(
    ledger_with_history: tuple[Ledger, psycopg.Connection[Any]],
) -> None:
    ledger, conn = ledger_with_history
    recorder: Any = ledger._recorder
    plan = generic_plan(conn, recorder._select_to_newest.as_string(conn), [KEY_TOPICS, 5, 10, 10])
    assert TOPIC_INDEX in plan, plan
    assert "Filter: (topic" not in plan, plan  # sought, never filtered
    assert "Seq Scan on ledger_events" not in plan, plan


def test_reading_events_of_some_types_seeks_each_type(
    ledger_with_history: tuple[Ledger, psycopg.Connection[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, conn = ledger_with_history
    recorder: Any = ledger._recorder
    seen: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        recorder, "_fetch", lambda statement, params: seen.append((statement, params)) or []
    )
    recorder.select_notifications(5, 100, None, KEY_TOPICS)
    [(statement, params)] = seen
    plan = generic_plan(conn, statement.as_string(conn), params)
    assert TOPIC_INDEX in plan, plan
    assert "Filter: (topic" not in plan, plan  # sought, never filtered
    assert "Seq Scan on ledger_events" not in plan, plan


def test_the_insert_functions_fence_seeks_each_key_topic(
    ledger_with_history: tuple[Ledger, psycopg.Connection[Any]],
) -> None:
    """The function's statements, as PL/pgSQL plans them, shown by auto_explain."""
    ledger, conn = ledger_with_history
    plans: list[str] = []
    conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    for setting in (
        "LOAD 'auto_explain'",
        "SET auto_explain.log_min_duration = 0",
        "SET auto_explain.log_nested_statements = on",
        "SET auto_explain.log_level = 'notice'",
    ):
        conn.execute(setting)  # type: ignore[arg-type]
    schema = f'"{ledger.store.schema}"'
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation):
        conn.execute(
            f"SELECT * FROM {schema}.ledger_events_insert_logged(%s, %s, NULL, "  # type: ignore[arg-type]
            "ARRAY[gen_random_uuid()], ARRAY[1::bigint], ARRAY['t'], ARRAY['\\x00'::bytea], "
            "NULL, NULL, NULL, NULL, NULL, NULL)",
            [0, KEY_TOPICS],  # every key event is after position 0: refused, nothing stored
        )
    [fence] = [plan for plan in plans if "fence_topics" in plan]
    assert TOPIC_INDEX in fence, fence
    assert "Filter: (topic" not in fence, fence
