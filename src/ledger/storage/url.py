"""Store URLs: one string names where a ledger lives, everywhere.

``memory://`` keeps everything in this process; ``sqlite:///path/to/ledger.db`` is a file,
created on first use; ``postgresql://user@host:port/dbname`` is a PostgreSQL database (an optional
``?schema=NAME`` keeps a ledger in its own schema, which is how the tests isolate themselves).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import StorageError

DEFAULT_URL_ENV = "LEDGER_DATABASE_URL"
_SCHEMA_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL."""

    kind: str  # "memory", "sqlite" or "postgresql"
    url: str
    path: Path | None = None
    user: str = "postgres"
    password: str = ""
    host: str = "127.0.0.1"
    port: int = 5432
    dbname: str = ""
    schema: str = "public"
    read_only: bool = False  # a hot standby: no tables are created on opening

    def as_read_only(self) -> StoreURL:
        """This store, opened only to read (a PostgreSQL hot standby refuses every write)."""
        if self.kind != "postgresql":
            raise StorageError(f"a read replica is a PostgreSQL standby, not {self.url!r}")
        return replace(self, read_only=True)

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing persistence settings for this store."""
        recorder = f"ledger.storage.{self.kind}_recorder:LedgerRecorder"
        env = {
            "APPLICATION_RECORDER_TOPIC": recorder,
            "MAPPER_TOPIC": "ledger.mapper:SignedEventMapper",
        }
        if self.kind == "memory":
            env["PERSISTENCE_MODULE"] = "ledger.storage.memory_recorder:LedgerMemoryFactory"
        elif self.kind == "sqlite":
            assert self.path is not None
            env |= {
                "PERSISTENCE_MODULE": "ledger.storage.sqlite_factory:LedgerSQLiteFactory",
                "SQLITE_DBNAME": str(self.path),
            }
            env["SQLITE_LOCK_TIMEOUT"] = "30"
        else:
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": self.dbname,
                "POSTGRES_HOST": self.host,
                "POSTGRES_PORT": str(self.port),
                "POSTGRES_USER": self.user,
                "POSTGRES_PASSWORD": self.password,
                "POSTGRES_SCHEMA": self.schema,
                "POSTGRES_LOCK_TIMEOUT": "30",
                "POSTGRES_POOL_SIZE": "4",
                "POSTGRES_MAX_OVERFLOW": "8",
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            }
            if self.read_only:  # a standby that stops answering costs a read 2 s, not 30
                env |= {"CREATE_TABLE": "n", "POSTGRES_CONNECT_TIMEOUT": "2"}
                env["POSTGRES_PRE_PING"] = "y"
        return env


def parse_store_url(url: str | None = None) -> StoreURL:
    """Parse a store URL, or ``$LEDGER_DATABASE_URL`` when none is given."""
    url = url or os.environ.get(DEFAULT_URL_ENV, "")
    if not url:
        raise StorageError(f"no store URL given: pass --db URL or set {DEFAULT_URL_ENV}")
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return StoreURL(kind="memory", url=url)
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        if not url.startswith("sqlite:///") or parts.netloc or not raw_path or raw_path == "/":
            raise StorageError(
                f"bad SQLite URL {url!r}: write sqlite:///relative.db or sqlite:////absolute.db"
            )
        return StoreURL(kind="sqlite", url=url, path=Path(raw_path[1:]).absolute())
    if parts.scheme in ("postgresql", "postgres"):
        return _parse_postgres(url, parts.query)
    raise StorageError(
        f"unknown store URL {url!r}: use memory://, sqlite:///path/to/ledger.db "
        "or postgresql://user@host:port/dbname"
    )


def _parse_postgres(url: str, query: str) -> StoreURL:
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StorageError(f"bad PostgreSQL URL {url!r}: it must name a database")
    schema = parse_qs(query).get("schema", ["public"])[0]
    if not schema or not set(schema) <= _SCHEMA_CHARS or schema[0].isdigit():
        raise StorageError(f"bad schema {schema!r}: use lowercase letters, digits and _")
    try:
        port = parts.port or 5432
    except ValueError:
        raise StorageError(f"bad PostgreSQL URL {url!r}: the port is not a number") from None
    return StoreURL(
        kind="postgresql",
        url=url,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        host=parts.hostname or "127.0.0.1",
        port=port,
        dbname=dbname,
        schema=schema,
    )
