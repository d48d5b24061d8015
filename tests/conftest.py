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
from postgres_testing import fresh_schema

from ledger import Ledger, MemoryKeystore

# CI runs the property tests with a fixed seed, so a run fails only for a reason it will show
# again; developers' runs explore new examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

STORES = ["memory", "sqlite", "postgresql"]


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh schema URL on the test server, dropped afterwards."""
    with fresh_schema() as url:
        yield url


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
