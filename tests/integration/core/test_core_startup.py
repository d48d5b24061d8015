"""A new process builds its trust directory from the key events alone, found by an index on the
event topic, so its start-up does not grow with the number of events stored
(``benchmarks/bench_startup.py`` measures it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from ledger_testing import create_city

from ledger import Ledger
from ledger.trust import KEY_TOPICS


def _plan(path: Path) -> str:
    placeholders = ",".join("?" * len(KEY_TOPICS))
    query = (
        "EXPLAIN QUERY PLAN SELECT rowid FROM stored_events "
        f"WHERE rowid >= ? AND topic IN ({placeholders}) ORDER BY rowid LIMIT ?"
    )
    with sqlite3.connect(path) as conn:
        rows = conn.execute(query, (1, *KEY_TOPICS, 500)).fetchall()
    return " ".join(str(row[-1]) for row in rows)


def test_sqlite_seeks_key_events_by_topic(
    tmp_path: Path, open_ledger: Callable[..., Ledger]
) -> None:
    path = tmp_path / "ledger.db"
    create_city(open_ledger(f"sqlite:///{path}"))
    assert "USING COVERING INDEX stored_events_topic (topic=?" in _plan(path)


def test_a_store_made_before_the_index_gets_it_when_opened(
    tmp_path: Path, open_ledger: Callable[..., Ledger]
) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(f"sqlite:///{path}") as ledger:
        create_city(ledger)
        anchors = ledger.trust_anchors()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX stored_events_topic")
    assert "stored_events_topic" not in _plan(path)
    reopened = open_ledger(f"sqlite:///{path}")
    assert reopened.trust_anchors() == anchors
    assert "USING COVERING INDEX stored_events_topic" in _plan(path)


@pytest.mark.postgres
def test_postgresql_indexes_events_by_topic(  # the plan at scale: bench_startup.py
    postgres_schema: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(postgres_schema)
    create_city(ledger)
    base, _, query = postgres_schema.partition("?")
    schema = query.removeprefix("schema=")
    with psycopg.connect(base) as conn:
        row = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
            (schema, "ledger_events_topic"),
        ).fetchone()
        assert row is not None
        assert "(topic, notification_id)" in row[0]


def test_the_directory_reads_the_newest_position_and_key_events_together(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url)
    create_city(ledger)
    for i in range(3):
        ledger.register_volunteer("org-a", idempotency_key=f"more-{i}")
    recorder = ledger._recorder
    top = recorder.max_notification_id()
    everything = recorder.select_notifications(1, 1000, top, KEY_TOPICS)
    assert len(everything) >= 5, "the city's organisations and keys are key events"
    for after in (0, everything[1].id, everything[-1].id, top):
        for limit in (1, 2, 500):
            newest, batch = recorder.select_notifications_to_newest(after, limit, KEY_TOPICS)
            expected = [n for n in everything if n.id > after][:limit]
            assert newest == top
            assert [(n.id, n.topic, n.state) for n in batch] == [
                (n.id, n.topic, n.state) for n in expected
            ]
    assert recorder.select_notifications_to_newest(0, 10, ["no.such:Topic"]) == (top, [])
