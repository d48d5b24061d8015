"""Keeping the views: each event applied exactly once, rebuildable, with a digest that says so.

Each view records the notification id it has applied up to in the same transaction as its
updates, so a crash between batches loses nothing and applying a batch again changes nothing.
Events are pulled from the notification log (SQLite and memory have no subscriptions; on
PostgreSQL the runner polls too, which also covers several writer processes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..canonical import canonical_json
from ..envelope import TOPIC_PREFIX
from ..errors import InvalidInputError, NotFoundError, StoreUnavailableError
from ..storage.records import LedgerRecorderProtocol
from ..storage.url import StoreURL
from . import leaderboards, organisations, star_schemes, statistics, timebank, volunteers
from .base import ProjectedEvent, View
from .batch_writes import column_types
from .database import ViewCursor, ViewDatabase

logger = logging.getLogger(__name__)
VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        volunteers.VIEW,
        organisations.VIEW,
        timebank.VIEW,
        statistics.VIEW,
        leaderboards.VIEW,
        star_schemes.VIEW,
    )
}
BATCH = 500
FAILURES_BEFORE_ERROR = 20


class Projections:
    """The views of one ledger, kept in ``database``."""

    def __init__(
        self,
        recorder: LedgerRecorderProtocol,
        database: ViewDatabase,
        *,
        verify: Any = None,
    ) -> None:
        """``verify``, when given (the ledger's mapper ``verify_many``), checks every event of
        a batch, signatures included, before any is applied; without it views read the stored
        bodies directly."""
        self._recorder = recorder
        self.database = database
        self._verify = verify
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failing: tuple[int, str] | None = None
        """While the background runner's batches fail: how many in a row, and the newest
        error's type (``/readyz`` and ``/metrics`` show them; the log has the whole error);
        None once a batch is applied."""
        self.create_tables()

    @classmethod
    def for_store(cls, recorder: LedgerRecorderProtocol, store: StoreURL, **kw: Any) -> Projections:
        return cls(recorder, ViewDatabase(store), **kw)

    def create_tables(self, names: Iterable[str] | None = None) -> None:
        with self.database.transaction() as cursor:
            self._make_tables(cursor, names or VIEWS, from_start=False)

    def _make_tables(self, cursor: ViewCursor, names: Iterable[str], *, from_start: bool) -> None:
        """Each view's tables and its tracking row, made where missing; ``from_start``, its
        tables dropped first and its position set back to 0, in the same transaction."""
        if self.database.kind == "postgresql":
            # several processes may open the views at once; one creates, the rest wait
            cursor.execute("SELECT pg_advisory_xact_lock(7265767)")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS view_tracking (view TEXT PRIMARY KEY, "
            "position BIGINT NOT NULL)"
        )
        existing = "DO UPDATE SET position = 0" if from_start else "DO NOTHING"
        for name in names:
            if from_start:
                for table in VIEWS[name].tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
            VIEWS[name].create(cursor)
            cursor.execute(
                "INSERT INTO view_tracking (view, position) VALUES (?, 0) "
                f"ON CONFLICT (view) {existing}",
                [name],
            )

    def positions(self) -> dict[str, int]:
        """The position of each view this version keeps. A tracking row of another view (one an
        upgrade retired, say) is not one: nothing moves it, and catching up would wait on it."""
        rows = self.database.query("SELECT view, position FROM view_tracking ORDER BY view")
        return {name: position for name, position in rows if name in VIEWS}

    def position(self) -> int:
        """The notification id that every view has applied up to."""
        return min(self.positions().values(), default=0)

    def catch_up(self, *, batch: int = BATCH, progress: Callable[[int], None] | None = None) -> int:
        """Apply everything new; return how many events were applied.

        ``progress`` is told how many events each batch applied (a rebuild takes minutes).
        """
        applied = 0
        with self._lock:
            while True:
                positions = self.positions()
                if not positions:  # no view is kept here
                    return applied
                start = min(positions.values())
                notifications = self._recorder.select_notifications(start + 1, batch)
                if not notifications:
                    return applied
                self._apply_batch(notifications, positions)
                applied += len(notifications)
                if progress is not None:
                    progress(len(notifications))

    def _apply_batch(self, notifications: Sequence[Any], positions: dict[str, int]) -> None:
        """Apply a batch in one transaction. The positions are read again inside it (after a
        lock on PostgreSQL), so several processes catching up never apply an event twice."""
        events = self._project(notifications)
        last = notifications[-1].id
        with self.database.transaction() as cursor:
            if self.database.kind == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(7265767)")
            cursor.execute("SELECT view, position FROM view_tracking")
            positions = {
                name: position for name, position in cursor.fetchall() if name in positions
            }
            for name, view in VIEWS.items():
                if name not in positions:
                    continue
                done = positions[name]
                view.apply(cursor, [e for e in events if e.position > done])
                if last > done:
                    cursor.execute(
                        "UPDATE view_tracking SET position = ? WHERE view = ?", [last, name]
                    )

    def _project(self, notifications: Sequence[Any]) -> list[ProjectedEvent]:
        ours = [n for n in notifications if n.topic.startswith(TOPIC_PREFIX)]
        if self._verify is not None:
            bodies = [event.body for event in self._verify(ours)]
        else:
            # unchecked rows are read as they are stored (the audit compares the views with
            # what the verified events give): the plain parser, without the strict one's checks
            bodies = [json.loads(n.state)["body"] for n in ours]
        return [
            ProjectedEvent(body["type"], body["org"], body["data"], body["occurred_at"], n.id)
            for n, body in zip(ours, bodies, strict=True)
        ]

    def wait_for(self, position: int, timeout: float = 10.0) -> None:
        """Block until every view has applied ``position`` (read your own write)."""
        deadline = time.monotonic() + timeout
        while (reached := self._position_through_failures(deadline)) < position:
            if self._thread is None and self.catch_up():
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"views reached {reached}, not {position}, within {timeout} s")
            time.sleep(0.02)

    def _position_through_failures(self, deadline: float) -> int:
        """The views' position; a lost connection is reopened and asked again until
        ``deadline`` (the background runner may meet the same failure first or not)."""
        while True:
            try:
                return self.position()
            except StoreUnavailableError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def start(self, interval: float = 0.2) -> None:
        """Keep the views up to date in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, args=(interval,), daemon=True, name="ledger-projections"
        )
        self._thread.start()

    def run_forever(self, interval: float = 0.5) -> None:
        """Catch up, then poll; a failing batch is retried after ``interval`` (nothing of it
        was applied), so a passing failure (a lost connection, say) stops nothing."""
        while not self._stop.is_set():
            try:
                applied = self.catch_up()
            except Exception as error:
                self._failed(error)
                applied = 0
            else:
                self.failing = None
            if not applied:
                self._stop.wait(interval)

    def _failed(self, error: Exception) -> None:
        """Count a failed batch. A passing failure clears at the next try; one that fails every
        time (an event the views cannot take) stops them at its position for good, so it is
        logged as an error once it has failed ``FAILURES_BEFORE_ERROR`` times in a row."""
        count = (self.failing[0] if self.failing else 0) + 1
        self.failing = (count, type(error).__name__)
        if count == FAILURES_BEFORE_ERROR:
            logger.error(
                "the views have failed %d batches in a row and stay where they are until the "
                "cause is fixed: %s",
                count,
                error,
            )
        elif count < FAILURES_BEFORE_ERROR:
            logger.warning("projection batch failed, will retry: %s", error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def rebuild(
        self, names: Sequence[str] | None = None, progress: Callable[[int], None] | None = None
    ) -> None:
        """Drop views and apply every event again from the start. The tables are dropped and
        made again, and the positions set back, in one transaction: a rebuild that fails leaves
        the views as they were or empty at position 0, and catching up resumes either."""
        chosen = list(names or VIEWS)
        for name in chosen:
            if name not in VIEWS:
                raise NotFoundError(f"no view {name!r}; views: {sorted(VIEWS)}")
        with self._lock, self.database.transaction() as cursor:
            self._make_tables(cursor, chosen, from_start=True)
        self.catch_up(progress=progress)

    def digest(self) -> dict[str, str]:
        """A deterministic SHA-256 of each view's content (rows in key order, as JCS)."""
        return digest_of(self.database)

    def close(self) -> None:
        self.stop()
        self.database.close()


def digest_of(database: ViewDatabase) -> dict[str, str]:
    """The digest of every view kept in ``database``."""
    result = {}
    for name, view in VIEWS.items():
        hasher = hashlib.sha256()
        for table, order in view.keys.items():
            hasher.update(canonical_json(table))
            by = _byte_order(database.kind, view.tables[table], order)
            for row in database.query(f"SELECT * FROM {table} ORDER BY {by}"):
                hasher.update(canonical_json([_plain(v) for v in row]))
        result[name] = hasher.hexdigest()
    return result


def _byte_order(kind: str, columns: str, order: str) -> str:
    """``order`` sorting as SQLite sorts, text byte by byte: on PostgreSQL each text key in the
    ``"C"`` collation, whatever the database's own (which would give the same rows another
    order, and so another digest)."""
    if kind != "postgresql":
        return order
    types = column_types(columns)
    keys = [key.strip() for key in order.split(",")]
    return ", ".join(f'{key} COLLATE "C"' if types.get(key) == "TEXT" else key for key in keys)


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, int | str):
        return value
    raise InvalidInputError(f"unexpected value in a view: {value!r}")


def apply_events(
    cursor: ViewCursor, events: Iterable[ProjectedEvent], names: Iterable[str]
) -> None:
    """Apply events to the named views inside an open transaction (used by the audit)."""
    in_order = list(events)
    for name in names:
        VIEWS[name].apply(cursor, in_order)


__all__ = ["VIEWS", "Projections", "apply_events", "digest_of"]
