"""Commands decide on cached verified states, and a changed database row never slips past.

A ledger keeps the states its commands built (see ``ledger.state_cache``) and fast-forwards
them by the events stored since; a new process starts from authenticated snapshots
(``ledger.snapshots``). Each test warms that cache, changes the store behind the
ledger's back as an operator with database access could, and shows that the next command either
refuses, naming the event, or decides exactly as a ledger with no cache would; and that the audit,
which replays everything from the log, still finds what the cache does not re-read.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import pickle
import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from uuid import UUID

import pytest
from core_support import SQL_STORES, create_city, notification_count, tamper_sql, tamper_state

from ledger import (
    ConcurrencyConflictError,
    Ledger,
    RuleViolationError,
    SigningKey,
    TamperedEventError,
)
from ledger.audit import StoreSource, audit
from ledger.context import Context
from ledger.demo import build_demo
from ledger.model.aggregates import AGGREGATE_KINDS, AggregateState, Volunteer
from ledger.model.ids import volunteer_aggregate_id
from ledger.model.registry import spec_for
from ledger.results import NoValue
from ledger.snapshots import MODEL_ONLY, SnapshotStore, log_key_of
from ledger.state_cache import leaf_hash_of
from ledger.state_codec import dumps_state, loads_state

PURPOSE = "certificate-name"


def consent(ledger: Ledger, number: str, key: str, give: bool = True) -> None:
    command = ledger.give_consent if give else ledger.withdraw_consent
    command("org-a", number=number, purpose=PURPOSE, idempotency_key=key)


def warmed(open_ledger: Callable[..., Ledger], url: str) -> tuple[Ledger, str]:
    """A city whose volunteer aggregate is in the ledger's cache after three commands."""
    ledger = open_ledger(url)
    number = create_city(ledger)["number"]
    consent(ledger, number, "c-1")
    consent(ledger, number, "c-2", give=False)
    consent(ledger, number, "c-3")
    entry = ledger._writer.cache.take(volunteer_aggregate_id(number))
    assert entry is not None and entry.state.version == 4
    ledger._writer.cache.put(entry.state, entry.last_leaf_hash, entry.snapshot)
    return ledger, number


