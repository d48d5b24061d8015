"""What several benchmarks share: fresh stores to measure in, whether PostgreSQL answers, and a
process's own peak memory."""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from ledger.storage.url import StoreURL, parse_store_url


class Stores:
    """Fresh store URLs: in memory, SQLite files in one temporary directory, PostgreSQL
    schemas, each dropped again by ``drop`` or at ``close``."""

    def __init__(self, postgres_url: str | None, prefix: str = "bench") -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{prefix}-")
        self._prefix = prefix.replace("-", "_")
        self._postgres_url = postgres_url
        self._schemas: list[str] = []

    def new(self, kind: str, label: str = "store") -> StoreURL:
        if kind == "memory":  # each ledger or application opened on it has a store of its own
            return parse_store_url("memory://")
        if kind == "sqlite":
            path = Path(self._tmp.name) / f"{label}-{uuid.uuid4().hex[:8]}.db"
            return parse_store_url(f"sqlite:///{path}")
        import psycopg

        assert self._postgres_url is not None
        schema = f"{self._prefix}_{uuid.uuid4().hex[:12]}_{label}"
        with psycopg.connect(self._postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        self._schemas.append(schema)
        return parse_store_url(f"{self._postgres_url}?schema={schema}")

    def drop(self, store: StoreURL) -> None:
        if store.kind == "postgresql" and store.schema in self._schemas:
            import psycopg

            assert self._postgres_url is not None
            with psycopg.connect(self._postgres_url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {store.schema} CASCADE")
            self._schemas.remove(store.schema)
        elif store.kind == "sqlite" and store.path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{store.path}{suffix}")

    def close(self) -> None:
        for schema in list(self._schemas):
            with contextlib.suppress(Exception):
                self.drop(parse_store_url(f"{self._postgres_url}?schema={schema}"))
        self._tmp.cleanup()


def postgres_problem(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as error:  # any failure means "not available"
        return f"{type(error).__name__}: {' '.join(str(error).split()) or 'no detail'}"


def cpu_seconds(matches: Callable[[str, list[str]], bool]) -> float:
    """User and system CPU seconds so far of every live process for which ``matches(name,
    fields)`` holds: ``name`` is the command name, ``fields`` the rest of ``/proc/<pid>/stat``
    from the state on (``fields[2]`` is the process group)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a process that ended
            head, _, rest = stat.read_text().rpartition(")")
            fields = rest.split()
            if matches(head.partition("(")[2], fields):
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def own_peak_rss_mb() -> float:
    """This process's peak resident set size in MB, its own: ``VmHWM`` of its memory map.

    Not ``ru_maxrss``: after ``exec`` Linux keeps in it the larger of the new program's peak and
    the peak of the process that started it, so a measured process started by a benchmark that
    had just built a large ledger would report the benchmark's memory. A forked child starts
    both figures afresh. Where ``/proc`` is missing, ``ru_maxrss`` is all there is."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
