"""The whole authority table through the library: every command and private read of
docs/authority.md, by every organisation of a tree with three branches, first in a fixed sweep
(each action with each organisation), then in random orders (hypothesis), on SQLite and
PostgreSQL. The table and the machine are in tests/authority_oracle.py; the HTTP oracle
(tests/e2e/test_api_authority_oracle.py) runs the same machine through API keys."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator

import pytest
from authority_oracle import (
    NOT_REQUESTED,
    ORGS,
    TABLE,
    LibraryDriver,
    TableOracle,
    World,
    build_city,
    documented_events,
    sweep,
)
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from postgres_testing import drop_schema, new_schema

from ledger import Ledger, MemoryKeystore
from ledger.model.registry import EVENT_SPECS

StoreFactory = Callable[[], tuple[str, Callable[[], None]]]


def _sqlite_store() -> tuple[str, Callable[[], None]]:
    directory = tempfile.mkdtemp(prefix="authority-table-")
    return f"sqlite:///{directory}/ledger.db", lambda: None


def _postgres_store() -> tuple[str, Callable[[], None]]:
    url = new_schema("table_oracle_")
    return url, lambda: drop_schema(url)


def _machine(factory: StoreFactory) -> type[TableOracle]:
    class LibraryOracle(TableOracle):
        def make_driver(self) -> tuple[LibraryDriver, World]:
            url, self._drop = factory()
            self.ledger = Ledger(url, keystore=MemoryKeystore())
            build_city(self.ledger)
            return LibraryDriver(self.ledger), World()

        def teardown(self) -> None:
            self.ledger.close()
            self._drop()

    return LibraryOracle


def _settings() -> settings:
    return settings(
        max_examples=int(os.environ.get("LEDGER_ORACLE_EXAMPLES", "8")),
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_the_table_mirrors_docs() -> None:
    """Every event type of docs/authority.md is signed by an action of the oracle's table (or
    made at creation / derived), the oracle's table names no event the page does not, and the
    page names every event type the ledger registers."""
    signed = {event for row in TABLE.values() for event in row.events}
    assert documented_events() == signed | NOT_REQUESTED
    assert documented_events() == set(EVENT_SPECS)  # and every event type the ledger has
    assert "read_personal_data" in TABLE  # the private read of the page


def _sweep_everything(factory: StoreFactory, rounds: int) -> None:
    machine = _machine(factory)()
    try:
        sweep(machine, rounds)
        views = machine.ledger.projections()  # what was stored (and only that) makes the views
        try:
            views.catch_up()
            assert views.position() == machine.ledger._recorder.max_notification_id()
        finally:
            views.close()
        tried = {action for action, _ in machine.world.tried}
        assert tried == set(TABLE), set(TABLE) - tried
        for action in TABLE:
            by = {org for a, org in machine.world.tried if a == action}
            if action not in ("register_volunteer",):
                assert by == set(ORGS), (action, set(ORGS) - by)
    finally:
        machine.teardown()


@pytest.fixture
def pg(postgres_schema: str) -> Iterator[None]:
    """The test server answers (else skipped, or failed in CI, by ``postgres_schema``)."""
    yield


def test_every_action_by_every_organisation_on_sqlite() -> None:
    _sweep_everything(_sqlite_store, 6)


@pytest.mark.postgres
def test_every_action_by_every_organisation_on_postgresql(pg: None) -> None:
    _sweep_everything(_postgres_store, 3)


def test_random_orders_hold_the_table_on_sqlite() -> None:
    run_state_machine_as_test(_machine(_sqlite_store), settings=_settings())


@pytest.mark.postgres
def test_random_orders_hold_the_table_on_postgresql(pg: None) -> None:
    run_state_machine_as_test(_machine(_postgres_store), settings=_settings())
