"""A volunteer's public reads come from the verified state commands decide on, not a replay.

``service_account``, ``volunteer_balance`` and ``record_status`` read the service account from
this process's cache of verified states (brought up to date with the events stored since) and a
record's events by the versions that state noted. Each test checks the answers against a full
replay of the account's events, or changes the store behind the ledger's back as an operator with
database access could and shows that the read refuses rather than answering from the changed row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from domain_support import Town
from ledger_testing import replayed, tamper_sql, tamper_state

from ledger import (
    IdempotencyConflictError,
    Ledger,
    LedgerError,
    NotFoundError,
    TamperedEventError,
    VerificationError,
)
from ledger.commands.queries import RECORD_TYPES
from ledger.errors import StoreUnavailableError
from ledger.model.service import ServiceAccount, service_account_id

City = tuple[Ledger, dict[str, str]]


@pytest.fixture
def town(city: City) -> Town:
    return Town.build(*city)


def replayed_account(ledger: Ledger, number: str) -> ServiceAccount:
    return replayed(ledger, ServiceAccount, service_account_id(number))


def replayed_status(ledger: Ledger, record_id: str) -> tuple[str, int, list[tuple[Any, ...]]]:
    """A record's status, credited minutes and events, found by scanning every event of its
    volunteer's account."""
    number = record_id.rsplit("-R", 1)[0]
    record = replayed_account(ledger, number).records[record_id]
    events = [
        (e.type, e.originator_version, e.leaf_index, e.data)
        for e in ledger.events(service_account_id(number))
        if e.data.get("record_id") == record_id and e.type in RECORD_TYPES
    ]
    status = "corrected" if record.corrections and record.status == "approved" else record.status
    return status, record.credited_minutes, events


def read_status(ledger: Ledger, record_id: str) -> tuple[str, int, list[tuple[Any, ...]]]:
    answer = ledger.record_status(record_id)
    events = [(e["type"], e["version"], e["leaf_index"], e["data"]) for e in answer["events"]]
    return answer["status"], answer["credited_minutes"], events


def history(town: Town) -> list[str]:
    """Records of every fate for the town's volunteer: approved, corrected twice, rejected,
    voided, pending; the record ids."""
    approved = town.approved(120)
    corrected = town.approved(90, org="org-b")
    town.correct(corrected, -30, "org-b")
    town.correct(corrected, 15, "org-b")
    rejected = town.record(town.activity(), 400)
    town.ledger.reject_record("org-a", record_id=rejected, reason="no", idempotency_key="rej")
    voided = town.approved(300)
    town.void(voided)
    pending = town.record(town.activity(), 45)
    return [approved, corrected, rejected, voided, pending]


def assert_reads_equal_a_replay(ledger: Ledger, number: str, records: list[str]) -> None:
    reference = replayed_account(ledger, number)
    assert ledger.service_account(number) == reference
    assert ledger.volunteer_balance(number) == ledger._balance_of(number, reference)
    for record_id in records:
        assert read_status(ledger, record_id) == replayed_status(ledger, record_id)


