"""Helpers for the [core] integration tests (imported by name; not a test module)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from ledger_testing import create_city, outside_body, sign_outside, tamper_sql, tamper_state

from ledger import Ledger, SigningKey
from ledger.envelope import format_time
from ledger.model.ids import organisation_aggregate_id, volunteer_aggregate_id

__all__ = [
    "SHAPE_ONLY",
    "SQL_STORES",
    "all_states",
    "create_city",
    "key_of",
    "notification_count",
    "organisation_aggregate_id",
    "outside_body",
    "refused",
    "sign_outside",
    "tamper_sql",
    "tamper_state",
    "volunteer_aggregate_id",
]


def notification_count(ledger: Ledger) -> int:
    """How many events are stored, whether or not they have a leaf."""
    return len(ledger._recorder.select_notifications(1, 10**9))


def all_states(ledger: Ledger) -> list[bytes]:
    """The stored bytes of every event."""
    return [bytes(n.state) for n in ledger._recorder.select_notifications(1, 10**9)]


@contextmanager
def refused(
    ledger: Ledger, error: type[BaseException], match: str | None = None
) -> Iterator[pytest.ExceptionInfo[BaseException]]:
    """Expect ``error`` and that nothing at all was stored."""
    size, count = ledger.log_size(), notification_count(ledger)
    with pytest.raises(error, match=match) as caught:
        yield caught
    assert ledger.log_size() == size, "a refused command grew the log"
    assert notification_count(ledger) == count, "a refused command stored an event"


def key_of(ledger: Ledger, org: str) -> SigningKey:
    """The organisation's newest active key held in the ledger's keystore."""
    signer = ledger.signer_for(org)
    assert isinstance(signer, SigningKey)
    return signer


def new_time(ledger: Ledger, seconds: int = 0) -> str:
    from datetime import timedelta

    return format_time(ledger.clock() + timedelta(seconds=seconds))


SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# For input refused before any store is read or written, PostgreSQL adds nothing over SQLite
# but a second per test; these run on memory and SQLite only.
SHAPE_ONLY = pytest.mark.parametrize("store_url", ["memory", "sqlite"], indirect=True)
