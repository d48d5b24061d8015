"""What a store does at an insert when its log was changed behind the ledger's back.

A frontier node the next leaf hashes with is gone: a writer that must read it refuses the insert
and stores nothing (the tree cannot be extended honestly); a SQLite writer whose own insert left
the log at that size holds the frontier already and extends the tree with the right hashes.
Writers taking turns each read what the other wrote; the fence's query is skipped only over rows
a writer searched or wrote itself. The last leaf's ``recorded_at`` is garbled:
writing goes on, stamped by the clock, and the garbled leaf is left to the audit.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from logstore_support import SQL_STORES, create_city, sql_execute

from ledger import Ledger
from ledger.audit.sources import Leaf, StoreSource
from ledger.envelope import parse_time, recorded_at_of
from ledger.errors import LedgerError
from ledger.log.merkle import TreeBuilder, leaf_hash
from ledger.storage import sqlite_recorder
from ledger.storage.records import IdempotencyClaim, InsertReceipt
from ledger.trust import KEY_TOPICS


def event_count(ledger: Ledger) -> int:
    return int(ledger._recorder.max_notification_id() or 0)


def a_city_whose_last_leaf_node_is_gone(url: str, open_ledger: Callable[..., Ledger]) -> Ledger:
    """A city whose log has an odd size, so that the next leaf hashes with the last one, whose
    node is then deleted behind the ledger's back; the ledger that wrote it."""
    ledger = open_ledger(url)
    create_city(ledger)
    if ledger.log_size() % 2 == 0:
        ledger.register_volunteer("org-a", idempotency_key="to-an-odd-size")
    deleted = sql_execute(
        ledger,
        "DELETE FROM {schema}.ledger_log_nodes WHERE level = 0 AND idx = %s",
        (ledger.log_size() - 1,),
    )
    assert deleted == 1
    return ledger


def logged_leaves(url: str, open_ledger: Callable[..., Ledger]) -> list[Leaf]:
    """The store's leaves, each with its event, after checking that each stored leaf hash is
    the hash of its event's bytes and that the log's stored nodes give the root of the tree of
    those leaves (read by another process: nothing a writer remembers is used)."""
    leaves = list(StoreSource(open_ledger(url)).leaves(0))
    expected = TreeBuilder()
    for leaf in leaves:
        assert leaf.state is not None
        assert leaf.stored_hash in (None, leaf_hash(leaf.state))  # None: a test deleted it
        expected.append(leaf_hash(leaf.state))
    assert open_ledger(url).log.root(len(leaves)) == expected.root()
    return leaves


@pytest.mark.parametrize("kind", SQL_STORES)
def test_an_insert_whose_frontier_node_is_gone_is_refused_and_stores_nothing(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger = a_city_whose_last_leaf_node_is_gone(url, open_ledger)
    size, events = ledger.log_size(), event_count(ledger)
    reader = open_ledger(url)  # another process: it has to read the frontier
    with pytest.raises(LedgerError):
        reader.register_volunteer("org-a", idempotency_key="after-the-node-went")
    assert (reader._recorder.log_size(), event_count(reader)) == (size, events)


def test_a_sqlite_writer_extends_the_log_from_the_frontier_its_own_insert_left(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for("sqlite")
    ledger = a_city_whose_last_leaf_node_is_gone(url, open_ledger)
    size = ledger.log_size()
    ledger.register_volunteer("org-a", idempotency_key="after-the-node-went")
    assert len(logged_leaves(url, open_ledger)) == size + 1


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


def test_sqlite_writers_taking_turns_read_what_the_other_wrote(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for("sqlite")
    first = open_ledger(url)
    create_city(first)
    second = open_ledger(url, keystore=first.keystore)  # another process holding the same keys
    for turn in range(7):  # each insert follows one the other writer made
        writer = (first, second)[turn % 2]
        writer.register_volunteer("org-a", idempotency_key=f"turn-{turn}")
    leaves = logged_leaves(url, open_ledger)
    times = [parse_time(recorded_at_of(leaf.state or b"")) for leaf in leaves]
    assert times == sorted(times) and len(set(times)) == len(times)


def _insert_fenced(ledger: Ledger, topic: str, fence: int) -> int:
    """One event of ``topic`` with a claim, as a command decided at ``fence`` stores it."""
    event = StoredEvent(uuid4(), 1, topic, b"state of " + topic.encode())
    claim = IdempotencyClaim("org-a", uuid4().hex, "request", b"{}")  # no clock: not stamped
    (nid,) = ledger._recorder.insert_events(
        [event], claim=claim, fence=fence, fence_topics=KEY_TOPICS, receipt=InsertReceipt()
    )
    return int(nid)


def test_every_store_fences_an_insert_only_after_a_key_event_stored_since(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    """Events of other types stored after a command's fence let it through; a key event of any
    key type refuses it, storing nothing; a command decided after that key event passes."""
    ledger = open_ledger(store_url)
    create_city(ledger)
    recorder = ledger._recorder
    start = int(recorder.max_notification_id())
    for _ in range(3):
        _insert_fenced(ledger, "ledger.event.v1:Plain", start)
    for key_topic in (KEY_TOPICS[0], KEY_TOPICS[-1]):
        fence = int(recorder.max_notification_id())
        key_event = _insert_fenced(ledger, key_topic, fence)
        size, events = recorder.log_size(), event_count(ledger)
        with pytest.raises(IntegrityError, match="decide again"):
            _insert_fenced(ledger, "ledger.event.v1:Plain", fence)
        assert (recorder.log_size(), event_count(ledger)) == (size, events)
        _insert_fenced(ledger, "ledger.event.v1:Plain", key_event)
        assert recorder.log_size() == size + 1


def test_a_sqlite_writer_skips_the_fence_query_only_over_rows_it_knows_hold_no_key_event(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """The fence's query is skipped when this process's own last insert searched or wrote
    every row after the fence; a key event among its own rows still fences a command decided
    before it."""
    ledger = open_ledger(store_url_for("sqlite"))
    create_city(ledger)
    recorder = ledger._recorder

    def insert(topic: str, fence: int) -> int:
        return _insert_fenced(ledger, topic, fence)

    start = int(recorder.max_notification_id())
    insert("ledger.event.v1:Plain", start)
    key_event = insert(KEY_TOPICS[0], start)  # its own rows after the fence: none is a key's
    size = recorder.log_size()
    with pytest.raises(IntegrityError, match="decide again"):
        insert("ledger.event.v1:Plain", start)  # decided before the key event: fenced
    assert recorder.log_size() == size
    insert("ledger.event.v1:Plain", key_event)  # decided after it: stored
    assert recorder.log_size() == size + 1


def test_a_sqlite_before_insert_returning_reads_the_size_on_its_own(
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite before 3.35 has no ``INSERT ... RETURNING``: the claim is stored alone and the
    log's size read by a query of its own, with the same log as a result."""
    monkeypatch.setattr(sqlite_recorder, "_RETURNING", False)
    monkeypatch.setattr(
        sqlite_recorder, "_CLAIM_AND_SIZE", "INSERT INTO ledger_idempotency VALUES (?,?,?,?)"
    )
    url = store_url_for("sqlite")
    ledger = open_ledger(url)
    create_city(ledger)
    for number in range(3):
        ledger.register_volunteer("org-a", idempotency_key=f"old-sqlite-{number}")
    assert len(logged_leaves(url, open_ledger)) == ledger.log_size()
