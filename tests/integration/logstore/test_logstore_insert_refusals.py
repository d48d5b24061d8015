"""What a store does at an insert when its log was changed behind the ledger's back.

A frontier node the next leaf hashes with is gone: the insert is refused and stores nothing
(the tree cannot be extended honestly). The last leaf's ``recorded_at`` is garbled: writing goes
on, stamped by the clock, and the garbled leaf is left to the audit.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from logstore_support import SQL_STORES, create_city, sql_execute

from ledger import Ledger
from ledger.envelope import parse_time
from ledger.errors import LedgerError
from ledger.storage.records import InsertReceipt


def event_count(ledger: Ledger) -> int:
    return int(ledger._recorder.max_notification_id() or 0)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_an_insert_whose_frontier_node_is_gone_is_refused_and_stores_nothing(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    if ledger.log_size() % 2 == 0:
        ledger.register_volunteer("org-a", idempotency_key="to-an-odd-size")
    size, events = ledger.log_size(), event_count(ledger)
    # The next leaf's index is odd: it hashes with the leaf before it, which goes.
    deleted = sql_execute(
        ledger, "DELETE FROM {schema}.ledger_log_nodes WHERE level = 0 AND idx = %s", (size - 1,)
    )
    assert deleted == 1
    with pytest.raises(LedgerError):
        ledger.register_volunteer("org-a", idempotency_key="after-the-node-went")
    assert (ledger._recorder.log_size(), event_count(ledger)) == (size, events)


@pytest.mark.parametrize("garbled", ["not a time", "2026-02-30T09:00:00Z", "9999-12-31", ""])
def test_a_garbled_last_time_does_not_stop_writing(
    store_url: str, open_ledger: Callable[..., Ledger], garbled: str
) -> None:
    ledger = open_ledger(store_url)
    create_city(ledger)
    state = b'{"body":{},"recorded_at":"' + garbled.encode() + b'","signature":"AA"}'
    ledger._recorder.insert_events([StoredEvent(uuid4(), 1, "t", state)], receipt=InsertReceipt())
    before = ledger.clock()
    ref = ledger.register_volunteer("org-a", idempotency_key="after-the-garbled-leaf").events[0]
    assert parse_time(ledger.event(ref.aggregate_id, ref.version).recorded_at) >= before
