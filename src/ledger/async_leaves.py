"""A leaf's evidence read from PostgreSQL on an event loop.

A pooled thread costs a record-with-proof read about as much as the read itself (the hop to the
thread, and the GIL passed between the loop and the thread at every step), so the HTTP API reads
an embedded store on its loop. A PostgreSQL read waits for the server, so it cannot block the
loop: :class:`AsyncLeafReads` sends the same single statement as
:meth:`LedgerRecorder.select_leaf_and_nodes` over asynchronous connections of its own, and
checks what comes back as :meth:`Ledger.event_with_inclusion` does
(:meth:`TransparencyLog.inclusion_from`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from .envelope import SignedEvent
from .storage.guard import storage_errors
from .storage.postgresql_recorder import LedgerRecorder
from .storage.records import LedgerRecorderProtocol, LoggedEvent
from .transparency import Inclusion, InclusionPlan, TransparencyLog
from .trust import TrustDirectory

APPLICATION_NAME = "ledger-api leaf reads"  # how its connections show in pg_stat_activity
CONNECTIONS = 4  # per process: wrk's 8 connections over 2 workers keep 4 reads in flight each


class AsyncLeafReads:
    """A leaf's event with its inclusion, awaited on an event loop (:meth:`Ledger.leaf_reads`):
    the leaf's row and its proof's nodes in one round trip over at most ``connections``
    asynchronous connections to the recorder's database (opened on first use, in the loop that
    uses them), checked with the ledger's own checks."""

    def __init__(
        self,
        recorder: LedgerRecorderProtocol,
        log: TransparencyLog,
        directory: TrustDirectory,
        verify: Callable[[StoredEvent], SignedEvent],
        connections: int = CONNECTIONS,
    ) -> None:
        if not isinstance(recorder, LedgerRecorder):
            raise TypeError(f"not a PostgreSQL recorder: {recorder!r}")
        self._recorder = recorder
        self._log, self._directory, self._verify = log, directory, verify
        self._connections = connections
        self._pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None

    async def event_with_inclusion(
        self, leaf_index: int, keys_within: float = 1.0
    ) -> tuple[SignedEvent, Inclusion] | None:
        """:meth:`Ledger.event_with_inclusion` in one awaited read, when the checkpoint read
        last for evidence is fresh and covers the leaf; None when it is not (read it the usual
        way then). The organisations and keys are read again first, in a thread, unless they
        were read less than ``keys_within`` seconds ago up to the event's position (so that
        checking the event, and facts about its key read within that time, need no read)."""
        plan = self._log.inclusion_plan(leaf_index)
        if plan is None:
            return None
        stored, nodes = await self._leaf_and_nodes(plan)
        position = 0 if stored is None or stored.id is None else stored.id
        if not self._directory.current_within(keys_within * 0.9, position):
            await asyncio.to_thread(self._directory.refresh)
        return self._log.inclusion_from(plan, stored, nodes, self._verify)

    async def _leaf_and_nodes(
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

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
