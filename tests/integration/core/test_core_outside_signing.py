"""An organisation signs a body itself and submits it: the ledger verifies it and stores exactly
what was signed, or refuses it and stores nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from core_support import SHAPE_ONLY, key_of, new_time, outside_body, refused, sign_outside

from ledger import (
    IdempotencyConflictError,
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    RuleViolationError,
    SignatureError,
    SigningKey,
    canonical_json,
)
from ledger.envelope import parse_signed_body
from ledger.model.ids import organisation_aggregate_id, volunteer_aggregate_id
from ledger.signing import b64encode

City = tuple[Ledger, dict[str, str]]


@pytest.fixture
def city(city: City) -> City:
    """The shared city, where org-a (the volunteer's home) agreed that org-b may admit the
    volunteer and record their consent: the volunteer's aggregate is at version 3."""
    ledger, info = city
    asked = ledger.request_agreement(
        "org-b", number=info["number"], rights=["membership", "consent"], idempotency_key="ask"
    )
    ledger.grant_agreement(
        "org-a",
        number=info["number"],
        agreement_id=asked.value.agreement_id,
        idempotency_key="grant",
    )
    return city


def join_body(ledger: Ledger, number: str, org: str = "org-b", **kw: Any) -> dict[str, Any]:
    key = kw.pop("key", None) or key_of(ledger, org)
    return outside_body(
        ledger,
        event_type="MembershipJoined",
        org=org,
        key=key,
        aggregate_id=volunteer_aggregate_id(number),
        data={"number": number, "org_id": org},
        idempotency_key=kw.pop("idempotency_key", "outside-join"),
        **kw,
    )


def test_a_body_signed_outside_is_stored_exactly_as_signed(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    signature = sign_outside(body, key)
    result = ledger._writer.submit([(body, signature)])
    assert not result.replayed
    ref = result.events[0]
    assert (ref.type, ref.version) == ("MembershipJoined", 4)
    stored = ledger.event(ref.aggregate_id, ref.version)
    assert stored.body == body
    assert stored.body_bytes == canonical_json(body)
    assert stored.signature == signature
    assert canonical_json(body) in stored.envelope
    assert ledger.event_at(ref.leaf_index).envelope == stored.envelope
    assert ledger.volunteer(info["number"])["members_of"] == ["org-a", "org-b"]


def test_canonical_text_parsed_with_parse_signed_body_is_accepted(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    text = canonical_json(body).decode("utf-8")
    parsed, signature = parse_signed_body(text, b64encode(sign_outside(body, key)))
    result = ledger._writer.submit([(parsed, signature)])
    assert ledger.event(result.events[0].aggregate_id, 4).body_bytes == text.encode()


@SHAPE_ONLY
def test_a_non_canonical_body_text_is_refused(city: City) -> None:
    ledger, info = city
    import json

    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    signature = b64encode(sign_outside(body, key))
    size = ledger.log_size()
    for text in (json.dumps(body), json.dumps(body, sort_keys=True, indent=1)):
        with pytest.raises(InvalidInputError, match="canonical"):
            parse_signed_body(text, signature)
    assert ledger.log_size() == size


def test_a_tampered_signature_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    signature = bytearray(sign_outside(body, key))
    signature[10] ^= 0x01
    with refused(ledger, SignatureError, match="MembershipJoined"):
        ledger._writer.submit([(body, bytes(signature))])


def test_a_body_changed_after_signing_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    signature = sign_outside(body, key)
    body["occurred_at"] = new_time(ledger, -60)
    with refused(ledger, SignatureError):
        ledger._writer.submit([(body, signature)])


def test_a_signature_without_the_domain_prefix_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    with refused(ledger, SignatureError):
        ledger._writer.submit([(body, key.sign(canonical_json(body)))])


def test_a_body_signed_with_another_organisations_key_is_refused(city: City) -> None:
    ledger, info = city
    wrong = key_of(ledger, "org-a")
    body = join_body(ledger, info["number"], org="org-b", key=wrong)
    with refused(ledger, KeyNotAuthorisedError, match="belongs to 'org-a'"):
        ledger._writer.submit([(body, sign_outside(body, wrong))])


def test_a_body_signed_with_an_unregistered_key_is_refused(city: City) -> None:
    ledger, info = city
    stranger = SigningKey.generate()
    body = join_body(ledger, info["number"], key=stranger)
    with refused(ledger, KeyNotAuthorisedError, match="not registered"):
        ledger._writer.submit([(body, sign_outside(body, stranger))])


def test_a_body_signed_with_a_revoked_key_is_refused(city: City) -> None:
    ledger, info = city
    old = key_of(ledger, "org-b")
    ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2")
    ledger.revoke_key("city", for_org="org-b", key_id=old.key_id, reason="r", idempotency_key="r")
    body = join_body(ledger, info["number"], key=old)
    with refused(ledger, KeyNotAuthorisedError, match="revoked"):
        ledger._writer.submit([(body, sign_outside(body, old))])


def test_a_body_claiming_a_stale_version_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key, version=1)
    with refused(ledger, InvalidInputError, match="version 4"):
        ledger._writer.submit([(body, sign_outside(body, key))])


def test_a_body_that_breaks_a_domain_rule_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-a")
    body = join_body(ledger, info["number"], org="org-a", key=key)  # already a member
    with refused(ledger, RuleViolationError, match="already a member"):
        ledger._writer.submit([(body, sign_outside(body, key))])


def test_a_body_for_the_wrong_aggregate_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    other = ledger.register_volunteer("org-b", idempotency_key="v2").value.number
    body = join_body(ledger, info["number"], key=key)
    body["aggregate_id"] = str(volunteer_aggregate_id(other))
    with refused(ledger, RuleViolationError, match="aggregate"):
        ledger._writer.submit([(body, sign_outside(body, key))])


def test_a_registration_signed_by_a_non_parent_is_refused(city: City) -> None:
    ledger, _ = city
    key = key_of(ledger, "org-b")
    body = outside_body(
        ledger,
        event_type="OrganisationRegistered",
        org="org-b",
        key=key,
        aggregate_id=organisation_aggregate_id("team-x"),
        data={"org_id": "team-x", "name": "X", "kind": "team", "region": "1404", "parent": "org-a"},
        idempotency_key="team-x",
    )
    with refused(ledger, KeyNotAuthorisedError, match="only the parent"):
        ledger._writer.submit([(body, sign_outside(body, key))])


def test_a_key_registration_whose_key_id_is_not_its_keys_is_refused(city: City) -> None:
    ledger, _ = city
    signer = key_of(ledger, "city")
    new = SigningKey.generate()
    body = outside_body(
        ledger,
        event_type="KeyRegistered",
        org="city",
        key=signer,
        aggregate_id=organisation_aggregate_id("org-a"),
        data={
            "org_id": "org-a",
            "key_id": SigningKey.generate().key_id,
            "public_key": new.public_key.to_base64(),
            "purpose": "signing",
        },
        idempotency_key="mismatch",
    )
    with refused(ledger, InvalidInputError, match="not the id of that public key"):
        ledger._writer.submit([(body, sign_outside(body, signer))])


def test_a_body_that_leaves_a_default_field_implicit_is_refused(city: City) -> None:
    ledger, _ = city
    signer = key_of(ledger, "city")
    new = SigningKey.generate()
    body = outside_body(
        ledger,
        event_type="KeyRegistered",
        org="city",
        key=signer,
        aggregate_id=organisation_aggregate_id("org-a"),
        data={"org_id": "org-a", "key_id": new.key_id, "public_key": new.public_key.to_base64()},
        idempotency_key="implicit",
    )
    with refused(ledger, InvalidInputError, match="explicitly"):
        ledger._writer.submit([(body, sign_outside(body, signer))])


@SHAPE_ONLY
def test_a_body_of_an_unknown_event_type_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    body["type"] = "HoursInvented"
    with refused(ledger, InvalidInputError, match="HoursInvented"):
        ledger._writer.submit([(body, sign_outside(body, key))])


@SHAPE_ONLY
def test_a_body_from_the_future_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    later = ledger.clock() + timedelta(minutes=10)
    from ledger.envelope import format_time

    body = join_body(ledger, info["number"], key=key, occurred_at=format_time(later))
    with refused(ledger, InvalidInputError, match="future"):
        ledger._writer.submit([(body, sign_outside(body, key))])


@SHAPE_ONLY
def test_a_signed_body_with_a_wrong_typed_field_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    wrong = [("aggregate_version", "2"), ("data", [1]), ("idempotency_key", "has space")]
    for field, value in [*wrong, ("org", "B"), ("key_id", key.key_id.upper())]:
        body = join_body(ledger, info["number"], key=key)
        body[field] = value
        with refused(ledger, InvalidInputError, match=field):
            ledger._writer.submit([(body, sign_outside(body, key))])


@SHAPE_ONLY
def test_a_signed_body_with_a_float_is_refused(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    body["data"]["weight"] = 1.5
    with refused(ledger, InvalidInputError, match="float"):
        ledger._writer.submit([(body, b"\x00" * 64)])


@SHAPE_ONLY
def test_a_submitted_body_missing_a_field_is_invalid_input_not_a_crash(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    for missing in ["org", "idempotency_key", "occurred_at", "type", "data"]:
        body = join_body(ledger, info["number"], key=key)
        signature = sign_outside(body, key)
        del body[missing]
        with refused(ledger, InvalidInputError, match=missing):
            ledger._writer.submit([(body, signature)])


@SHAPE_ONLY
def test_a_submitted_body_that_is_not_an_object_is_invalid_input(city: City) -> None:
    ledger, _ = city
    with refused(ledger, InvalidInputError):
        ledger._writer.submit([(["not", "a", "body"], b"\x00" * 64)])  # type: ignore[list-item]


@SHAPE_ONLY
def test_an_empty_submission_is_refused(city: City) -> None:
    ledger, _ = city
    with refused(ledger, InvalidInputError, match="at least one"):
        ledger._writer.submit([])


def test_a_batch_is_stored_all_or_nothing(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    number = info["number"]
    aggregate = volunteer_aggregate_id(number)
    good = join_body(ledger, number, key=key, idempotency_key="batch")
    consent = outside_body(
        ledger,
        event_type="ConsentGiven",
        org="org-b",
        key=key,
        aggregate_id=aggregate,
        data={"number": number, "purpose": "certificate-name"},
        idempotency_key="batch",
        version=5,
    )
    bad = dict(consent, data={"number": number, "purpose": "Not Valid"})
    with refused(ledger, InvalidInputError):
        ledger._writer.submit([(good, sign_outside(good, key)), (bad, sign_outside(bad, key))])
    result = ledger._writer.submit(
        [(good, sign_outside(good, key)), (consent, sign_outside(consent, key))]
    )
    assert [e.version for e in result.events] == [4, 5]
    assert [e.leaf_index for e in result.events] == [
        result.events[0].leaf_index,
        result.events[0].leaf_index + 1,
    ]


def test_events_submitted_together_share_one_org_and_idempotency_key(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    one = join_body(ledger, info["number"], key=key, idempotency_key="k1")
    two = dict(one, idempotency_key="k2", aggregate_version=5)
    with refused(ledger, InvalidInputError, match="share"):
        ledger._writer.submit([(one, sign_outside(one, key)), (two, sign_outside(two, key))])


def test_resubmitting_the_same_signed_body_is_an_idempotent_retry(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    signature = sign_outside(body, key)
    first = ledger._writer.submit([(body, signature)])
    size = ledger.log_size()
    again = ledger._writer.submit([(body, signature)])
    assert again.replayed and again.events == first.events
    assert ledger.log_size() == size


def test_another_body_under_a_used_idempotency_key_is_a_conflict(city: City) -> None:
    ledger, info = city
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key)
    ledger._writer.submit([(body, sign_outside(body, key))])
    other = dict(body, occurred_at=new_time(ledger, -30))
    with refused(ledger, IdempotencyConflictError):
        ledger._writer.submit([(other, sign_outside(other, key))])


def test_an_api_command_and_an_outside_body_go_through_the_same_rules(city: City) -> None:
    ledger, info = city
    ledger.join("org-b", number=info["number"], idempotency_key="api-join")
    key = key_of(ledger, "org-b")
    body = join_body(ledger, info["number"], key=key, idempotency_key="outside")
    with refused(ledger, RuleViolationError, match="already a member"):
        ledger._writer.submit([(body, sign_outside(body, key))])


def test_a_signed_body_over_the_size_limit_is_refused_and_stores_nothing(city: City) -> None:
    """Signed correctly by the organisation's own key, a body beyond the limit is refused
    before anything is verified or stored, as the ledger's own bodies are."""
    ledger, info = city
    body = join_body(ledger, info["number"])
    body["data"]["padding"] = "x" * (64 * 1024)
    with refused(ledger, InvalidInputError, match="the limit is"):
        ledger._writer.submit([(body, sign_outside(body, key_of(ledger, "org-b")))])