def flip_last_byte_of_data(envelope: bytes) -> bytes:
    marker = envelope.index(PURPOSE.encode())
    return envelope[:marker] + b"C" + envelope[marker + 1 :]


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_command_fast_forwards_by_reading_only_the_new_events(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    other = open_ledger(url, keystore=ledger.keystore)
    consent(other, number, "elsewhere", give=False)
    hits = ledger._writer.cache.hits
    consent(ledger, number, "c-4")
    assert ledger._writer.cache.hits == hits + 1
    entry = ledger._writer.cache.take(volunteer_aggregate_id(number))
    assert entry is not None and entry.state.version == 6
    assert isinstance(entry.state, Volunteer) and entry.state.consents == {PURPOSE: True}
    events = ledger.events(volunteer_aggregate_id(number))
    assert entry.last_leaf_hash == leaf_hash_of(events[-1].envelope)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_changed_event_stored_after_the_cached_version_is_refused(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    other = open_ledger(url, keystore=ledger.keystore)
    consent(other, number, "elsewhere", give=False)
    newest = other.events(volunteer_aggregate_id(number))[-1]
    assert newest.notification_id is not None
    tamper_state(ledger, newest.notification_id, flip_last_byte_of_data(newest.envelope))
    count = notification_count(ledger)
    with pytest.raises(TamperedEventError, match=str(volunteer_aggregate_id(number))):
        consent(ledger, number, "c-4")
    assert notification_count(ledger) == count


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_changed_last_cached_event_drops_the_entry_and_is_refused(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    last = ledger.events(volunteer_aggregate_id(number))[-1]
    assert last.notification_id is not None
    tamper_state(ledger, last.notification_id, flip_last_byte_of_data(last.envelope))
    count = notification_count(ledger)
    with pytest.raises(TamperedEventError, match=str(volunteer_aggregate_id(number))):
        consent(ledger, number, "c-4", give=False)
    assert notification_count(ledger) == count
    assert ledger._writer.cache.take(volunteer_aggregate_id(number)) is None


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_deleted_tail_makes_the_command_decide_as_a_fresh_ledger_would(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    last = ledger.events(volunteer_aggregate_id(number))[-1]
    table = getattr(ledger._recorder, "events_table_name", "stored_events")
    tamper_sql(
        ledger,
        f"DELETE FROM {{schema}}.{table} WHERE originator_id=%s AND originator_version=%s",
        (str(last.originator_id) if kind == "postgresql" else last.originator_id.hex, 4),
    )
    # The cache remembered version 4 (consent given); the store now ends at version 3
    # (consent withdrawn). The command must see what the store holds, not what it remembers.
    ctx = ledger._writer.context("org-a", "2025-03-03T09:00:00Z")
    state = ctx.state(Volunteer, volunteer_aggregate_id(number))
    ctx.discard()
    assert state.version == 3 and state.consents == {PURPOSE: False}


@pytest.mark.parametrize("kind", SQL_STORES)
def test_an_event_changed_before_the_cached_version_is_found_by_the_audit(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    first_consent = ledger.events(volunteer_aggregate_id(number))[1]
    assert first_consent.notification_id is not None
    tamper_state(
        ledger, first_consent.notification_id, flip_last_byte_of_data(first_consent.envelope)
    )
    # This process verified that event before it was changed, and does not read it again...
    consent(ledger, number, "c-4", give=False)
    # ...but a fresh reader, and the audit replaying the whole log, find it.
    with pytest.raises(TamperedEventError, match=str(volunteer_aggregate_id(number))):
        open_ledger(url).events(volunteer_aggregate_id(number))
    report = audit(StoreSource(ledger), workers=1, progress=False)
    assert not report.clean
    assert any(f.leaf_index == first_consent.leaf_index for f in report.findings)


# Authenticated snapshots: what a new process starts from.

SNAPSHOTS = "state-snapshots"


@pytest.fixture
def short_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshot every 4 events, so that a short history crosses the interval."""
    monkeypatch.setattr("ledger.state_cache.SNAPSHOT_INTERVAL", 4)


def snapshotted(open_ledger: Callable[..., Ledger], url: str) -> tuple[Ledger, str]:
    """A city whose volunteer aggregate reached version 5, with a snapshot at version 4."""
    ledger, number = warmed(open_ledger, url)
    consent(ledger, number, "c-4", give=False)
    stored = ledger._recorder.side_get(SNAPSHOTS, str(volunteer_aggregate_id(number)))
    assert stored is not None
    return ledger, number


def decided(ledger: Ledger, number: str) -> Volunteer:
    ctx = ledger._writer.context("org-a", "2025-03-03T09:00:00Z")
    state = ctx.state(Volunteer, volunteer_aggregate_id(number))
    ctx.discard()
    return state


def replayed(ledger: Ledger, number: str) -> Volunteer:
    state = Volunteer(aggregate_id=volunteer_aggregate_id(number))
    for event in ledger.events(volunteer_aggregate_id(number)):
        state.apply(event, event.data)
    return state


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_new_process_starts_from_the_snapshot_and_reads_only_newer_events(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = snapshotted(open_ledger, url)
    fresh = open_ledger(url, keystore=ledger.keystore)
    state = decided(fresh, number)
    snapshots = fresh._writer.cache.snapshots
    assert snapshots is not None and (snapshots.loaded, snapshots.rejected) == (1, 0)
    assert state == replayed(fresh, number) and state.version == 5
    consent(fresh, number, "c-5")
    assert replayed(fresh, number).consents == {PURPOSE: True}


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_larger_state_is_snapshotted_less_often_so_no_event_pays_more_for_it(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A snapshot is due after SNAPSHOT_INTERVAL events, or one event per
    SNAPSHOT_BYTES_PER_EVENT bytes of the previous snapshot when that is more: the bytes
    rewritten per event stay under that figure however large the state grows."""
    monkeypatch.setattr("ledger.state_cache.SNAPSHOT_BYTES_PER_EVENT", 64)
    url = store_url_for(kind)
    ledger = open_ledger(url)
    number = create_city(ledger)["number"]
    aggregate_id = volunteer_aggregate_id(number)
    saved: dict[int, int] = {}  # version -> bytes of each snapshot, as stored
    for index in range(60):
        ledger.give_consent(
            "org-a",
            number=number,
            purpose="purpose-" + chr(97 + index // 26) + chr(97 + index % 26),
            idempotency_key=f"c-{index}",
        )
        stored = ledger._recorder.side_get(SNAPSHOTS, str(aggregate_id))
        if stored is not None:
            saved[struct.unpack_from(">Q", stored, 32)[0]] = len(stored)
    versions = sorted(saved)
    assert versions[0] == 4 and len(versions) >= 3
    for before, after in itertools.pairwise(versions):
        assert after - before == max(4, -(-saved[before] // 64)), (before, saved, after)
        assert saved[before] / (after - before) <= 64
    assert saved[versions[-1]] > 2 * saved[versions[0]]  # the state did grow
    fresh = open_ledger(url, keystore=ledger.keystore)
    assert decided(fresh, number) == replayed(fresh, number)
    assert fresh._writer.cache.snapshots is not None
    assert fresh._writer.cache.snapshots.loaded == 1


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_changed_snapshot_is_refused_and_the_state_rebuilt_from_the_events(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = snapshotted(open_ledger, url)
    key = str(volunteer_aggregate_id(number))
    stored = ledger._recorder.side_get(SNAPSHOTS, key)
    assert stored is not None
    changed = stored[:-5] + bytes([stored[-5] ^ 1]) + stored[-4:]
    tamper_sql(
        ledger,
        "UPDATE {schema}.ledger_side SET value=%s WHERE namespace=%s AND key=%s",
        (changed, SNAPSHOTS, key),
    )
    fresh = open_ledger(url, keystore=ledger.keystore)
    state = decided(fresh, number)
    snapshots = fresh._writer.cache.snapshots
    assert snapshots is not None and (snapshots.loaded, snapshots.rejected) == (0, 1)
    assert state == replayed(fresh, number)


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_snapshot_copied_to_another_aggregate_is_refused(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = snapshotted(open_ledger, url)
    other = ledger.register_volunteer("org-a", idempotency_key="vol-2").value.number
    stored = ledger._recorder.side_get(SNAPSHOTS, str(volunteer_aggregate_id(number)))
    assert stored is not None
    ledger._recorder.side_put(SNAPSHOTS, str(volunteer_aggregate_id(other)), stored)
    fresh = open_ledger(url, keystore=ledger.keystore)
    state = decided(fresh, str(other))
    assert fresh._writer.cache.snapshots is not None
    assert fresh._writer.cache.snapshots.rejected == 1
    assert state == replayed(fresh, str(other)) and state.version == 1


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_snapshot_forged_without_the_log_key_is_refused(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """Someone with database access writes a well-formed snapshot claiming consent was given
    (the events say withdrawn), MACed with a key of their own: it is not believed."""
    url = store_url_for(kind)
    ledger, number = snapshotted(open_ledger, url)
    forged = replayed(ledger, number)
    forged.consents = {PURPOSE: True}
    last = ledger.events(volunteer_aggregate_id(number))[-1]
    SnapshotStore(ledger._recorder, lambda: SigningKey.generate()).save(
        forged, leaf_hash_of(last.envelope)
    )
    fresh = open_ledger(url, keystore=ledger.keystore)
    state = decided(fresh, number)
    assert fresh._writer.cache.snapshots is not None
    assert fresh._writer.cache.snapshots.rejected == 1
    assert state.consents == {PURPOSE: False} and state == replayed(fresh, number)


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_snapshot_whose_last_event_was_changed_is_not_trusted(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger, number = snapshotted(open_ledger, url)
    at_snapshot = ledger.events(volunteer_aggregate_id(number))[3]
    assert at_snapshot.notification_id is not None
    tamper_state(ledger, at_snapshot.notification_id, flip_last_byte_of_data(at_snapshot.envelope))
    fresh = open_ledger(url, keystore=ledger.keystore)
    count = notification_count(ledger)
    with pytest.raises(TamperedEventError, match=str(volunteer_aggregate_id(number))):
        consent(fresh, number, "c-5")
    assert notification_count(ledger) == count


@pytest.mark.usefixtures("short_interval")
def test_a_process_without_the_log_key_neither_reads_nor_writes_snapshots(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for("sqlite")
    _, number = snapshotted(open_ledger, url)
    reader = open_ledger(url)  # an empty keystore: no log key
    state = decided(reader, number)
    assert reader._writer.cache.snapshots is not None
    assert reader._writer.cache.snapshots.loaded == 0
    assert state == replayed(reader, number)


def test_every_aggregate_state_of_a_city_round_trips_as_snapshot_json(
    open_ledger: Callable[..., Ledger],
) -> None:
    """Snapshots are JSON naming only the model's classes: every aggregate the demo city makes
    (organisations, volunteers, accounts, activities, banks, certificates ...) reads back equal."""
    ledger = open_ledger("memory://")
    build_demo(ledger, volunteers=12)
    kinds: dict[UUID, type[AggregateState]] = {}
    for notification in ledger._recorder.select_notifications(None, 100_000):
        kind = spec_for(notification.topic.rsplit(":", 1)[-1]).aggregate
        kinds.setdefault(notification.originator_id, AGGREGATE_KINDS[kind])
    assert len(set(kinds.values())) >= 8
    for aggregate_id, cls in kinds.items():
        state = cls(aggregate_id=aggregate_id)
        for event in ledger.events(aggregate_id):
            state.apply(event, event.data)
        saved = dumps_state(state, modules=MODEL_ONLY)
        assert b"ledger.model." in saved and loads_state(saved, modules=MODEL_ONLY) == state


def snapshot_with_payload(ledger: Ledger, number: str, json_state: bytes) -> None:
    """Store, MACed with the ledger's own key (as a bug in the ledger itself might), a snapshot
    of ``number``'s volunteer at its current version holding ``json_state``."""
    snapshots = ledger._writer.cache.snapshots
    assert snapshots is not None
    key = snapshots._mac_key()
    assert key is not None
    events = ledger.events(volunteer_aggregate_id(number))
    aggregate_id = volunteer_aggregate_id(number)
    payload = struct.pack(">Q32s", len(events), leaf_hash_of(events[-1].envelope)) + json_state
    mac = snapshots._mac(key, aggregate_id, payload)
    ledger._recorder.side_put(SNAPSHOTS, str(aggregate_id), mac + payload)


@pytest.mark.usefixtures("short_interval")
@pytest.mark.parametrize(
    "json_state",
    [
        b'{"$object": "ledger.keystore:Keystore", "fields": {}}',  # a ledger class, not a state
        b'{"$object": "ledger.trust:KeyInfo", "fields": {}}',  # the audit's, not a snapshot's
        b'{"$object": "os:system", "fields": {}}',
        b"\x80\x05\x95pickle",
    ],
)
def test_a_snapshot_naming_anything_but_a_model_state_is_refused_even_with_a_valid_mac(
    json_state: bytes, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for("sqlite")
    ledger, number = snapshotted(open_ledger, url)
    snapshot_with_payload(ledger, number, json_state)
    fresh = open_ledger(url, keystore=ledger.keystore)
    state = decided(fresh, number)
    assert fresh._writer.cache.snapshots is not None
    assert (fresh._writer.cache.snapshots.loaded, fresh._writer.cache.snapshots.rejected) == (0, 1)
    assert state == replayed(fresh, number)


@pytest.mark.usefixtures("short_interval")
def test_a_pickled_snapshot_of_the_older_format_is_ignored_and_rebuilt(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """What the v1 format stored (a pickle, MACed under the v1 label) is never unpickled: its MAC
    fails under the current key, and the state is replayed from the events."""
    url = store_url_for("sqlite")
    ledger, number = snapshotted(open_ledger, url)
    state = replayed(ledger, number)
    log_key = log_key_of(ledger.keystore)()
    assert log_key is not None
    v1_key = hashlib.sha256(
        log_key.sign(b"service-hour ledger: state snapshot MAC key, v1")
    ).digest()
    last = ledger.events(volunteer_aggregate_id(number))[-1]
    payload = struct.pack(">Q32s", state.version, leaf_hash_of(last.envelope))
    payload += pickle.dumps(state, protocol=5)
    mac = hmac.new(v1_key, state.aggregate_id.bytes + payload, hashlib.sha256).digest()
    ledger._recorder.side_put(SNAPSHOTS, str(state.aggregate_id), mac + payload)
    fresh = open_ledger(url, keystore=ledger.keystore)
    assert decided(fresh, number) == state
    assert fresh._writer.cache.snapshots is not None
    assert fresh._writer.cache.snapshots.rejected == 1


@pytest.mark.postgres
def test_writers_with_their_own_caches_racing_on_one_aggregate_lose_and_double_nothing(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """Four ledger objects (as four processes would), each with a warm cache, change one
    volunteer 10 times each at once: every command is stored exactly once, versions are
    contiguous, and every cache ends equal to a replay from the first event."""
    url = store_url_for("postgresql")
    ledger, number = warmed(open_ledger, url)
    writers = [open_ledger(url, keystore=ledger.keystore) for _ in range(4)]
    for index, writer in enumerate(writers):
        consent(writer, number, f"warm-{index}", give=index % 2 == 0)
    barrier = threading.Barrier(len(writers))

    def work(index: int) -> list[int]:
        barrier.wait(timeout=30)
        versions, conflicts = [], 0
        for round_ in range(10):
            command = writers[index].give_consent if round_ % 2 else writers[index].withdraw_consent
            while True:
                try:
                    result = command(
                        "org-a",
                        number=number,
                        purpose=PURPOSE,
                        idempotency_key=f"w{index}-{round_}",
                    )
                    break
                except ConcurrencyConflictError:
                    conflicts += 1  # the documented answer: retry with the same key
                    assert conflicts < 50
            versions.append(result.events[0].version)
        return versions

    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        stored = [v for versions in pool.map(work, range(len(writers))) for v in versions]
    events = ledger.events(volunteer_aggregate_id(number))
    assert len(events) == 4 + 4 + 40
    assert sorted(stored) == list(range(9, 49))
    assert [e.originator_version for e in events] == list(range(1, 49))
    keys = [e.body["idempotency_key"] for e in events[8:]]
    assert sorted(keys) == sorted(f"w{i}-{r}" for i in range(4) for r in range(10))
    for writer in [ledger, *writers]:
        assert decided(writer, number) == replayed(writer, number)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_roster_loads_its_volunteers_with_one_read_and_decides_as_a_replay(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cached, stale and never-seen volunteers alike come from one read of the store."""
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    others = [
        str(ledger.register_volunteer("org-a", idempotency_key=f"more-{i}").value.number)
        for i in range(3)
    ]
    elsewhere = open_ledger(url, keystore=ledger.keystore)
    consent(elsewhere, number, "elsewhere", give=False)
    consent(elsewhere, others[0], "elsewhere-0")
    ledger._writer.cache.take(volunteer_aggregate_id(others[1]))  # never seen by this process
    reads: list[str] = []
    for name in ("select_events", "select_events_from"):
        original = getattr(ledger._recorder, name)

        def counted(*args: object, _name: str = name, _original: object = original) -> object:
            reads.append(_name)
            return _original(*args)  # type: ignore[operator]

        monkeypatch.setattr(ledger._recorder, name, counted)
    ctx = ledger._writer.context("org-a", "2025-03-03T09:00:00Z")
    everyone = [number, *others]
    ctx.prefetch(Volunteer, [volunteer_aggregate_id(n) for n in everyone])
    states = [ctx.state(Volunteer, volunteer_aggregate_id(n)) for n in everyone]
    ctx.discard()
    assert reads == ["select_events_from"]
    monkeypatch.undo()
    assert states == [replayed(ledger, n) for n in everyone]
    assert states[0].consents == {PURPOSE: False}


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_key_event_stored_while_a_command_decided_sends_it_back_to_decide_again(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The insert is fenced: a key registered by another process after this one read its trust
    directory refuses the insert (inside the serialised transaction), and the command runs
    again on a fresh directory; one event is stored, none lost or doubled. A command does not
    refresh the directory before deciding, so the first try decides on the stale one."""
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    other = open_ledger(url, keystore=ledger.keystore)
    ledger.refresh()
    other.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    refused: list[str] = []
    insert = ledger._recorder.insert_events

    def watched(*args: object, **kwargs: object) -> object:
        try:
            return insert(*args, **kwargs)  # type: ignore[arg-type]
        except Exception as error:
            refused.append(str(error))
            raise

    monkeypatch.setattr(ledger._recorder, "insert_events", watched)
    count = notification_count(ledger)
    consent(ledger, number, "fenced", give=False)
    assert len(refused) == 1
    assert notification_count(ledger) == count + 1
    assert ledger._recorder.unlogged_notification_ids() == []  # the refused try left nothing
    assert decided(ledger, number).consents == {PURPOSE: False}


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_key_revoked_and_followed_by_another_thread_while_a_command_decides_is_fenced(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """The fence is the directory's position before the decision, not at the insert: another
    thread of the same process that follows a revocation while this command signs cannot move
    it past the revocation. The command is decided again and signed by the other key."""
    url = store_url_for(kind)
    ledger, number = warmed(open_ledger, url)
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    other = open_ledger(url, keystore=ledger.keystore)
    ledger.refresh()
    first = ledger.signer_for("org-a")  # the newest key: the one the command will sign with
    revoked: list[str] = []

    def revoke_and_follow() -> list[object]:
        if not revoked:  # the first attempt only, after it signed with ``first``
            other.revoke_key(
                "city", for_org="org-a", key_id=first.key_id, reason="lost", idempotency_key="lost"
            )
            ledger._directory.refresh()  # another thread of this process follows it
            revoked.append(first.key_id)
        return []

    def decide(ctx: Context) -> dict[str, object]:
        ctx.emit(
            "ConsentWithdrawn",
            volunteer_aggregate_id(number),
            {"number": number, "purpose": PURPOSE},
        )
        return {}

    result = ledger._writer.run(
        org="org-a",
        signer=lambda: ledger.signer_for("org-a"),
        idempotency_key="raced-revocation",
        command="bench",
        params={},
        decide=decide,
        result_type=NoValue,
        side_rows=revoke_and_follow,
    )
    (ref,) = result.events
    stored = ledger.event(ref.aggregate_id, ref.version)
    assert revoked == [first.key_id]
    assert stored.key_id != first.key_id
    report = audit(StoreSource(ledger), trust=ledger.trust_anchors(), progress=False)
    assert report.findings == [], report.findings


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_refusal_on_a_stale_directory_is_decided_again_after_a_refresh(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """A service field added by another process is unknown to this one's directory, which a
    command does not refresh first: the refusal makes it refresh, and the command, decided
    again, is stored. A refusal that stands after the refresh is raised, and stores nothing."""
    url = store_url_for(kind)
    ledger, _ = warmed(open_ledger, url)
    other = open_ledger(url, keystore=ledger.keystore)
    other.add_service_field("city", field="river-cleaning", idempotency_key="river")
    assert "river-cleaning" not in ledger._directory.reference.service_fields

    def publish(field: str, key: str) -> str:
        return ledger.publish_activity(
            "org-a",
            title="River clean-up",
            field=field,
            place="East bank",
            starts_at=datetime(2026, 5, 2, 9, tzinfo=UTC),
            ends_at=datetime(2026, 5, 2, 12, tzinfo=UTC),
            leader="team-lead",
            content="litter picking",
            idempotency_key=key,
        ).value.activity_id

    activity = publish("river-cleaning", "river-activity")
    assert ledger.activity(activity)["field"] == "river-cleaning"
    count = notification_count(ledger)
    with pytest.raises(RuleViolationError, match="unknown service field"):
        publish("no-such-field", "bad-activity")
    assert notification_count(ledger) == count


@pytest.mark.usefixtures("short_interval")
def test_a_snapshot_that_cannot_be_written_does_not_fail_the_stored_command(
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger, number = warmed(open_ledger, store_url_for("sqlite"))
    key = str(volunteer_aggregate_id(number))
    ledger._recorder.side_delete(SNAPSHOTS, key)
    ledger._writer.cache.take(volunteer_aggregate_id(number))  # rebuilt: due for a snapshot
    attempts: list[str] = []

    def broken(*args: object) -> None:
        attempts.append(str(args[1]))
        raise OSError("disk full")

    monkeypatch.setattr(ledger._recorder, "side_put", broken)
    count = notification_count(ledger)
    consent(ledger, number, "c-4", give=False)
    assert attempts == [key]
    assert notification_count(ledger) == count + 1
    assert ledger._recorder.side_get(SNAPSHOTS, key) is None
