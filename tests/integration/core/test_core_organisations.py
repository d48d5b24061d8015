"""The root, the organisation tree and its keys, on every kind of store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from core_support import (
    SHAPE_ONLY,
    key_of,
    notification_count,
    organisation_aggregate_id,
    refused,
    volunteer_aggregate_id,
)

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    LedgerError,
    NotFoundError,
    RuleViolationError,
    SigningKey,
    StorageError,
    VerifyingKey,
)

City = tuple[Ledger, dict[str, str]]


def register_team(ledger: Ledger, parent: str = "org-a", org_id: str = "team-1", **kw: object):
    return ledger.register_organisation(
        parent,
        org_id=org_id,
        name=f"Team {org_id}",
        kind="team",
        region="14040201",
        idempotency_key=f"register-{org_id}",
        **kw,  # type: ignore[arg-type]
    )


# creating the ledger


def test_create_stores_one_genesis_event_signed_by_the_root_key(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url)
    root_key = SigningKey.generate()
    anchors = ledger.create(
        name="Changzhi volunteer ledger",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.example/log",
        root_key=root_key,
    )
    assert ledger.log_size() == 1
    genesis = ledger.event_at(0)
    assert genesis.type == "LedgerCreated"
    assert genesis.org == "city"
    assert genesis.key_id == root_key.key_id
    assert anchors["root_key"] == root_key.public_key.to_base64()
    assert anchors["root_key_id"] == root_key.key_id
    assert anchors["root_org"] == "city"
    assert len(anchors["log_keys"]) == 1
    assert root_key.key_id not in anchors["log_keys"]
    assert ledger.keystore.get("city", root_key.key_id) is root_key
    assert ledger.organisation("city")["kind"] == "federation"
    assert ledger.organisation("city")["parent"] is None


def test_a_ledger_is_created_only_once(city: City) -> None:
    ledger, _ = city
    with refused(ledger, RuleViolationError, match="created once"):
        ledger.create(
            name="Again", root_org_id="city", root_name="City", region="140400", origin="x/log"
        )


def test_a_second_root_under_another_name_is_refused(city: City) -> None:
    ledger, _ = city
    with refused(ledger, RuleViolationError, match="created once"):
        ledger.create(
            name="Rival", root_org_id="rival", root_name="Rival", region="140400", origin="x/log"
        )


def test_the_log_key_must_differ_from_the_root_key(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url)
    key = SigningKey.generate()
    with refused(ledger, RuleViolationError, match="log key"):
        ledger.create(
            name="L",
            root_org_id="city",
            root_name="C",
            region="1404",
            origin="o",
            root_key=key,
            log_key=key,
        )


def test_commands_on_a_store_without_a_ledger_say_to_create_it_first(
    store_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url)
    with refused(ledger, StorageError, match="ledger init"):
        ledger.register_organisation(
            "city",
            org_id="org-a",
            name="A",
            kind="organisation",
            region="1404",
            idempotency_key="a",
        )


# registering organisations


def test_a_parent_registers_an_organisation_under_it(city: City) -> None:
    ledger, _ = city
    size = ledger.log_size()
    result = register_team(ledger)
    assert not result.replayed
    assert [e.type for e in result.events] == ["OrganisationRegistered"]
    assert result.events[0].leaf_index == size
    assert result.events[0].aggregate_id == str(organisation_aggregate_id("team-1"))
    team = ledger.organisation("team-1")
    assert (team["parent"], team["kind"], team["region"]) == ("org-a", "team", "14040201")
    assert team["keys"] == {}
    event = ledger.event(result.events[0].aggregate_id, 1)
    assert event.org == "org-a"
    assert event.key_id == key_of(ledger, "org-a").key_id


def test_an_organisation_signed_for_by_a_non_parent_is_refused(city: City) -> None:
    ledger, _ = city
    # org-b tries to put a team under org-a by signing org-a's registration with its own key.
    with refused(ledger, KeyNotAuthorisedError, match="org-b"):
        register_team(ledger, parent="org-a", signer=key_of(ledger, "org-b"))


def test_an_organisation_under_an_unknown_parent_is_not_found(city: City) -> None:
    ledger, _ = city
    with refused(ledger, NotFoundError, match="nowhere"):
        register_team(ledger, parent="nowhere", signer=key_of(ledger, "city"))


def test_an_organisation_under_an_unknown_parent_is_not_found_without_a_signer(
    city: City,
) -> None:
    ledger, _ = city
    with refused(ledger, NotFoundError, match="nowhere"):
        register_team(ledger, parent="nowhere")


def test_registering_the_same_organisation_twice_is_refused(city: City) -> None:
    ledger, _ = city
    with refused(ledger, RuleViolationError, match="already registered"):
        ledger.register_organisation(
            "city",
            org_id="org-a",
            name="Organisation A again",
            kind="organisation",
            region="140402",
            idempotency_key="org-a-again",
        )


def test_a_second_federation_is_refused(city: City) -> None:
    ledger, _ = city
    with refused(ledger, RuleViolationError, match="federation"):
        ledger.register_organisation(
            "city",
            org_id="fed-2",
            name="F",
            kind="federation",
            region="1404",
            idempotency_key="fed-2",
        )


def test_a_station_cannot_have_organisations_under_it(city: City) -> None:
    ledger, _ = city
    ledger.register_organisation(
        "org-a",
        org_id="station-1",
        name="Station",
        kind="station",
        region="1404",
        idempotency_key="station-1",
    )
    ledger.new_key("org-a", for_org="station-1", idempotency_key="station-1-key")
    with refused(ledger, RuleViolationError, match="station"):
        register_team(ledger, parent="station-1")


MALFORMED_ORGANISATION_FIELDS = [
    ("org_id", "Team One"),
    ("org_id", "t"),
    ("org_id", 17),
    ("name", ""),
    ("name", "x" * 201),
    ("name", 5),
    ("kind", "galaxy"),
    ("region", "14-04"),
    ("region", 140400),
]


@SHAPE_ONLY
def test_malformed_organisation_fields_are_refused(city: City) -> None:
    ledger, _ = city
    for field, value in MALFORMED_ORGANISATION_FIELDS:
        fields: dict[str, object] = {
            "org_id": "team-1",
            "name": "Team",
            "kind": "team",
            "region": "1404",
        }
        fields[field] = value
        with refused(ledger, InvalidInputError, match=field):
            ledger.register_organisation("org-a", idempotency_key="bad-org", **fields)  # type: ignore[arg-type]


def test_an_unknown_organisation_reads_as_not_found(city: City) -> None:
    ledger, _ = city
    with pytest.raises(NotFoundError, match="nowhere"):
        ledger.organisation("nowhere")


# keys


def test_the_parent_registers_a_key_for_its_organisation(city: City) -> None:
    ledger, _ = city
    register_team(ledger)
    key = SigningKey.generate()
    result = ledger.register_key(
        "org-a", for_org="team-1", public_key=key.public_key, idempotency_key="team-key"
    )
    assert [e.type for e in result.events] == ["KeyRegistered"]
    assert ledger.organisation("team-1")["keys"] == {
        key.key_id: {"purpose": "signing", "revoked": False}
    }
    event = ledger.event(result.events[0].aggregate_id, result.events[0].version)
    assert event.data["public_key"] == key.public_key.to_base64()
    assert event.data["key_id"] == key.key_id
    # The new key signs for its organisation at once.
    ledger.register_organisation(
        "team-1",
        org_id="station-9",
        name="S",
        kind="station",
        region="1404",
        idempotency_key="s9",
        signer=key,
    )


def test_an_organisation_rotates_by_registering_its_own_next_key(city: City) -> None:
    ledger, _ = city
    old = key_of(ledger, "org-a")
    new = SigningKey.generate()
    ledger.register_key("org-a", for_org="org-a", public_key=new.public_key, idempotency_key="rot")
    ledger.keystore.add("org-a", new)
    ledger.revoke_key(
        "org-a",
        for_org="org-a",
        key_id=old.key_id,
        reason="rotation",
        idempotency_key="rot-2",
        signer=new,
    )
    keys = ledger.organisation("org-a")["keys"]
    assert keys[old.key_id]["revoked"] is True
    assert keys[new.key_id]["revoked"] is False
    assert key_of(ledger, "org-a").key_id == new.key_id


def test_a_stranger_cannot_register_a_key_for_an_organisation(city: City) -> None:
    ledger, _ = city
    key = SigningKey.generate()
    with refused(ledger, KeyNotAuthorisedError, match="parent"):
        ledger.register_key(
            "org-b", for_org="org-a", public_key=key.public_key, idempotency_key="stranger"
        )
    assert key.key_id not in ledger.organisation("org-a")["keys"]


def test_a_grandparent_cannot_register_a_key_for_a_grandchild(city: City) -> None:
    ledger, _ = city
    register_team(ledger)
    with refused(ledger, KeyNotAuthorisedError):
        ledger.register_key(
            "city",
            for_org="team-1",
            public_key=SigningKey.generate().public_key,
            idempotency_key="grand",
        )


def test_a_key_for_an_unknown_organisation_is_not_found(city: City) -> None:
    ledger, _ = city
    with refused(ledger, NotFoundError, match="nowhere"):
        ledger.register_key(
            "city",
            for_org="nowhere",
            public_key=SigningKey.generate().public_key,
            idempotency_key="nowhere-key",
        )


def test_a_key_is_never_registered_twice(city: City) -> None:
    ledger, _ = city
    existing = key_of(ledger, "org-a")
    with refused(ledger, RuleViolationError, match="already registered"):
        ledger.register_key(
            "city", for_org="org-b", public_key=existing.public_key, idempotency_key="dup-key"
        )


def test_malformed_public_keys_never_reach_the_ledger() -> None:
    with pytest.raises(InvalidInputError):
        VerifyingKey.from_base64("bm90IGEga2V5")
    with pytest.raises(InvalidInputError):
        VerifyingKey(b"\x00" * 16)


def test_a_revoked_key_signs_nothing_new(city: City) -> None:
    ledger, info = city
    old = key_of(ledger, "org-a")
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    ledger.revoke_key(
        "city",
        for_org="org-a",
        key_id=old.key_id,
        reason="laptop stolen",
        idempotency_key="revoke-1",
    )
    with refused(ledger, KeyNotAuthorisedError, match="revoked"):
        ledger.register_volunteer("org-a", idempotency_key="x", signer=old)
    with refused(ledger, KeyNotAuthorisedError, match="revoked"):
        ledger.give_consent(
            "org-a",
            number=info["number"],
            purpose="certificate-name",
            idempotency_key="c",
            signer=old,
        )
    with refused(ledger, KeyNotAuthorisedError, match="revoked"):
        register_team(ledger, signer=old)
    # The ledger picks the current key by itself.
    assert key_of(ledger, "org-a").key_id != old.key_id
    register_team(ledger)


def test_what_a_revoked_key_signed_before_still_reads_back_verified(
    city: City, open_ledger: Callable[..., Ledger]
) -> None:
    ledger, info = city
    old = key_of(ledger, "org-a")
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    ledger.revoke_key(
        "city", for_org="org-a", key_id=old.key_id, reason="rotation", idempotency_key="rv"
    )
    events = ledger.events(volunteer_aggregate_id(info["number"]))
    assert [e.type for e in events] == ["VolunteerRegistered"]
    assert events[0].key_id == old.key_id
    assert ledger.volunteer(info["number"])["registered_by"] == "org-a"
    if ledger.store.kind != "memory":
        # A fresh reader, following the key events from the start, agrees.
        reader = open_ledger(ledger.store.url)
        again = reader.events(volunteer_aggregate_id(info["number"]))
        assert again[0].envelope == events[0].envelope
        assert [reader.event_at(i).type for i in range(reader.log_size())] == [
            ledger.event_at(i).type for i in range(ledger.log_size())
        ]


def test_only_the_organisation_or_an_ancestor_revokes_its_keys(city: City) -> None:
    ledger, _ = city
    target = key_of(ledger, "org-a")
    with refused(ledger, KeyNotAuthorisedError, match="may not revoke"):
        ledger.revoke_key(
            "org-b",
            for_org="org-a",
            key_id=target.key_id,
            reason="hostile",
            idempotency_key="hostile",
        )


def test_revoking_an_unknown_or_foreign_or_revoked_key_is_refused(city: City) -> None:
    ledger, _ = city
    with refused(ledger, RuleViolationError, match="not a key"):
        ledger.revoke_key(
            "city", for_org="org-a", key_id="0" * 32, reason="r", idempotency_key="r1"
        )
    with refused(ledger, RuleViolationError, match="not a key"):
        ledger.revoke_key(
            "city",
            for_org="org-a",
            key_id=key_of(ledger, "org-b").key_id,
            reason="r",
            idempotency_key="r2",
        )
    target = key_of(ledger, "org-a")
    ledger.revoke_key(
        "city", for_org="org-a", key_id=target.key_id, reason="r", idempotency_key="r3"
    )
    with refused(ledger, RuleViolationError, match="already revoked"):
        ledger.revoke_key(
            "city", for_org="org-a", key_id=target.key_id, reason="r", idempotency_key="r4"
        )


def test_a_key_of_another_organisation_is_refused(city: City) -> None:
    ledger, info = city
    with refused(ledger, KeyNotAuthorisedError, match="belongs to 'org-b'"):
        ledger.give_consent(
            "org-a",
            number=info["number"],
            purpose="certificate-name",
            idempotency_key="c1",
            signer=key_of(ledger, "org-b"),
        )


def test_an_unregistered_key_is_refused(city: City) -> None:
    ledger, info = city
    with refused(ledger, KeyNotAuthorisedError, match="not registered"):
        ledger.give_consent(
            "org-a",
            number=info["number"],
            purpose="certificate-name",
            idempotency_key="c1",
            signer=SigningKey.generate(),
        )


def test_an_organisation_without_a_held_key_cannot_sign(city: City) -> None:
    ledger, _ = city
    register_team(ledger)
    with refused(ledger, KeyNotAuthorisedError, match="team-1"):
        ledger.register_organisation(
            "team-1",
            org_id="station-2",
            name="S",
            kind="station",
            region="1404",
            idempotency_key="s2",
        )


def test_future_occurred_at_beyond_the_clock_skew_is_refused(city: City) -> None:
    ledger, _ = city
    later = ledger.clock() + timedelta(minutes=6)
    with refused(ledger, InvalidInputError, match="future"):
        register_team(ledger, occurred_at=later)
    slightly = ledger.clock() + timedelta(minutes=4)
    register_team(ledger, occurred_at=slightly)


@SHAPE_ONLY
def test_bad_idempotency_keys_are_refused(city: City) -> None:
    ledger, _ = city
    for key in ["", "with space", "x" * 129, "ключ", "tab\t"]:
        with refused(ledger, InvalidInputError, match="idempotency key"):
            ledger.register_organisation(
                "org-a", org_id="team-1", name="T", kind="team", region="1404", idempotency_key=key
            )


def test_every_error_is_a_ledger_error_with_a_message(city: City) -> None:
    ledger, _ = city
    count = notification_count(ledger)
    with pytest.raises(LedgerError) as caught:
        register_team(ledger, parent="org-b", org_id="org-a")
    assert caught.value.message
    assert notification_count(ledger) == count


def test_reading_what_is_not_there_is_not_found(city: City) -> None:
    ledger, info = city
    size = ledger.log_size()
    for leaf in (size, size + 10, -1):
        with pytest.raises(NotFoundError, match="not in the log"):
            ledger.event_at(leaf)
    with pytest.raises(NotFoundError):
        ledger.event(volunteer_aggregate_id(info["number"]), 2)
    assert ledger.events(volunteer_aggregate_id("VAAAAAAAAAAAAA")) == []


@SHAPE_ONLY
def test_reading_by_a_malformed_aggregate_id_is_a_ledger_error(city: City) -> None:
    ledger, _ = city
    with pytest.raises(LedgerError, match="not-a-uuid"):
        ledger.event("not-a-uuid", 1)


def test_a_key_reads_with_its_leaves_and_who_acts_for_whom(city: City) -> None:
    ledger, _ = city
    key_id = ledger.new_key("city", for_org="org-a", idempotency_key="second-key").value.key_id
    found = ledger.key(key_id)
    assert (found["org"], found["purpose"], found["revoked_reason"]) == ("org-a", "signing", None)
    assert ledger.event_at(found["registered_at_leaf"]).type == "KeyRegistered"
    ledger.revoke_key("city", for_org="org-a", key_id=key_id, reason="lost", idempotency_key="r")
    revoked = ledger.key(key_id)
    assert revoked["revoked_reason"] == "lost"
    assert ledger.event_at(revoked["revoked_at_leaf"]).type == "KeyRevoked"
    with pytest.raises(NotFoundError, match="not registered"):
        ledger.key("0" * 32)
    assert ledger.acts_for("city", "org-a") and ledger.acts_for("org-a", "org-a")
    assert not ledger.acts_for("org-a", "city") and not ledger.acts_for("org-b", "org-a")


def test_an_organisation_revokes_its_newest_key_with_another_and_never_with_itself(
    city: City,
) -> None:
    """A key cannot sign its own revocation (every reader would refuse that event as
    tampered): the organisation's other key signs it, and the key itself is refused."""
    ledger, _ = city
    newest = ledger.new_key("city", for_org="org-a", idempotency_key="newest").value.key_id
    held = ledger.keystore.get("org-a", newest)
    assert held is not None
    size = ledger.log_size()
    with pytest.raises(KeyNotAuthorisedError, match="cannot sign its own revocation"):
        ledger.revoke_key(
            "org-a",
            for_org="org-a",
            key_id=newest,
            reason="lost",
            idempotency_key="self",
            signer=held,
        )
    assert ledger.log_size() == size
    result = ledger.revoke_key(
        "org-a", for_org="org-a", key_id=newest, reason="lost", idempotency_key="other"
    )
    event = ledger.event(result.events[0].aggregate_id, result.events[0].version)
    assert event.key_id != newest
    assert ledger.organisation("org-a")["keys"][newest]["revoked"]
