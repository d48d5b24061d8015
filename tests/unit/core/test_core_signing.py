"""Ed25519 keys, key ids, PEM files, and the documented signing input checked without the
project's code."""

from __future__ import annotations

import base64
import hashlib

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import (
    SIGNING_CONTEXT,
    InvalidInputError,
    SignatureError,
    Signer,
    SigningKey,
    VerifyingKey,
    canonical_json,
    signing_input,
)
from ledger.envelope import sign_body, verify_body
from ledger.signing import b64decode, b64encode, key_id_of

DOCUMENTED_CONTEXT = b"service-hour-ledger/event/v1\n"


def a_body() -> dict[str, object]:
    return {
        "type": "VolunteerRegistered",
        "org": "org-a",
        "key_id": "0" * 32,
        "aggregate_id": "7f1b82d6-5702-5a68-9a1c-575be388b735",
        "aggregate_version": 1,
        "occurred_at": "2026-03-05T09:30:00Z",
        "idempotency_key": "vol-1",
        "data": {"number": "V7PUTHQOL76UPK", "note": "社区服务 \U0001f600"},
    }


def test_signing_context_is_the_documented_29_bytes() -> None:
    assert SIGNING_CONTEXT == DOCUMENTED_CONTEXT
    assert len(SIGNING_CONTEXT) == 29
    assert signing_input(b"{}") == DOCUMENTED_CONTEXT + b"{}"


def test_a_third_party_verifies_a_signed_body_with_rfc8785_and_cryptography_only() -> None:
    key = SigningKey.generate()
    body = a_body()
    body_bytes, signature = sign_body(body, key)
    public_b64 = key.public_key.to_base64()

    # What an outside verifier does, with no code from this project:
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
    public.verify(signature, DOCUMENTED_CONTEXT + rfc8785.dumps(body))
    assert body_bytes == rfc8785.dumps(body)


def test_a_signature_over_the_body_without_the_context_does_not_verify() -> None:
    key = SigningKey.generate()
    body = a_body()
    wrong = key.sign(canonical_json(body))  # no domain separation
    with pytest.raises(SignatureError):
        verify_body(canonical_json(body), wrong, key.public_key)


def test_sign_and_verify_round_trip() -> None:
    key = SigningKey.generate()
    signature = key.sign(b"message")
    assert len(signature) == 64
    key.public_key.verify(signature, b"message")


def test_ed25519_signatures_are_deterministic() -> None:
    key = SigningKey.generate()
    assert key.sign(b"same") == key.sign(b"same")


def test_verify_refuses_another_message_another_key_and_a_short_signature() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    signature = key.sign(b"message")
    with pytest.raises(SignatureError, match=key.key_id):
        key.public_key.verify(signature, b"messagE")
    with pytest.raises(SignatureError):
        other.public_key.verify(signature, b"message")
    with pytest.raises(SignatureError, match="64 bytes"):
        key.public_key.verify(signature[:63], b"message")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(SignatureError):
        key.public_key.verify(flipped, b"message")


def test_key_id_is_the_first_16_bytes_of_sha256_of_the_raw_public_key_in_hex() -> None:
    key = SigningKey.generate()
    raw = key.public_key.raw
    assert key.key_id == hashlib.sha256(raw).digest()[:16].hex()
    assert key.key_id == key_id_of(raw)
    assert len(key.key_id) == 32


def test_private_seed_round_trip_gives_the_same_key() -> None:
    key = SigningKey.generate()
    again = SigningKey.from_private_bytes(key.private_bytes())
    assert again.key_id == key.key_id
    assert again.sign(b"x") == key.sign(b"x")


@pytest.mark.parametrize("seed", [b"", b"\x00" * 31, b"\x00" * 33])
def test_a_seed_that_is_not_32_bytes_is_refused(seed: bytes) -> None:
    with pytest.raises(InvalidInputError, match="32 bytes"):
        SigningKey.from_private_bytes(seed)


def test_verifying_key_base64_round_trip_and_equality() -> None:
    key = SigningKey.generate().public_key
    text = key.to_base64()
    assert base64.b64decode(text) == key.raw
    again = VerifyingKey.from_base64(text)
    assert again == key
    assert hash(again) == hash(key)
    assert again.key_id == key.key_id
    assert again != SigningKey.generate().public_key


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        "AAAA",  # 3 bytes
        base64.b64encode(b"\x01" * 31).decode(),
        base64.b64encode(b"\x01" * 33).decode(),
        base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),  # URL-safe alphabet
        base64.b64encode(b"\x01" * 32).decode().rstrip("="),  # missing padding
    ],
)
def test_malformed_public_keys_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        VerifyingKey.from_base64(text)


@pytest.mark.parametrize("raw", [b"", b"\x00" * 31, "x" * 32])
def test_verifying_key_needs_exactly_32_bytes(raw: object) -> None:
    with pytest.raises(InvalidInputError, match="32 bytes"):
        VerifyingKey(raw)  # type: ignore[arg-type]


def test_b64_helpers_are_strict_standard_base64_with_padding() -> None:
    assert b64encode(b"\xfb\xff") == "+/8="
    assert b64decode("+/8=") == b"\xfb\xff"
    for bad in ["-_8=", "+/8", "+/8=\n", 123, "+/8=é", "ключ", "\udc80AAA", b"+/8="]:
        with pytest.raises(InvalidInputError):
            b64decode(bad)  # type: ignore[arg-type]


def test_signing_key_is_a_signer() -> None:
    assert isinstance(SigningKey.generate(), Signer)


def test_pem_round_trip_without_passphrase() -> None:
    key = SigningKey.generate()
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_pem(pem).key_id == key.key_id


def test_pem_with_passphrase_is_encrypted_and_round_trips() -> None:
    key = SigningKey.generate()
    pem = key.to_pem(b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    der = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    assert key.private_bytes() not in der
    assert SigningKey.from_pem(pem, b"correct horse").key_id == key.key_id


def test_pem_with_the_wrong_passphrase_is_refused() -> None:
    pem = SigningKey.generate().to_pem(b"correct horse")
    with pytest.raises(InvalidInputError, match="cannot load private key"):
        SigningKey.from_pem(pem, b"battery staple")


def test_encrypted_pem_without_a_passphrase_is_refused() -> None:
    pem = SigningKey.generate().to_pem(b"correct horse")
    with pytest.raises(InvalidInputError):
        SigningKey.from_pem(pem)


def test_pem_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        SigningKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_pem_of_a_non_ed25519_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(InvalidInputError, match="not an Ed25519 key"):
        SigningKey.from_pem(pem)


def test_repr_shows_the_key_id_and_never_the_private_key() -> None:
    key = SigningKey.generate()
    assert repr(key) == f"SigningKey({key.key_id})"
    assert key.private_bytes().hex() not in repr(key)
    assert repr(key.public_key) == f"VerifyingKey({key.key_id})"
