"""A third party holding a stored event's JSON, its signature and the organisation's public key
verifies it with an independent RFC 8785 library and an Ed25519 library, and no code of this
project: signature = Ed25519(key, b"service-hour-ledger/event/v1\\n" + JCS(body))."""

from __future__ import annotations

import base64
import hashlib
import json

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import Ledger

City = tuple[Ledger, dict[str, str]]
PREFIX = b"service-hour-ledger/event/v1\n"


def published_keys(envelopes: list[dict]) -> dict[str, str]:  # type: ignore[type-arg]
    """key id -> base64 public key, read from the ledger's own key events as plain JSON."""
    keys: dict[str, str] = {}
    for envelope in envelopes:
        body = envelope["body"]
        if body["type"] == "LedgerCreated":
            raw = base64.b64decode(body["data"]["root_key"], validate=True)
            keys[hashlib.sha256(raw).digest()[:16].hex()] = body["data"]["root_key"]
        elif body["type"] == "KeyRegistered":
            keys[body["data"]["key_id"]] = body["data"]["public_key"]
    return keys


def third_party_verify(envelope: dict, public_key_b64: str) -> bool:  # type: ignore[type-arg]
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    try:
        public.verify(
            base64.b64decode(envelope["signature"], validate=True),
            PREFIX + rfc8785.dumps(envelope["body"]),
        )
    except InvalidSignature:
        return False
    return True


def exported(ledger: Ledger) -> list[dict]:  # type: ignore[type-arg]
    """What an outsider receives: each stored event's JSON (signature in standard base64)."""
    return [
        json.loads(json.dumps(ledger.event_at(i).to_json(), ensure_ascii=False))
        for i in range(ledger.log_size())
    ]


def test_every_stored_event_verifies_with_rfc8785_and_cryptography_alone(city: City) -> None:
    ledger, info = city
    number = info["number"]
    ledger.give_consent("org-a", number=number, purpose="certificate-name", idempotency_key="c")
    transfer = ledger.request_transfer("org-a", number=number, to_org="org-b", idempotency_key="t")
    ledger.accept_transfer(
        "org-b", number=number, transfer_id=transfer.value.transfer_id, idempotency_key="a"
    )
    envelopes = exported(ledger)
    keys = published_keys(envelopes)
    assert len(envelopes) == ledger.log_size() >= 9
    for envelope in envelopes:
        key = keys[envelope["body"]["key_id"]]
        assert third_party_verify(envelope, key), envelope["body"]["type"]


def test_the_stored_bytes_are_what_an_outsider_recomputes(city: City) -> None:
    ledger, _ = city
    for leaf in range(ledger.log_size()):
        event = ledger.event_at(leaf)
        raw = json.loads(event.envelope)
        assert set(raw) == {"body", "signature", "recorded_at"}
        # The stored envelope is itself JCS, and its leaf hash is RFC 6962's.
        assert rfc8785.dumps(raw) == event.envelope
        assert event.leaf_hash == hashlib.sha256(b"\x00" + event.envelope).digest()
        assert rfc8785.dumps(raw["body"]) == event.body_bytes


def test_a_third_party_rejects_a_changed_body_or_the_wrong_key(city: City) -> None:
    ledger, info = city
    envelopes = exported(ledger)
    keys = published_keys(envelopes)
    registration = envelopes[-1]
    assert registration["body"]["data"]["number"] == info["number"]
    key = keys[registration["body"]["key_id"]]
    assert third_party_verify(registration, key)

    changed = json.loads(json.dumps(registration))
    changed["body"]["data"]["number"] = "VAAAAAAAAAAAAA"
    assert not third_party_verify(changed, key)

    moved = json.loads(json.dumps(registration))
    moved["body"]["aggregate_version"] = 2
    assert not third_party_verify(moved, key)

    other_key = next(k for kid, k in keys.items() if kid != registration["body"]["key_id"])
    assert not third_party_verify(registration, other_key)


def test_the_public_key_in_a_key_event_has_the_key_id_it_claims(city: City) -> None:
    ledger, _ = city
    for envelope in exported(ledger):
        if envelope["body"]["type"] == "KeyRegistered":
            data = envelope["body"]["data"]
            raw = base64.b64decode(data["public_key"], validate=True)
            assert len(raw) == 32
            assert hashlib.sha256(raw).digest()[:16].hex() == data["key_id"]
