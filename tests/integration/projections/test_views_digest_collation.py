"""A view's digest is the same on PostgreSQL whatever the database's collation: the audit
recomputes the views in SQLite, which sorts text byte by byte, and compares digests. A database
sorting by another collation (ICU ``en-US`` here; glibc's ``en_US.UTF-8``, a common default,
too) puts a volunteer's honour ``V...-H1`` after an organisation's ``org-a-H1``; the digest
once followed that order, and the audit reported a right view as changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from postgres_testing import SERVER_URL, require_postgres

from ledger.projections.base import ProjectedEvent
from ledger.projections.database import ViewDatabase
from ledger.projections.runner import VIEWS, apply_events, digest_of
from ledger.storage.url import parse_store_url

VOLUNTEER = "VABCDEFGHIJKLM"
EVENTS = [
    ProjectedEvent(
        "HonourGranted",
        "org-a",
        {
            "honour_id": f"{VOLUNTEER}-H1",
            "recipient": VOLUNTEER,
            "honour": "outstanding volunteer",
            "granted_on": "2026-01-05",
        },
        "2026-01-05T00:00:00Z",
        1,
    ),
    ProjectedEvent(
        "OrganisationHonourGranted",
        "city",
        {
            "honour_id": "org-a-H1",
            "recipient": "org-a",
            "honour": "model organisation",
            "granted_on": "2026-01-05",
        },
        "2026-01-05T00:00:00Z",
        2,
    ),
]


@pytest.fixture
def icu_database_url() -> Iterator[str]:
    """A database of its own whose default collation is ICU ``en-US``, dropped afterwards."""
    require_postgres()
    import psycopg

    name = "collation_" + uuid.uuid4().hex[:12]
    server = SERVER_URL.rsplit("/", 1)[0]
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _digest_after(url: str) -> dict[str, str]:
    database = ViewDatabase(parse_store_url(url))
    try:
        with database.transaction() as cursor:
            for view in VIEWS.values():
                view.create(cursor)
        with database.transaction() as cursor:
            apply_events(cursor, EVENTS, list(VIEWS))
        return digest_of(database)
    finally:
        database.close()


@pytest.mark.postgres
def test_the_digest_of_the_same_events_is_the_same_on_postgresql_of_another_collation(
    icu_database_url: str,
) -> None:
    """The same two honours give the same digests on SQLite and on PostgreSQL sorting by
    ICU ``en-US``."""
    on_sqlite = _digest_after("memory://")
    on_postgresql = _digest_after(icu_database_url)
    assert on_postgresql == on_sqlite
