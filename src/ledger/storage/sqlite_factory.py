"""eventsourcing's SQLite persistence, its connections keeping their prepared statements.

``eventsourcing.sqlite`` opens every connection with ``cached_statements=True``, which
``sqlite3`` reads as a cache of one statement: each statement that differs from the one before
is parsed and planned again. A ledger command runs several different statements (the claim, the
events, the leaves, the nodes, besides BEGIN), so it prepared each of them at every command. The
connections opened here keep ``sqlite3``'s default of 128; nothing else about them differs from
the engine's.
"""

from __future__ import annotations

import sqlite3

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

STATEMENT_CACHE = 128  # prepared statements kept per connection (sqlite3's default)


class StatementCachingPool(SQLiteConnectionPool):
    """The engine's pool, opening connections as it does but with :data:`STATEMENT_CACHE`."""

    def _create_connection(self) -> SQLiteConnection:
        try:
            connection = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # autocommit: the engine issues BEGIN itself
                cached_statements=STATEMENT_CACHE,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as error:
            raise InterfaceError(error) from error
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode;")
            if cursor.fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL;")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        connection.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=connection, max_age=self.max_age)


class LedgerSQLiteFactory(SQLiteFactory):
    """``eventsourcing.sqlite``'s factory whose datastore opens connections with a statement
    cache; the engine reads every setting from the environment as before."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The pool the engine made, with every setting it was given, has opened no connection
        # yet: from here on it opens them as the subclass does.
        self.datastore.pool.__class__ = StatementCachingPool
