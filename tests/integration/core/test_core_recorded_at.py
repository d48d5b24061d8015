"""``recorded_at`` is stamped by the store inside the serialised insert, in log order.

Honest writers in several processes, with clocks a little apart as honest hosts' clocks are,
leave an audit with no ``backdated-event`` finding; an operator who inserts a back-dated event
behind the ledger's back (through the recorder, with its own database access) is still caught.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from core_support import create_city, key_of, outside_body, sign_outside
from eventsourcing.persistence import IntegrityError, StoredEvent
from writer_testing import audit_store, describe, run_writers, writer_city

from ledger import Ledger
from ledger.audit import StoreSource, audit
from ledger.envelope import (
    SignedEvent,
    format_time,
    make_envelope,
    open_envelope,
    parse_time,
    recorded_at_of,
)
from ledger.mapper import SignedEventMapper
from ledger.model.ids import volunteer_aggregate_id
from ledger.storage.records import InsertReceipt

FILE_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def recorded_times(ledger: Ledger) -> list[str]:
    leaves = ledger._recorder.select_leaves(0, 10**6)
    return [recorded_at_of(leaf.state or b"") or "" for leaf in leaves]


@pytest.mark.slow
@pytest.mark.parametrize("kind", FILE_STORES)
def test_writers_in_four_processes_with_skewed_clocks_audit_clean(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url, keys = store_url_for(kind), tmp_path / "keys"
    orgs = writer_city(url, keys, writers=4)
    with Ledger(url) as ledger:
        before = ledger.log_size()
    # Clocks 0, 40, 80 and 120 ms behind: stamped before the write lock, their events would
    # land out of time order in the log at almost every interleaving.
    run_writers(url, keys, orgs, each=25, skews_ms=[0, -40, -80, -120])
    report = audit_store(url)
    assert report.clean, describe(report)
    with Ledger(url) as ledger:
        times = [parse_time(t) for t in recorded_times(ledger)]
    assert all(a < b for a, b in itertools.pairwise(times))  # strictly, in log order
    assert len(times) == before + 4 * 25


def test_recorded_at_never_goes_back_when_the_clock_does(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    base = parse_time("2026-03-05T09:00:00Z")
    offset = {"minutes": 0}

    def clock() -> datetime:
        return base + timedelta(minutes=offset["minutes"])

    ledger = open_ledger(store_url, clock=clock)
    create_city(ledger)
    offset["minutes"] = -30  # the host's clock is stepped back half an hour
    ref = ledger.register_volunteer("org-a", idempotency_key="after-step").events[0]
    stored = ledger.event(ref.aggregate_id, ref.version)
    assert stored.recorded_at.startswith("2026-03-05T09:00:00.")  # not 08:30
    times = [parse_time(t) for t in recorded_times(ledger)]
    assert all(a < b for a, b in itertools.pairwise(times))


def test_the_receipt_names_the_stamped_time(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url)
    create_city(ledger)
    ref = ledger.register_volunteer("org-a", idempotency_key="stamped").events[0]
    leaf = ledger._recorder.select_leaves(ref.leaf_index, 1)[0]
    assert recorded_at_of(leaf.state or b"") == ledger.event(ref.aggregate_id, 1).recorded_at


def test_a_back_dated_insert_behind_the_ledgers_back_is_flagged(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    """The operator holds the organisation's key and writes through the recorder itself, with
    a ``recorded_at`` an hour before the event it follows: the audit names it."""
    ledger = open_ledger(store_url)
    create_city(ledger)
    last = parse_time(recorded_times(ledger)[-1])
    key = key_of(ledger, "org-a")
    number = "VBOUGHTFIVEHRS"
    aggregate = volunteer_aggregate_id(number)
    body = outside_body(
        ledger,
        event_type="VolunteerRegistered",
        org="org-a",
        key=key,
        aggregate_id=aggregate,
        data={"number": number},
        idempotency_key="backdated",
        version=1,
        occurred_at=format_time(last - timedelta(hours=2)),
    )
    envelope = make_envelope(body, sign_outside(body, key), format_time(last - timedelta(hours=1)))
    mapper: SignedEventMapper = ledger._app.signed_mapper
    opened, signature, recorded_at = open_envelope(envelope)
    stored = mapper.to_stored_event(
        SignedEvent(aggregate, 1, opened, signature, recorded_at, envelope)
    )
    receipt = InsertReceipt()
    ledger._recorder.insert_events([stored], receipt=receipt)
    report = audit(StoreSource(ledger), workers=1, progress=False, compare_views=False)
    backdated = [f for f in report.findings if f.kind == "backdated-event"]
    assert [f.leaf_index for f in backdated] == receipt.leaf_indexes, describe(report)


BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def batch_of_registrations(ledger: Ledger, count: int, tag: str) -> list[StoredEvent]:
    """``count`` volunteers' registrations by org-a, signed and sealed for the recorder."""
    key, mapper = key_of(ledger, "org-a"), ledger._app.signed_mapper
    stored = []
    for i in range(count):
        number = "VBATCH" + tag.upper() + "".join(BASE32[i >> (5 * k) & 31] for k in range(7))
        body = outside_body(
            ledger,
            event_type="VolunteerRegistered",
            org="org-a",
            key=key,
            aggregate_id=volunteer_aggregate_id(number),
            data={"number": number},
            idempotency_key=f"batch-{tag}",
            version=1,
        )
        event = SignedEvent.sealed(body, sign_outside(body, key), format_time(ledger.clock()))
        stored.append(mapper.to_stored_event(event))
    return stored


@pytest.mark.parametrize("count", [2, 40])
def test_a_batch_is_numbered_logged_and_stamped_in_its_order(
    store_url: str, open_ledger: Callable[..., Ledger], count: int
) -> None:
    """One insert of ``count`` events: notification ids, leaves and times follow the order
    given, a microsecond apart."""
    ledger = open_ledger(store_url)
    create_city(ledger)
    size = ledger.log_size()
    batch = batch_of_registrations(ledger, count, "a")
    receipt = InsertReceipt()
    ids = ledger._recorder.insert_events(batch, receipt=receipt, stamp_clock=ledger.clock)
    assert ids is not None and list(ids) == sorted(ids) and len(set(ids)) == count
    assert receipt.leaf_indexes == list(range(size, size + count))
    times = [parse_time(t) for t in receipt.recorded_at]
    assert len(times) == count
    assert all(b - a == timedelta(microseconds=1) for a, b in itertools.pairwise(times))
    leaves = ledger._recorder.select_leaves(size, count)
    assert [leaf.id for leaf in leaves] == list(ids)
    assert [leaf.originator_id for leaf in leaves] == [e.originator_id for e in batch]
    assert [recorded_at_of(leaf.state or b"") for leaf in leaves] == receipt.recorded_at
    report = audit(StoreSource(ledger), workers=1, progress=False, compare_views=False)
    assert report.clean, describe(report)


@pytest.mark.parametrize("count", [2, 40])
def test_a_batch_holding_a_taken_version_stores_nothing(
    store_url: str, open_ledger: Callable[..., Ledger], count: int
) -> None:
    ledger = open_ledger(store_url)
    create_city(ledger)
    [first] = batch_of_registrations(ledger, 1, "b")
    ledger._recorder.insert_events([first], receipt=InsertReceipt())
    size, top = ledger.log_size(), ledger._recorder.max_notification_id()
    batch = batch_of_registrations(ledger, count - 1, "c")
    with pytest.raises(IntegrityError):
        ledger._recorder.insert_events([*batch, first], receipt=InsertReceipt())
    assert ledger.log_size() == size
    assert ledger._recorder.max_notification_id() == top
