"""A stored event whose bytes were altered raises a precise error naming it, never a wrong value."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from core_support import (
    SQL_STORES,
    create_city,
    key_of,
    outside_body,
    tamper_sql,
    tamper_state,
    volunteer_aggregate_id,
)
from eventsourcing.persistence import IntegrityError
from ledger_testing import insert_behind

from ledger import Ledger, LedgerError, SigningKey, TamperedEventError, canonical_json
from ledger.canonical import parse_json

City = tuple[Ledger, dict[str, str]]


def last_event(ledger: Ledger):  # type: ignore[no-untyped-def]
    return ledger.event_at(ledger.log_size() - 1)


def flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


def assert_read_fails_naming(ledger: Ledger, number: str, leaf: int, aggregate: str) -> None:
    with pytest.raises(TamperedEventError) as caught:
        ledger.events(volunteer_aggregate_id(number))
    assert aggregate in str(caught.value)
    assert "v1" in str(caught.value)
    with pytest.raises(TamperedEventError, match=aggregate):
        ledger.event_at(leaf)
    with pytest.raises(TamperedEventError, match=aggregate):
        ledger.volunteer(number)


def test_one_changed_byte_in_a_stored_event_is_detected_and_named(city: City) -> None:
    ledger, info = city
    event = last_event(ledger)
    assert event.type == "VolunteerRegistered"
    assert event.notification_id is not None and event.leaf_index is not None
    # Change one character of the volunteer number inside the signed body.
    offset = event.envelope.index(info["number"].encode()) + 3
    tamper_state(ledger, event.notification_id, flip(event.envelope, offset))
    assert_read_fails_naming(ledger, info["number"], event.leaf_index, str(event.originator_id))


def test_a_changed_recorded_at_is_detected_by_the_leaf_hash(city: City) -> None:
    ledger, info = city
    event = last_event(ledger)
    assert event.notification_id is not None and event.leaf_index is not None
    # recorded_at is outside the organisation's signature: only the log can catch this.
    envelope = parse_json(event.envelope)
    year = int(envelope["recorded_at"][:4])
    envelope["recorded_at"] = str(year - 1) + envelope["recorded_at"][4:]
    altered = canonical_json(envelope)
    assert len(altered) == len(event.envelope) and altered != event.envelope
    tamper_state(ledger, event.notification_id, altered)
    with pytest.raises(TamperedEventError, match="leaf hash") as caught:
        ledger.events(volunteer_aggregate_id(info["number"]))
    assert str(event.originator_id) in str(caught.value)
    with pytest.raises(TamperedEventError, match="leaf hash"):
        ledger.event_at(event.leaf_index)


def test_changing_the_signature_bytes_is_detected(city: City) -> None:
    ledger, info = city
    event = last_event(ledger)
    assert event.notification_id is not None and event.leaf_index is not None
    offset = event.envelope.index(b'"signature":"') + len(b'"signature":"') + 5
    tamper_state(ledger, event.notification_id, flip(event.envelope, offset))
    assert_read_fails_naming(ledger, info["number"], event.leaf_index, str(event.originator_id))


def test_the_other_events_still_read_back_after_one_is_tampered(city: City) -> None:
    ledger, info = city
    other = ledger.register_volunteer("org-b", idempotency_key="v2").value.number
    event = ledger.events(volunteer_aggregate_id(info["number"]))[0]
    assert event.notification_id is not None
    tamper_state(ledger, event.notification_id, flip(event.envelope, 40))
    assert ledger.volunteer(other)["registered_by"] == "org-b"
    with pytest.raises(TamperedEventError):
        ledger.volunteer(info["number"])


@pytest.mark.parametrize("kind", SQL_STORES)
def test_rewriting_the_leaf_hash_too_is_still_caught_by_the_signature(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    number = create_city(ledger)["number"]
    event = last_event(ledger)
    assert event.notification_id is not None
    altered = flip(event.envelope, event.envelope.index(number.encode()) + 5)
    tamper_state(ledger, event.notification_id, altered)
    tamper_sql(
        ledger,
        "UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=0 AND idx=%s",
        (hashlib.sha256(b"\x00" + altered).digest(), event.leaf_index),
    )
    with pytest.raises(TamperedEventError, match=str(event.originator_id)) as caught:
        ledger.events(volunteer_aggregate_id(number))
    assert "leaf hash" not in str(caught.value)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_an_event_removed_from_the_log_is_detected(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    number = create_city(ledger)["number"]
    event = last_event(ledger)
    tamper_sql(
        ledger, "DELETE FROM {schema}.ledger_log_leaves WHERE leaf_index=%s", (event.leaf_index,)
    )
    with pytest.raises(TamperedEventError, match="no leaf"):
        ledger.events(volunteer_aggregate_id(number))


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_tampered_key_event_is_detected_by_a_fresh_reader(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    ledger = open_ledger(url)
    number = create_city(ledger)["number"]
    key_event = next(
        ledger.event_at(i)
        for i in range(ledger.log_size())
        if ledger.event_at(i).type == "KeyRegistered"
    )
    assert key_event.notification_id is not None
    # Swap in another public key: whoever holds its private half could then sign as org-a.
    envelope = parse_json(key_event.envelope)
    key = envelope["body"]["data"]["public_key"]
    envelope["body"]["data"]["public_key"] = ("B" if key[0] != "B" else "C") + key[1:]
    tamper_state(ledger, key_event.notification_id, canonical_json(envelope))
    reader = open_ledger(url)
    with pytest.raises(TamperedEventError, match=str(key_event.originator_id)):
        reader.volunteer(number)


def forge(ledger: Ledger, number: str, org: str, key: SigningKey) -> bool:
    """Append a correctly formed and logged event straight through the recorder, bypassing the
    writer's checks, as someone with write access to the database could. False if refused."""
    body = outside_body(
        ledger,
        event_type="ConsentGiven",
        org=org,
        key=key,
        aggregate_id=volunteer_aggregate_id(number),
        data={"number": number, "purpose": "certificate-name"},
        idempotency_key="forged",
    )
    size = ledger.log_size()
    try:
        insert_behind(ledger, body, key)
    except (LedgerError, IntegrityError):
        assert ledger.log_size() == size
        return False
    return True


def assert_never_read_as_verified(ledger: Ledger, number: str) -> None:
    with pytest.raises(TamperedEventError, match=str(volunteer_aggregate_id(number))):
        ledger.events(volunteer_aggregate_id(number))
    with pytest.raises(TamperedEventError):
        ledger.event_at(ledger.log_size() - 1)


def test_an_event_slipped_in_with_another_organisations_key_is_refused_on_read(
    city: City,
) -> None:
    ledger, info = city
    if forge(ledger, info["number"], "org-a", key_of(ledger, "org-b")):
        assert_never_read_as_verified(ledger, info["number"])


def test_an_event_slipped_in_with_a_key_revoked_before_is_refused_on_read(city: City) -> None:
    ledger, info = city
    stolen = key_of(ledger, "org-a")
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    ledger.revoke_key(
        "city", for_org="org-a", key_id=stolen.key_id, reason="stolen", idempotency_key="rv"
    )
    if forge(ledger, info["number"], "org-a", stolen):
        assert_never_read_as_verified(ledger, info["number"])


def test_an_event_slipped_in_with_an_unregistered_key_is_refused_on_read(city: City) -> None:
    ledger, info = city
    if forge(ledger, info["number"], "org-a", SigningKey.generate()):
        assert_never_read_as_verified(ledger, info["number"])
