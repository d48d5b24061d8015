"""Driver errors never leave a recorder raw: they become ledger errors with a code.

eventsourcing and the drivers raise their own exceptions (``OperationalError``, psycopg's and
sqlite3's errors). A caller of the library, and the API's problem handler, should see one of
the ledger's errors instead: :class:`StoreUnavailableError` when retrying the same call can
succeed (a dropped connection, a lock wait, a busy file), :class:`StorageError` otherwise.
``IntegrityError`` from ``insert_events`` passes through unchanged: the write path uses it to
learn that it lost a race, and answers with a retry or an idempotent replay. From a read it
means stored data fails the recorder's own checks: :class:`StoreIntegrityError`.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    PersistenceError,
)

from ..errors import StorageError, StoreIntegrityError, StoreUnavailableError

RECORDER_METHODS = (
    "insert_events",
    "select_events",
    "select_notifications",
    "max_notification_id",
    "select_notifications_to_newest",
    "log_size",
    "read_nodes",
    "select_leaves",
    "select_leaf_rows",
    "unlogged_notification_ids",
    "find_claim",
    "side_put",
    "side_put_many",
    "side_increment",
    "side_get",
    "side_delete",
    "side_last",
    "side_items",
)
_TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    InternalError,
    sqlite3.OperationalError,
)
_DRIVER: tuple[type[BaseException], ...] = (PersistenceError, sqlite3.Error)
try:
    import psycopg

    _TRANSIENT += (psycopg.OperationalError, psycopg.InterfaceError, psycopg.InternalError)
    _DRIVER += (psycopg.Error,)
except ImportError:  # pragma: no cover - psycopg is a dependency, but SQLite needs none
    pass

T = TypeVar("T")
READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction: a hot standby refuses a write
READ_ONLY = "the store is read-only (a hot standby); writes go to the primary"
WRITE_METHODS = ("insert_events", "side_put", "side_put_many", "side_delete", "side_increment")


def translate_storage_errors(method: Callable[..., T], *, writes: bool = False) -> Callable[..., T]:
    """``method`` with driver errors raised as the ledger's storage errors."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except IntegrityError as error:
            if writes:
                raise
            raise StoreIntegrityError(f"stored data fails verification: {error}") from error
        except _TRANSIENT + _DRIVER as error:
            raise _ledger_error(error) from error

    return guarded


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """Driver errors raised inside the block as the ledger's storage errors (for a read made
    outside a recorder method, asynchronous ones included)."""
    try:
        yield
    except _TRANSIENT + _DRIVER as error:
        raise _ledger_error(error) from error


def _ledger_error(error: BaseException) -> StorageError:
    if _read_only(error):
        return StorageError(READ_ONLY)
    if isinstance(error, _TRANSIENT):
        return StoreUnavailableError(
            f"the store is unavailable for now ({type(error).__name__}: {error}); "
            "retry the same call"
        )
    return StorageError(f"the store failed ({type(error).__name__}: {error})")


def _read_only(error: BaseException | None) -> bool:
    """Whether the database refused a write because it is read-only (SQLSTATE 25006)."""
    for _ in range(5):
        if error is None:
            return False
        if getattr(error, "sqlstate", None) == READ_ONLY_SQLSTATE:
            return True
        error = error.__cause__ or error.__context__
    return False


C = TypeVar("C", bound=type)


def refuse_writes(recorder: object) -> None:
    """Make every write method of ``recorder`` refuse at once, before any statement: on a hot
    standby the database's own refusal can surface, in pipeline mode, only as "pipeline aborted"
    (a transient error a caller would retry)."""

    def refused(*_: Any, **__: Any) -> None:
        raise StorageError(READ_ONLY)

    for name in WRITE_METHODS:
        if hasattr(recorder, name):
            setattr(recorder, name, refused)


def guard_storage_errors(cls: C) -> C:
    """Class decorator: every recorder method the ledger calls translates driver errors."""
    for name in RECORDER_METHODS:
        method = getattr(cls, name, None)
        if method is not None:
            setattr(cls, name, translate_storage_errors(method, writes=name == "insert_events"))
    return cls
