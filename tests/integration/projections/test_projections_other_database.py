"""Views in another database, named by ``views_url``: another SQLite file or PostgreSQL schema
(even of the other kind). The ledger's own database is left untouched, and the content (so the
digest) is the same wherever the views live."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from projections_support import (
    Demo,
    assert_views_match_replay,
    demo_ledgers,
    new_pg_schema,
    views_url_for,
)

from ledger import Ledger, MemoryKeystore
from ledger.demo import build_demo
from ledger.projections import VIEWS
from ledger.storage.url import parse_store_url

__all__ = ["demo_ledgers", "views_url_for"]  # fixtures used here

VIEW_TABLES = {"view_tracking"} | {t for v in VIEWS.values() for t in v.tables}


def sqlite_tables(url: str) -> set[str]:
    path = parse_store_url(url).path
    assert path is not None
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def pg_tables(url: str) -> set[str]:
    store = parse_store_url(url)
    with psycopg.connect(url.split("?")[0]) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [store.schema],
        ).fetchall()
    return {r[0] for r in rows}


def test_views_in_another_sqlite_file(tmp_path: Path) -> None:
    ledger_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    views_url = f"sqlite:///{tmp_path / 'views.db'}"
    with Ledger(ledger_url, keystore=MemoryKeystore()) as ledger:
        build_demo(ledger, volunteers=8, seed=3)
        views = ledger.projections(views_url)
        assert views.catch_up() > 0
        apart = views.digest()
        views.close()
        assert not sqlite_tables(ledger_url) & VIEW_TABLES
        assert sqlite_tables(views_url) >= VIEW_TABLES
        own = ledger.projections()
        own.catch_up()
        assert own.digest() == apart
        own.close()
        assert sqlite_tables(ledger_url) >= VIEW_TABLES


@pytest.mark.postgres
def test_views_in_another_postgresql_schema(postgres_schema: str) -> None:
    with Ledger(postgres_schema, keystore=MemoryKeystore()) as ledger, new_pg_schema() as other:
        build_demo(ledger, volunteers=6, seed=3)
        views = ledger.projections(other)
        assert views.catch_up() > 0
        apart = views.digest()
        views.close()
        assert not pg_tables(postgres_schema) & VIEW_TABLES
        assert pg_tables(other) >= VIEW_TABLES
        own = ledger.projections()
        own.catch_up()
        assert own.digest() == apart
        own.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("ledger_kind", "views_kind"),
    [("sqlite", "postgresql"), ("postgresql", "sqlite"), ("memory", "postgresql")],
)
def test_views_of_one_kind_of_store_in_a_database_of_another(
    ledger_kind: str,
    views_kind: str,
    demo_ledgers: Callable[[str], Demo],
    views_url_for: Callable[[str], str],
) -> None:
    demo = demo_ledgers(ledger_kind)
    same = demo.views(views_url_for(ledger_kind), verify=False)
    other = demo.views(views_url_for(views_kind), verify=False)
    try:
        same.catch_up()
        other.catch_up(batch=64)
        assert other.digest() == same.digest()
        assert_views_match_replay(demo.ledger, other, demo.replay)
    finally:
        same.close()
        other.close()
