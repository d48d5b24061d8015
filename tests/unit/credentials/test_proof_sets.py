"""A proof set (``proof`` a list, as Open Badges 3.0 requires) verifies when every proof in it
verifies; an empty, nested or partly forged set does not."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from credential_vectors import load_vector
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.credentials import add_proof, as_proof_set, did_key_verification_method, verify_proof
from ledger.errors import InvalidInputError, SignatureError, VerificationError
from ledger.signing import SigningKey

CREATED = "2025-01-01T00:00:00Z"


def signed_by(key: SigningKey, document: dict[str, Any]) -> dict[str, Any]:
    return add_proof(document, key, did_key_verification_method(key.public_key), CREATED)


def test_one_proof_as_a_set_verifies_with_the_same_signature(unsigned: dict[str, Any]) -> None:
    single = signed_by(SigningKey.generate(), unsigned)
    as_set = as_proof_set(single)
    assert as_set["proof"] == [single["proof"]]
    verify_proof(as_set)


def test_two_signers_in_one_set_both_count(unsigned: dict[str, Any]) -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    proofs = [signed_by(first, unsigned)["proof"], signed_by(second, unsigned)["proof"]]
    verify_proof({**unsigned, "proof": proofs})
    forged = copy.deepcopy(proofs)
    forged[1]["verificationMethod"] = proofs[0]["verificationMethod"]
    with pytest.raises(SignatureError):
        verify_proof({**unsigned, "proof": forged})


@pytest.mark.parametrize(
    ("proof", "message"), [([], "empty"), ([[]], "proof set may not hold"), ([None], "no proof")]
)
def test_odd_sets_are_refused(unsigned: dict[str, Any], proof: Any, message: str) -> None:
    with pytest.raises(VerificationError, match=message):
        verify_proof({**unsigned, "proof": proof})


def test_only_a_single_proof_can_become_a_set(unsigned: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        as_proof_set(unsigned)


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_a_changed_document_fails_in_a_set_as_alone(name: str) -> None:
    unsigned: dict[str, Any] = load_vector("unsigned.json")
    signed = as_proof_set(signed_by(SigningKey.generate(), unsigned))
    changed = {**signed, "name": name}
    if unsigned.get("name") == name:
        verify_proof(changed)
    else:
        with pytest.raises(SignatureError):
            verify_proof(changed)
