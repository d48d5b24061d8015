"""A leaf's evidence read from PostgreSQL on the event loop.

A pooled thread costs a record-with-proof read about as much as the read itself (the hop to the
thread, and the GIL passed between the loop and the thread at every step); an embedded store is
therefore read on the loop. A PostgreSQL read waits for the server, so it cannot block the loop:
this reader sends the same single statement as :meth:`LedgerRecorder.select_leaf_and_nodes`
over asynchronous connections of its own, and the checks on what it returns are the same
(:meth:`ledger.transparency.TransparencyLog.inclusion_from`).
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from ledger.storage.guard import storage_errors
from ledger.storage.postgresql_recorder import LedgerRecorder
from ledger.storage.records import LedgerRecorderProtocol, LoggedEvent
from ledger.transparency import InclusionPlan

APPLICATION_NAME = "ledger leaf reads"  # how its connections show in pg_stat_activity
CONNECTIONS = 4  # per worker: wrk's 8 connections over 2 workers keep 4 reads in flight each


class AsyncLeafReader:
    """Reads a leaf's row and its proof's nodes on the event loop, over at most
    ``connections`` asynchronous connections to the recorder's database (opened on first use,
    in the loop that uses them)."""

    def __init__(self, recorder: LedgerRecorderProtocol, connections: int = CONNECTIONS) -> None:
        if not isinstance(recorder, LedgerRecorder):
            raise TypeError(f"not a PostgreSQL recorder: {recorder!r}")
        self._recorder = recorder
        self._connections = connections
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None

    async def _opened(self) -> AsyncConnectionPool[AsyncConnection[DictRow]]:
        if self._pool is None:
            given = self._recorder.datastore.pool.kwargs  # the recorder's connection settings
            kwargs: dict[str, Any] = dict((given() if callable(given) else given) or {})
            kwargs.update(row_factory=dict_row, autocommit=True, application_name=APPLICATION_NAME)
            pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
                connection_class=AsyncConnection[DictRow],
                kwargs=kwargs,
                min_size=1,
                max_size=self._connections,
                open=False,
            )
            await pool.open()
            if self._pool is None:
                self._pool = pool
            else:  # another request opened one meanwhile
                await pool.close()
        return self._pool

    async def leaf_and_nodes(
        self, plan: InclusionPlan
    ) -> tuple[LoggedEvent | None, dict[tuple[int, int], bytes]]:
        """The leaf's row and the stored nodes of ``plan``, in one round trip; the store's
        errors as the ledger's (:func:`ledger.storage.guard.storage_errors`)."""
        statement, params = self._recorder.leaf_and_nodes_query(plan.leaf_index, plan.coordinates)
        with storage_errors():
            pool = await self._opened()
            async with pool.connection() as conn:
                cursor = await conn.execute(statement, params, prepare=True)
                rows = await cursor.fetchall()
        return self._recorder.leaf_and_nodes_from(rows)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
