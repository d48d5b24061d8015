"""Real server processes for the end-to-end API tests.

One SQLite server (``ledger serve``, one worker) and one PostgreSQL server (``ledger serve
--workers 2``, in a schema of its own) are shared by the whole session; each test makes its own
activities, records and idempotency keys, so tests do not depend on one another. The ledger and
its API keys are made beforehand with the library, from the directory the server then runs in
(the keystore lives beside the SQLite file, or in ``./ledger-keys`` for PostgreSQL).
"""

from __future__ import annotations

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
from e2e_environment import LOCAL_LINKS, SMALL_BODY_LIMIT
from postgres_testing import drop_schema, new_schema, require_postgres


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
