"""A witness's memory: the newest checkpoint it cosigned for each log, in a SQLite file.

tlog-witness requires the check of the old size and the update of the stored checkpoint to be
one atomic step, or two concurrent requests could roll a log back. :meth:`WitnessStore.advance`
runs the caller's check and the update inside one ``BEGIN IMMEDIATE`` transaction, so several
server processes can share one store file. Checkpoints that were refused for a known log are
kept as evidence of what the log tried to get cosigned: each checkpoint once (by its text,
whichever of the log's signatures a copy carries), and at most :data:`MAX_REFUSED_PER_ORIGIN`
per log, since anyone may resend a checkpoint the log signed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StorageError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cosigned ("
    " origin TEXT PRIMARY KEY, size INTEGER NOT NULL, note TEXT NOT NULL,"
    " cosigned_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS refused ("
    " id INTEGER PRIMARY KEY, origin TEXT NOT NULL, note TEXT NOT NULL,"
    " reason TEXT NOT NULL, received_at INTEGER NOT NULL)",
    # A store written before each note was kept once: keep the first of each.
    "DELETE FROM refused WHERE id NOT IN (SELECT MIN(id) FROM refused GROUP BY origin, note)",
    # ... or before checkpoints refused for a failing proof were no longer kept: they prove
    # nothing, and would count against the cap.
    "DELETE FROM refused WHERE reason LIKE 'the consistency proof from size %'",
    "CREATE UNIQUE INDEX IF NOT EXISTS refused_once ON refused (origin, note)",
)
MAX_REFUSED_PER_ORIGIN = 1000
"""The first refused checkpoints of a log are the evidence; later ones add nothing to it."""
Decision = Callable[[tuple[int, str] | None], str]
"""Given the stored (size, note) for the origin, or None, return the note to store or raise."""


class WitnessStore:
    """The newest cosigned checkpoint note per origin, and refused notes kept as evidence."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            for statement in _SCHEMA:
                self._db.execute(statement)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open witness store {self.path}: {error}") from None

    def close(self) -> None:
        self._db.close()

    def latest(self, origin: str) -> tuple[int, str] | None:
        """The size and note of the newest checkpoint cosigned for ``origin``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT size, note FROM cosigned WHERE origin=?", (origin,)
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def advance(self, origin: str, size: int, decide: Decision) -> str:
        """Atomically: read the stored state, let ``decide`` check it, store ``size`` and note.

        ``decide`` returns what to store (and the caller's cosignature is computed inside it),
        or raises; on raise nothing changes.
        """
        with self._immediate():
            row = self._db.execute(
                "SELECT size, note FROM cosigned WHERE origin=?", (origin,)
            ).fetchone()
            note = decide((int(row[0]), str(row[1])) if row else None)
            self._db.execute(
                "INSERT INTO cosigned (origin, size, note, cosigned_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(origin) DO UPDATE SET size=excluded.size, note=excluded.note,"
                " cosigned_at=excluded.cosigned_at",
                (origin, size, note, int(time.time())),
            )
        return note

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction under this process's lock: committed, or rolled
        back whatever is raised."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def keep_refused(self, origin: str, note: str, reason: str) -> bool:
        """Keep a validly signed note that was refused: it may prove the log misbehaved.

        The caller passes the note with its log's signature lines only; they are kept sorted.
        A checkpoint kept before (by its text) gains the signature lines this copy adds: the
        evidence holds every log signature any copy brought. A new one beyond the first
        :data:`MAX_REFUSED_PER_ORIGIN` of its log is not kept. Return whether anything was
        stored."""
        split = note.find("\n\n")
        head = note if split < 0 else note[: split + 2]  # the checkpoint's text, blank line
        lines = set(note[len(head) :].splitlines(keepends=True))
        with self._immediate():
            kept = self._db.execute(
                "SELECT id, note FROM refused WHERE origin = ? AND substr(note, 1, ?) = ?",
                (origin, len(head), head),
            ).fetchone()
            if kept is not None:
                had = set(str(kept[1])[len(head) :].splitlines(keepends=True))
                stored = not lines <= had
                if stored:
                    self._db.execute(
                        "UPDATE refused SET note = ? WHERE id = ?",
                        (head + "".join(sorted(had | lines)), kept[0]),
                    )
            else:
                (count,) = self._db.execute(
                    "SELECT COUNT(*) FROM refused WHERE origin = ?", (origin,)
                ).fetchone()
                stored = count < MAX_REFUSED_PER_ORIGIN
                if stored:
                    self._db.execute(
                        "INSERT INTO refused (origin, note, reason, received_at)"
                        " VALUES (?, ?, ?, ?)",
                        (origin, head + "".join(sorted(lines)), reason, int(time.time())),
                    )
        return stored

    def refused(self, origin: str) -> list[tuple[str, str]]:
        """The refused notes for ``origin`` with their reasons, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT note, reason FROM refused WHERE origin=? ORDER BY id", (origin,)
            ).fetchall()
        return [(str(note), str(reason)) for note, reason in rows]