def test_reads_answer_as_a_full_replay_of_the_account(town: Town) -> None:
    records = history(town)
    assert_reads_equal_a_replay(town.ledger, town.number, records)
    town.correct(records[1], 5, "org-b")  # the cached state moves on; reads follow
    assert_reads_equal_a_replay(town.ledger, town.number, records)
    status, credited, events = read_status(town.ledger, records[1])
    assert (status, credited) == ("corrected", 90 - 30 + 15 + 5)
    assert [e[0] for e in events] == ["HoursRecorded", "RecordApproved"] + 3 * ["RecordCorrected"]


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_reads_follow_what_another_process_wrote(
    town: Town, store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    records = history(town)
    assert_reads_equal_a_replay(town.ledger, town.number, records)
    other = open_ledger(store_url, keystore=town.ledger.keystore)
    other.correct_record(
        "org-b",
        record_id=records[1],
        delta_minutes=-10,
        reason="second look",
        idempotency_key="elsewhere",
    )
    assert_reads_equal_a_replay(town.ledger, town.number, records)
    assert read_status(town.ledger, records[1])[1] == 90 - 30 + 15 - 10


def test_a_state_saved_before_records_noted_their_events_answers_the_same(town: Town) -> None:
    records = history(town)
    before = [read_status(town.ledger, r) for r in records]
    cache = town.ledger._writer.cache
    entry = cache.take(service_account_id(town.number))
    assert entry is not None
    for record in entry.state.records.values():
        record.versions = None
    cache.put(entry.state, entry.last_leaf_hash, entry.snapshot)
    assert [read_status(town.ledger, r) for r in records] == before


def test_a_record_of_another_volunteer_or_an_unknown_record_is_not_found(town: Town) -> None:
    record_id = town.approved(60)
    assert town.ledger.record_status(record_id)["number"] == town.number
    for missing in (f"{town.number}-R99", f"{town.other}-R1"):
        with pytest.raises(NotFoundError, match=f"record {missing} is not in this ledger"):
            town.ledger.record_status(missing)


def stored_event_of(ledger: Ledger, aggregate_id: UUID, event_type: str) -> Any:
    return next(e for e in ledger.events(aggregate_id) if e.type == event_type)


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_changed_record_event_behind_a_cached_state_is_refused(town: Town) -> None:
    history(town)
    aggregate_id = service_account_id(town.number)
    balance = town.ledger.volunteer_balance(town.number)  # the account's state is cached
    approval = stored_event_of(town.ledger, aggregate_id, "RecordApproved")
    # read and verified once, so the unchanged row's verification would be reused
    before = town.ledger.record_status(approval.data["record_id"])
    assert town.ledger.record_status(approval.data["record_id"]) == before
    marker = approval.envelope.index(b'"approved_minutes":') + len(b'"approved_minutes":')
    changed = approval.envelope[:marker] + b"9" + approval.envelope[marker:]
    tamper_state(town.ledger, approval.notification_id, changed)
    with pytest.raises(TamperedEventError):
        town.ledger.record_status(approval.data["record_id"])
    # The cached state was verified when it was built; its figures stand (the audit, which
    # replays the log, is what finds the changed row).
    assert town.ledger.volunteer_balance(town.number) == balance


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_another_records_event_moved_into_a_records_place_is_refused(town: Town) -> None:
    records = history(town)
    aggregate_id = service_account_id(town.number)
    town.ledger.record_status(records[0])
    events = town.ledger.events(aggregate_id)
    first, other = (
        next(e for e in events if e.data.get("record_id") == r and e.type == "RecordApproved")
        for r in records[:2]
    )
    tamper_state(town.ledger, first.notification_id, other.envelope)
    with pytest.raises(TamperedEventError, match="differ from its logged leaf hash"):
        town.ledger.record_status(records[0])


def test_a_state_naming_another_records_events_is_refused(town: Town) -> None:
    """Were a state's noted versions ever wrong, the events read by them show it."""
    records = history(town)
    cache = town.ledger._writer.cache
    entry = cache.take(service_account_id(town.number))
    assert entry is not None
    entry.state.records[records[0]].versions = entry.state.records[records[1]].versions
    cache.put(entry.state, entry.last_leaf_hash, entry.snapshot)
    with pytest.raises(VerificationError, match="not the ones its verified state was built"):
        town.ledger.record_status(records[0])


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_deleted_record_event_is_refused_not_answered_without_it(town: Town) -> None:
    records = history(town)
    aggregate_id = service_account_id(town.number)
    town.ledger.record_status(records[1])
    correction = stored_event_of(town.ledger, aggregate_id, "RecordCorrected")
    key = "rowid" if town.ledger.store.kind == "sqlite" else "notification_id"
    table = getattr(town.ledger._recorder, "events_table_name", "stored_events")
    tamper_sql(
        town.ledger, f"DELETE FROM {{schema}}.{table} WHERE {key}=%s", (correction.notification_id,)
    )
    with pytest.raises(VerificationError, match=f"an event of record {records[1]} is gone"):
        town.ledger.record_status(records[1])


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_reads_beside_commands_on_the_same_volunteer(town: Town) -> None:
    """Readers in threads while a writer records, approves and corrects for the same volunteer:
    no read fails or sees a half-applied state, and the end equals a replay."""
    ledger = town.ledger
    records = history(town)
    done = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        seen = 0
        try:
            while not done.is_set():
                for record_id in records[:5]:
                    status = ledger.record_status(record_id)
                    assert status["events"][0]["type"] == "HoursRecorded"
                account = ledger.service_account(town.number)
                assert account.version >= seen  # never an older state than one read before
                seen = account.version
                balance = ledger.volunteer_balance(town.number)
                assert balance["records"] >= len(account.records)
        except BaseException as failure:  # reported by the main thread
            failures.append(failure)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(4):
            records.append(town.approved(30))
            town.correct(records[-1], 5)
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert failures == []
    assert_reads_equal_a_replay(ledger, town.number, records)


def test_readers_at_once_wait_for_the_state_rather_than_rebuild_it(town: Town) -> None:
    """Four threads read the same volunteer at once: each waits for the state another has out
    (the wait made unbounded here) instead of rebuilding it, and no entry is left out."""
    ledger = town.ledger
    records = history(town)
    cache = ledger._writer.cache
    cache.wait_per_event, cache.max_wait = 1.0, 60.0
    balance = ledger.volunteer_balance(town.number)
    status = read_status(ledger, records[1])
    misses = cache.misses
    start = threading.Barrier(4)
    answers: list[Any] = []

    def read() -> None:
        start.wait(timeout=30)
        for _ in range(20):
            answers.append((ledger.volunteer_balance(town.number), read_status(ledger, records[1])))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=120)
    assert answers == [(balance, status)] * (4 * 20)
    assert cache.misses == misses
    assert cache._out == {}


def test_commands_refused_leave_no_entry_out(town: Town, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state a refused command drafted on is dropped, not put back: its entry is released,
    so no thread waits for it."""
    ledger = town.ledger
    record_id = town.record(town.activity(), 60)
    ledger.approve_record("org-a", record_id=record_id, idempotency_key="same")
    with pytest.raises(IdempotencyConflictError):
        ledger.correct_record(
            "org-a", record_id=record_id, delta_minutes=5, reason="r", idempotency_key="same"
        )
    with pytest.raises(LedgerError):  # refused while deciding
        ledger.approve_record("org-b", record_id=record_id, idempotency_key="other")

    def unavailable(*args: object, **kwargs: object) -> None:
        raise StoreUnavailableError("the store went away")

    cache = ledger._writer.cache
    hits = cache.hits
    monkeypatch.setattr(ledger._writer, "_store", unavailable)
    with pytest.raises(StoreUnavailableError):  # drafted, then refused when stored
        ledger.correct_record(
            "org-a", record_id=record_id, delta_minutes=5, reason="r", idempotency_key="down"
        )
    assert cache.hits > hits  # the command took cached states out, and drafted on them
    assert cache._out == {}
    monkeypatch.undo()
    assert_reads_equal_a_replay(ledger, town.number, [record_id])
