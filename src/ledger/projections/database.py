"""The SQL database that holds the views: the ledger's own SQLite file or PostgreSQL schema,
another database named by configuration, or an in-memory SQLite database for ``memory://``.

Statements are written once with ``?`` placeholders and portable SQL (``ON CONFLICT`` upserts),
and translated for PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from typing import Any, Protocol

from ..errors import StorageError, StoreUnavailableError
from ..storage.url import StoreURL
from .pg_numbers import read_numeric_as_int


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def fetchall(self) -> list[Any]: ...


def _driver_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


DRIVER_ERRORS = _driver_errors()


class ViewDatabase:
    """One connection to the views database. A driver error (a dropped connection, a lock
    wait, a broken pipeline) is raised as :class:`StoreUnavailableError` and the connection is
    replaced on next use, so a retry starts clean from the positions the views committed."""

    def __init__(self, store: StoreURL) -> None:
        self.store = store
        self.kind = "postgresql" if store.kind == "postgresql" else "sqlite"
        self._lock = threading.RLock()
        self._conn: Any = self._connect()
        self._broken = False

    def _connect(self) -> Any:
        if self.store.kind == "memory":
            return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        if self.store.kind == "sqlite":
            assert self.store.path is not None
            conn = sqlite3.connect(
                self.store.path, timeout=30, check_same_thread=False, isolation_level=None
            )
            return conn
        import psycopg

        try:
            pg: Any = psycopg.connect(
                host=self.store.host,
                port=self.store.port,
                user=self.store.user,
                password=self.store.password or None,
                dbname=self.store.dbname,
                autocommit=True,
                # No server-side prepared statements, as for the event store's pool.
                prepare_threshold=None,
                **self._standby_options(),
            )
        except psycopg.Error as error:
            raise StorageError(f"cannot open the views database: {error}") from None
        pg.execute(f'SET search_path TO "{self.store.schema}"')
        read_numeric_as_int(pg)
        return pg

    def _standby_options(self) -> dict[str, Any]:
        """A standby that does not answer hands its reads to the primary quickly."""
        return {"connect_timeout": 2} if self.store.read_only else {}

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgresql" else sql

    def _connection(self) -> Any:
        if self._broken:
            with suppress(Exception):
                self._conn.close()
            self._conn = self._connect()
            self._broken = False
        return self._conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except DRIVER_ERRORS as error:
            self._broken = True
            raise StoreUnavailableError(
                f"the views database failed ({type(error).__name__}: {error}); "
                "nothing of this transaction was applied: retry"
            ) from error

    @contextmanager
    def transaction(self) -> Iterator[ViewCursor]:
        """One transaction; on PostgreSQL its statements are pipelined, so only the ones whose
        rows are read wait for a round trip."""
        with self._lock, self._guard():
            conn = self._connection()
            with self._pipeline(conn):
                cursor = ViewCursor(self, conn.cursor())
                cursor.execute("BEGIN" if self.kind == "postgresql" else "BEGIN IMMEDIATE")
                try:
                    yield cursor
                    for write_kept in cursor.before_commit:
                        write_kept()
                except BaseException:
                    cursor.write("ROLLBACK")  # nothing a batch kept is written first
                    raise
                cursor.write("COMMIT")

    def _pipeline(self, conn: Any) -> Any:
        return conn.pipeline() if self.kind == "postgresql" else nullcontext()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._guard():
            cursor = self._connection().cursor()
            cursor.execute(self._sql(sql), tuple(params))
            return [tuple(row) for row in cursor.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class ViewCursor:
    """A cursor inside a view transaction, taking ``?`` placeholders on every database."""

    def __init__(self, database: ViewDatabase, raw: Any) -> None:
        self._database = database
        self._raw = raw
        self.memo: dict[str, Any] = {}
        """What views keep of rows they read or wrote in this transaction, by their own keys."""
        self.before_statement: Callable[[], None] | None = None
        """Called before each statement but :meth:`write`'s (to write the rows a batch kept)."""
        self.before_commit: list[Callable[[], None]] = []
        """Called in order before the transaction commits, to write what views kept of it: a
        failure there rolls the transaction back, as one in its body does."""

    @property
    def kind(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self._database.kind

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.before_statement is not None:
            self.before_statement()
        self.write(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.before_statement is not None:
            self.before_statement()
        self.write_many(sql, rows)

    def write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement that only writes rows a batch kept (no ``before_statement``)."""
        self._raw.execute(self._database._sql(sql), tuple(params))

    def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """:meth:`write` once per row of parameters."""
        self._raw.executemany(self._database._sql(sql), [tuple(r) for r in rows])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._raw.fetchall()]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query, read through a cursor of its own: in PostgreSQL's pipeline
        mode a cursor shared with earlier statements can be handed one of their results."""
        if self.before_statement is not None:
            self.before_statement()
        if self._database.kind != "postgresql":
            return self._raw.execute(sql, tuple(params)).fetchall()  # type: ignore[no-any-return]
        raw = self._raw.connection.cursor()
        try:
            raw.execute(self._database._sql(sql), tuple(params))
            return [tuple(row) for row in raw.fetchall()]
        finally:
            raw.close()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query (see ``rows``)."""
        rows = self.rows(sql, params)
        return rows[0] if rows else None
