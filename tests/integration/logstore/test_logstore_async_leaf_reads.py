"""A leaf's evidence read from PostgreSQL on an event loop (``ledger_api.async_leaves``, what
``GET /leaves/{i}`` uses on PostgreSQL), against the same ledger read the usual way: the same
event and inclusion for every leaf, the same refusals of the operator's edits, and the
database's failures as the ledger's errors."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable

import pytest
from logstore_support import create_city, register_many, sql_execute

from ledger import Ledger
from ledger.errors import StoreIntegrityError, StoreUnavailableError, TamperedEventError
from ledger.transparency import Inclusion, InclusionPlan
from ledger_api.async_leaves import APPLICATION_NAME, AsyncLeafReader

pytestmark = pytest.mark.postgres
SIZE = 300
FORGED = hashlib.sha256(b"forged").digest()


@pytest.fixture
def ledger(store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]) -> Ledger:
    """A PostgreSQL ledger of ``SIZE`` leaves with a checkpoint signed over all of them, and
    that checkpoint read for evidence (as the first ``GET /leaves/{i}`` reads it)."""
    opened = open_ledger(store_url_for("postgresql"))
    create_city(opened)
    register_many(opened, SIZE - opened.log_size(), "fill")
    opened.log.sign_checkpoint()
    opened.event_with_inclusion(0)
    return opened


def plan_of(ledger: Ledger, leaf: int) -> InclusionPlan:
    plan = ledger.log.inclusion_plan(leaf)
    assert plan is not None, "the checkpoint read for evidence a moment ago covers every leaf"
    return plan


async def read(ledger: Ledger, reader: AsyncLeafReader, leaf: int) -> tuple[object, Inclusion]:
    plan = plan_of(ledger, leaf)
    return ledger.inclusion_from(plan, *await reader.leaf_and_nodes(plan))


def test_every_leaf_reads_as_the_ledger_reads_it(ledger: Ledger) -> None:
    async def main() -> None:
        reader = AsyncLeafReader(ledger.recorder, connections=2)
        try:
            read_all = [read(ledger, reader, leaf) for leaf in range(0, SIZE, 7)]
            for leaf, (event, included) in zip(
                range(0, SIZE, 7), await asyncio.gather(*read_all), strict=True
            ):
                assert (event, included) == ledger.event_with_inclusion(leaf)
        finally:
            await reader.close()

    asyncio.run(main())


def test_the_operators_edits_are_refused_as_the_ledger_refuses_them(ledger: Ledger) -> None:
    """An edited node on leaf 5's path, an edited event, a deleted node: each refused."""

    async def main() -> None:
        reader = AsyncLeafReader(ledger.recorder)
        try:
            await read(ledger, reader, 5)
            edit("UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=0 AND idx=4", FORGED)
            with pytest.raises(StoreIntegrityError):
                await read(ledger, reader, 5)
            events = str(ledger.recorder.events_table_name)  # type: ignore[attr-defined]
            edit(
                f"UPDATE {{schema}}.{events} SET state=%s WHERE notification_id = "
                "(SELECT notification_id FROM {schema}.ledger_log_leaves WHERE leaf_index=%s)",
                b'{"forged": true}',
                200,
            )
            with pytest.raises(TamperedEventError):
                await read(ledger, reader, 200)
            edit("DELETE FROM {schema}.ledger_log_nodes WHERE level=1 AND idx=%s", 50)
            with pytest.raises(StoreIntegrityError, match="missing"):
                await read(ledger, reader, 102)  # (1, 50) is its second step
            await read(ledger, reader, 7)  # a leaf none of it touches still reads
        finally:
            await reader.close()

    def edit(statement: str, *params: object) -> None:
        assert sql_execute(ledger, statement, params) == 1

    asyncio.run(main())


def test_a_dropped_connection_is_a_store_unavailable_error_and_the_next_read_reconnects(
    ledger: Ledger,
) -> None:
    async def main() -> None:
        reader = AsyncLeafReader(ledger.recorder, connections=1)
        try:
            await read(ledger, reader, 3)
            sql_execute(
                ledger,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = %s",
                (APPLICATION_NAME,),
            )
            with pytest.raises(StoreUnavailableError, match="retry"):
                await read(ledger, reader, 3)
            event, _ = await read(ledger, reader, 3)
            assert event == ledger.event_at(3)
        finally:
            await reader.close()

    asyncio.run(main())


def test_only_a_postgresql_recorder_is_read_this_way(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    with pytest.raises(TypeError, match="not a PostgreSQL recorder"):
        AsyncLeafReader(open_ledger(store_url_for("sqlite")).recorder)
