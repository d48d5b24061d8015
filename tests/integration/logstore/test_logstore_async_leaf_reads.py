"""A leaf's evidence read from PostgreSQL on an event loop (``Ledger.leaf_reads``, what
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
from ledger.async_leaves import APPLICATION_NAME, AsyncLeafReads
from ledger.envelope import SignedEvent
from ledger.errors import StoreIntegrityError, StoreUnavailableError, TamperedEventError
from ledger.transparency import Inclusion

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


async def read(reads: AsyncLeafReads, leaf: int) -> tuple[SignedEvent, Inclusion]:
    found = await reads.event_with_inclusion(leaf)
    assert found is not None, "the checkpoint read for evidence a moment ago covers every leaf"
    return found


def test_every_leaf_reads_as_the_ledger_reads_it(ledger: Ledger) -> None:
    async def main() -> None:
        reads = ledger.leaf_reads(connections=2)
        try:
            read_all = [read(reads, leaf) for leaf in range(0, SIZE, 7)]
            for leaf, (event, included) in zip(
                range(0, SIZE, 7), await asyncio.gather(*read_all), strict=True
            ):
                assert (event, included) == ledger.event_with_inclusion(leaf)
            register_many(ledger, 1, "one-more")
            assert await reads.event_with_inclusion(SIZE) is None  # past the checkpoint read
        finally:
            await reads.close()

    asyncio.run(main())


def test_the_operators_edits_are_refused_as_the_ledger_refuses_them(ledger: Ledger) -> None:
    """An edited node on leaf 5's path, an edited event, a deleted node: each refused."""

    async def main() -> None:
        reads = ledger.leaf_reads()
        try:
            await read(reads, 5)
            edit("UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=0 AND idx=4", FORGED)
            with pytest.raises(StoreIntegrityError):
                await read(reads, 5)
            events = str(ledger._recorder.events_table_name)  # type: ignore[attr-defined]
            edit(
                f"UPDATE {{schema}}.{events} SET state=%s WHERE notification_id = "
                "(SELECT notification_id FROM {schema}.ledger_log_leaves WHERE leaf_index=%s)",
                b'{"forged": true}',
                200,
            )
            with pytest.raises(TamperedEventError):
                await read(reads, 200)
            edit("DELETE FROM {schema}.ledger_log_nodes WHERE level=1 AND idx=%s", 50)
            with pytest.raises(StoreIntegrityError, match="missing"):
                await read(reads, 102)  # (1, 50) is its second step
            await read(reads, 7)  # a leaf none of it touches still reads
        finally:
            await reads.close()

    def edit(statement: str, *params: object) -> None:
        assert sql_execute(ledger, statement, params) == 1

    asyncio.run(main())


def test_a_dropped_connection_is_a_store_unavailable_error_and_the_next_read_reconnects(
    ledger: Ledger,
) -> None:
    async def main() -> None:
        reads = ledger.leaf_reads(connections=1)
        try:
            await read(reads, 3)
            sql_execute(
                ledger,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = %s",
                (APPLICATION_NAME,),
            )
            with pytest.raises(StoreUnavailableError, match="retry"):
                await read(reads, 3)
            event, _ = await read(reads, 3)
            assert event == ledger.event_at(3)
        finally:
            await reads.close()

    asyncio.run(main())


def test_only_a_postgresql_recorder_is_read_this_way(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    with pytest.raises(TypeError, match="not a PostgreSQL recorder"):
        open_ledger(store_url_for("sqlite")).leaf_reads()
