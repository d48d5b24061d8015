"""Real server processes for the end-to-end API tests.

One SQLite server (``ledger serve``, one worker) and one PostgreSQL server (``ledger serve
--workers 2``, in a schema of its own) are shared by the whole session; each test makes its own
activities, records and idempotency keys, so tests do not depend on one another. The ledger and
its API keys are made beforehand with the library, from the directory the server then runs in
(the keystore lives beside the SQLite file, or in ``./ledger-keys`` for PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from api_support import (
    Api,
    City,
    Server,
    build_city,
    create_views,
    start_ledger_serve,
    start_uvicorn_factory,
)

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


def _serve(server: Server, kind: str, db_url: str, city: City) -> Iterator[Api]:
    client = httpx.Client(base_url=server.base_url, timeout=60.0)
    try:
        yield Api(server, city, client, kind, db_url)
    finally:
        client.close()
        server.stop()


@pytest.fixture(scope="session")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    cwd = tmp_path_factory.mktemp("sqlite-server")
    db_url = f"sqlite:///{cwd / 'ledger.db'}"
    city = build_city(db_url, cwd)
    server = start_ledger_serve(db_url, cwd, env=LOCAL_LINKS)
    yield from _serve(server, "sqlite", db_url, city)


@pytest.fixture(scope="session")
def pg_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    require_postgres()
    cwd = tmp_path_factory.mktemp("pg-server")
    db_url = new_schema()
    try:
        city = build_city(db_url, cwd)
        create_views(db_url)
        server = start_ledger_serve(db_url, cwd, workers=2, env=LOCAL_LINKS)
        yield from _serve(server, "postgresql", db_url, city)
    finally:
        drop_schema(db_url)


STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
]


@pytest.fixture(params=STORES)
def api(request: pytest.FixtureRequest) -> Api:
    """The SQLite server, then the PostgreSQL server with two workers."""
    name = "sqlite_api" if request.param == "sqlite" else "pg_api"
    found: Api = request.getfixturevalue(name)
    return found


@pytest.fixture(scope="session")
def small_body_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """uvicorn on ``create_app_from_env`` with ``LEDGER_MAX_BODY_BYTES`` set small."""
    cwd = tmp_path_factory.mktemp("small-body-server")
    db_url = f"sqlite:///{cwd / 'ledger.db'}"
    city = build_city(db_url, cwd, volunteers=3, fillers=0)
    server = start_uvicorn_factory(db_url, cwd, {"LEDGER_MAX_BODY_BYTES": str(SMALL_BODY_LIMIT)})
    yield from _serve(server, "sqlite", db_url, city)
