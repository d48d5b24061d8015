"""The raw bytes a store keeps on disk, including what deleted rows left behind: SQLite's main
file, ``-wal`` and ``-journal``; PostgreSQL's relation files (tables, their TOAST tables and
indexes, dead tuples included) read through the server, and optionally its WAL segments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import StorageError
from ..storage.url import StoreURL

SQLITE_SUFFIXES = ("", "-wal", "-journal")
SEGMENT_LIMIT = 1000
READ = 256 * 1024 * 1024


def raw_sources(store: StoreURL, *, wal: bool = False) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file the store keeps; nothing for ``memory://``."""
    if store.kind == "sqlite":
        assert store.path is not None
        for suffix in SQLITE_SUFFIXES:
            path = Path(str(store.path) + suffix)
            if path.is_file():
                yield path.name, path.read_bytes()
    elif store.kind == "postgresql":
        yield from _postgresql_sources(store, wal=wal)


def _postgresql_sources(store: StoreURL, *, wal: bool) -> Iterator[tuple[str, bytes]]:
    import psycopg

    try:
        with psycopg.connect(
            host=store.host,
            port=store.port,
            user=store.user,
            password=store.password,
            dbname=store.dbname,
            autocommit=True,
        ) as conn:
            conn.execute("CHECKPOINT")  # flush every dirty page to the relation files
            for name, path in _relation_files(conn, store.schema):
                yield from _read_segments(conn, name, path)
            if wal:
                yield from _wal_segments(conn)
    except psycopg.Error as error:
        raise StorageError(
            f"cannot read the raw relation files of schema {store.schema!r}: {error} "
            "(the scan needs a superuser or the pg_read_server_files and pg_checkpoint roles)"
        ) from None


def _relation_files(conn: object, schema: str) -> list[tuple[str, str]]:
    rows = conn.execute(  # type: ignore[attr-defined]
        """
        SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind IN ('r', 'i', 'm', 't')
        UNION
        SELECT t.relname, pg_relation_filepath(t.oid) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class t ON t.oid = c.reltoastrelid
        WHERE n.nspname = %s
        UNION
        SELECT i.relname, pg_relation_filepath(i.oid) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_index x ON x.indrelid = c.reltoastrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE n.nspname = %s
        """,
        (schema, schema, schema),
    ).fetchall()
    return [(str(name), str(path)) for name, path in rows if path]


def _read_segments(conn: object, name: str, path: str) -> Iterator[tuple[str, bytes]]:
    for segment in range(SEGMENT_LIMIT):
        file = path if segment == 0 else f"{path}.{segment}"
        raw = _read_file(conn, file)
        if raw is None:
            return
        yield f"{name} ({file})", raw


def _read_file(conn: object, file: str) -> bytes | None:
    """A whole server file, in pieces (one read may not exceed 1 GB); None if it is missing."""
    parts: list[bytes] = []
    while True:
        row = conn.execute(  # type: ignore[attr-defined]
            "SELECT pg_read_binary_file(%s, %s, %s, true)", (file, len(parts) * READ, READ)
        ).fetchone()
        if row is None or row[0] is None:
            return b"".join(parts) if parts else None
        parts.append(bytes(row[0]))
        if len(parts[-1]) < READ:
            return b"".join(parts)


def _wal_segments(conn: object) -> Iterator[tuple[str, bytes]]:
    rows = conn.execute(  # type: ignore[attr-defined]
        "SELECT name FROM pg_ls_waldir() ORDER BY modification DESC LIMIT 4"
    ).fetchall()
    for (name,) in rows:
        raw = _read_file(conn, "pg_wal/" + name)
        if raw is not None:
            yield f"pg_wal/{name}", raw
