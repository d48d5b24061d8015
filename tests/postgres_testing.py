"""The PostgreSQL server the tests use, and schemas of their own on it.

Every PostgreSQL test isolates itself in a fresh schema and drops it afterwards. When no server
answers, the test is skipped with the reason; under CI (``CI`` set) it fails instead, since
``.ci/run`` makes the PostgreSQL tests required.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SERVER_URL = POSTGRES_URL.split("?")[0]


@cache
def postgres_problem() -> str | None:
    """None when the server answers, else why not (asked once per process)."""
    try:
        import psycopg

        with psycopg.connect(SERVER_URL, connect_timeout=3):
            return None
    except Exception as error:
        return f"PostgreSQL at {POSTGRES_URL} is not available: {error}"


def require_postgres() -> None:
    """Skip the calling test when no server answers (fail it under CI)."""
    problem = postgres_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires PostgreSQL: {problem}")
        pytest.skip(problem)


def new_schema(prefix: str = "t_") -> str:
    """Make a fresh schema on the test server; return its store URL."""
    import psycopg

    schema = prefix + uuid.uuid4().hex[:16]
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{SERVER_URL}?schema={schema}"


def drop_schema(url: str) -> None:
    """Drop the schema of a store URL ``new_schema`` made, with everything in it."""
    import psycopg

    _, _, schema = url.partition("?schema=")
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@contextmanager
def fresh_schema(prefix: str = "t_") -> Iterator[str]:
    """A fresh schema's store URL for the block, dropped afterwards; requires the server."""
    require_postgres()
    url = new_schema(prefix)
    try:
        yield url
    finally:
        drop_schema(url)
