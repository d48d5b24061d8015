"""What the end-to-end tests share beside their fixtures: the PostgreSQL server they use (each
test in a schema of its own) and the settings of the servers they start. Test modules import it
by this name; importing ``conftest`` by name finds whichever conftest was loaded last."""

from __future__ import annotations

import os
import uuid

import pytest

# The servers under test listen on loopback, so the credentials they sign may link there.
LOCAL_LINKS = {"LEDGER_ALLOW_LOCAL_LINKS": "true"}
POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SMALL_BODY_LIMIT = 2048


def _postgres_problem() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.split("?")[0], connect_timeout=3):
            return None
    except Exception as error:
        return f"PostgreSQL at {POSTGRES_URL} is not available: {error}"


def require_postgres() -> None:
    problem = _postgres_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires PostgreSQL: {problem}")
        pytest.skip(problem)


def new_schema() -> str:
    """A fresh schema on the test server; returns its store URL."""
    import psycopg

    schema = "e2e_" + uuid.uuid4().hex[:16]
    base = POSTGRES_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?schema={schema}"


def drop_schema(url: str) -> None:
    import psycopg

    base, _, query = url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {query} CASCADE")
