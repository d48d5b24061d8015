"""A secured credential that was changed, or is not what it claims, is refused with a precise error.

Changes the signature covers (document, proof options, proofValue, key) raise SignatureError;
proofs that are malformed, of another suite, or name a key that cannot be found raise
VerificationError before any signature is checked.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from credential_vectors import sign

from ledger.credentials import (
    base58btc_decode,
    base58btc_encode,
    did_key_verification_method,
    encode_multikey,
    verify_proof,
)
from ledger.errors import NotFoundError, SignatureError, VerificationError
from ledger.signing import SigningKey, VerifyingKey


def tampered(signed: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(signed)
    target = document
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "alumniOf"), "The School of Counterfeits"),
        (("credentialSubject", "id"), "did:example:someone-else"),
        (("validFrom",), "2020-01-01T00:00:00Z"),
        (("proof", "created"), "2023-02-24T23:36:39Z"),
        (("proof", "proofPurpose"), "authentication"),
    ],
)
def test_a_change_the_signature_covers_raises_signature_error(
    signed: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    with pytest.raises(SignatureError, match="does not verify"):
        verify_proof(tampered(signed, path, value), expected_proof_purpose=None)


def test_a_changed_proof_value_raises_signature_error(signed: dict[str, Any]) -> None:
    proof_value = signed["proof"]["proofValue"]
    signature = bytearray(base58btc_decode(proof_value[1:]))
    signature[10] ^= 0x01
    changed = "z" + base58btc_encode(bytes(signature))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_proof(tampered(signed, ("proof", "proofValue"), changed))


def test_a_verification_method_swapped_to_another_key_raises_signature_error(
    signed: dict[str, Any], other_key: SigningKey
) -> None:
    swapped = did_key_verification_method(other_key.public_key)
    with pytest.raises(SignatureError, match=f"does not verify with {re.escape(swapped)}"):
        verify_proof(tampered(signed, ("proof", "verificationMethod"), swapped))


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "ecdsa-jcs-2019", "", 7])
def test_another_cryptosuite_is_refused_by_name(signed: dict[str, Any], cryptosuite: Any) -> None:
    with pytest.raises(VerificationError, match="cryptosuite"):
        verify_proof(tampered(signed, ("proof", "cryptosuite"), cryptosuite))


@pytest.mark.parametrize("proof_type", ["Ed25519Signature2020", "DataIntegritySignature"])
def test_another_proof_type_is_refused_by_name(signed: dict[str, Any], proof_type: str) -> None:
    with pytest.raises(VerificationError, match="proof type is"):
        verify_proof(tampered(signed, ("proof", "type"), proof_type))


@pytest.mark.parametrize(
    "proof_value",
    [
        "u" + "A" * 86,  # base64url multibase: the suite allows only base58btc
        "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51a0",
        "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51",
        "z" + "1" * 63,  # 63 zero bytes: one short of a signature
        "z",
        "",
    ],
)
def test_a_badly_encoded_proof_value_is_a_verification_error(
    signed: dict[str, Any], proof_value: str
) -> None:
    with pytest.raises(VerificationError, match="bad proofValue encoding"):
        verify_proof(tampered(signed, ("proof", "proofValue"), proof_value))


@pytest.mark.parametrize(
    "verification_method",
    [
        "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#key-1",
        "did:key:z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
        "#z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
    ],
)
def test_an_unknown_verification_method_is_a_verification_error(
    signed: dict[str, Any], verification_method: str
) -> None:
    with pytest.raises(VerificationError, match="unknown verification method"):
        verify_proof(tampered(signed, ("proof", "verificationMethod"), verification_method))


def test_a_resolver_that_does_not_know_the_method_gives_a_verification_error(
    signed: dict[str, Any],
) -> None:
    def resolve(verification_method: str) -> VerifyingKey:
        raise NotFoundError(f"no key {verification_method}")

    with pytest.raises(VerificationError, match="unknown verification method"):
        verify_proof(signed, resolve)


def test_a_caller_resolver_accepts_non_did_methods(
    unsigned: dict[str, Any], vector_key: SigningKey
) -> None:
    method = "https://vc.example/issuers/5678#key-1"
    secured = sign(unsigned, vector_key, verification_method=method)
    verify_proof(secured, {method: vector_key.public_key}.__getitem__)
    with pytest.raises(VerificationError, match="unknown verification method"):
        verify_proof(secured)


def test_a_document_context_that_no_longer_starts_with_the_proof_context_is_refused(
    signed: dict[str, Any],
) -> None:
    reordered = list(reversed(signed["@context"]))
    with pytest.raises(VerificationError, match="@context"):
        verify_proof(tampered(signed, ("@context",), reordered))
    document = copy.deepcopy(signed)
    del document["@context"]
    with pytest.raises(VerificationError, match="@context"):
        verify_proof(document)


def test_context_entries_appended_after_signing_are_not_covered_as_the_spec_says(
    signed: dict[str, Any],
) -> None:
    extended = [*signed["@context"], "https://example.org/appended/v1"]
    verify_proof(tampered(signed, ("@context",), extended))


def test_a_changed_proof_context_is_a_signature_error(signed: dict[str, Any]) -> None:
    shorter = signed["@context"][:1]
    with pytest.raises(SignatureError):
        verify_proof(tampered(signed, ("proof", "@context"), shorter))


def test_the_expected_proof_purpose_is_enforced(
    unsigned: dict[str, Any], vector_key: SigningKey
) -> None:
    secured = sign(unsigned, vector_key, proof_purpose="authentication")
    with pytest.raises(VerificationError, match="proofPurpose"):
        verify_proof(secured)
    verify_proof(secured, expected_proof_purpose="authentication")


@pytest.mark.parametrize("created", ["yesterday", "2023-02-30T00:00:00Z", "2023-02-24 23:36:38Z"])
def test_a_proof_created_that_is_not_an_xsd_datetime_is_refused(
    signed: dict[str, Any], created: str
) -> None:
    with pytest.raises(VerificationError, match="dateTime"):
        verify_proof(tampered(signed, ("proof", "created"), created))


@pytest.mark.parametrize(
    ("proof", "message"),
    [
        (None, "no proof"),
        ([], "proof set is empty"),
        ("z2HnFSS", "no proof"),
    ],
)
def test_a_missing_or_odd_proof_is_refused(
    signed: dict[str, Any], proof: Any, message: str
) -> None:
    with pytest.raises(VerificationError, match=message):
        verify_proof(tampered(signed, ("proof",), proof))


@pytest.mark.parametrize(
    "field", ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"]
)
def test_a_proof_missing_a_required_field_is_refused(signed: dict[str, Any], field: str) -> None:
    document = copy.deepcopy(signed)
    del document["proof"][field]
    with pytest.raises(VerificationError, match=field):
        verify_proof(document)


def test_a_document_the_project_cannot_canonicalise_is_a_verification_error(
    signed: dict[str, Any],
) -> None:
    with pytest.raises(VerificationError, match="float"):
        verify_proof(tampered(signed, ("credentialSubject", "gpa"), 3.5))


def test_did_key_of_the_vector_key_is_the_one_in_the_vector(
    signed: dict[str, Any], vector_key: SigningKey
) -> None:
    multikey = encode_multikey(vector_key.public_key)
    assert signed["proof"]["verificationMethod"] == f"did:key:{multikey}#{multikey}"
