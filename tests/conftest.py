"""Shared fixtures: the same tests run against memory://, a SQLite file and PostgreSQL.

PostgreSQL tests read ``LEDGER_TEST_POSTGRES_URL`` (default: the local server's ``test``
database), work in a schema of their own that is dropped afterwards, and are skipped with a
reason when no server answers, except under CI (``CI=true``), where they are required.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from ledger_testing import create_city

from ledger import Ledger, MemoryKeystore

# CI runs the property tests with a fixed seed, so a run fails only for a reason it will show
# again; developers' runs explore new examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STORES = ["memory", "sqlite", "postgresql"]


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.split("?")[0], connect_timeout=3):
            return None
    except Exception as error:
        return f"PostgreSQL at {POSTGRES_URL} is not available: {error}"


_PG_PROBLEM = postgres_available()


def require_postgres() -> None:
    if _PG_PROBLEM is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires PostgreSQL: {_PG_PROBLEM}")
        pytest.skip(_PG_PROBLEM)


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh schema URL on the test server, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:16]
    base = POSTGRES_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store_url_for(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Returns a function giving a fresh store URL of a kind; PostgreSQL schemas are cleaned up."""

    def make(kind: str) -> str:
        if kind == "memory":
            return "memory://"
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / ('ledger-' + uuid.uuid4().hex[:8] + '.db')}"
        return str(request.getfixturevalue("postgres_schema"))

    return make


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, store_url_for: Callable[[str], str]) -> str:
    """A fresh, empty store of each kind in turn."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return store_url_for(request.param)


@pytest.fixture
def open_ledger() -> Iterator[Callable[..., Ledger]]:
    """Open ledgers that are closed after the test."""
    opened: list[Ledger] = []

    def opener(url: str, **options: object) -> Ledger:
        options.setdefault("keystore", MemoryKeystore())
        ledger = Ledger(url, **options)  # type: ignore[arg-type]
        opened.append(ledger)
        return ledger

    yield opener
    for ledger in opened:
        ledger.close()


@pytest.fixture
def city(store_url: str, open_ledger: Callable[..., Ledger]) -> tuple[Ledger, dict[str, str]]:
    """A ledger of each store kind with a small city in it."""
    ledger = open_ledger(store_url)
    return ledger, create_city(ledger)
