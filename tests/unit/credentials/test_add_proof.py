"""add_proof signs only what can later verify, and says why when it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from credential_vectors import VECTOR_CREATED, sign

from ledger.credentials import add_proof, did_key_verification_method, verify_proof
from ledger.errors import InvalidInputError
from ledger.signing import SigningKey


def test_a_did_key_method_naming_another_key_is_refused(
    unsigned: dict[str, Any], vector_key: SigningKey, other_key: SigningKey
) -> None:
    method = did_key_verification_method(other_key.public_key)
    with pytest.raises(InvalidInputError, match="not the signer's key"):
        add_proof(unsigned, vector_key, method, VECTOR_CREATED)


def test_an_aware_datetime_is_written_in_utc_with_a_z(
    unsigned: dict[str, Any], vector_key: SigningKey
) -> None:
    created = datetime(2023, 2, 25, 7, 36, 38, tzinfo=timezone(timedelta(hours=8)))
    secured = sign(unsigned, vector_key, created=created)
    assert secured["proof"]["created"] == VECTOR_CREATED
    assert secured == sign(unsigned, vector_key)


@pytest.mark.parametrize(
    "created", [datetime(2023, 2, 24, 23, 36, 38), "2023-02-24T23:36:38", "24 Feb 2023"]
)
def test_a_created_time_without_a_zone_or_not_xsd_is_refused(
    unsigned: dict[str, Any], vector_key: SigningKey, created: Any
) -> None:
    with pytest.raises(InvalidInputError, match="created"):
        sign(unsigned, vector_key, created=created)


def test_fractional_seconds_and_offsets_are_kept_as_given(
    unsigned: dict[str, Any], vector_key: SigningKey
) -> None:
    secured = sign(unsigned, vector_key, created="2025-03-05T08:00:00.250+08:00")
    assert secured["proof"]["created"] == "2025-03-05T08:00:00.250+08:00"
    verify_proof(secured)
    now = sign(unsigned, vector_key, created=datetime.now(UTC))
    verify_proof(now)


def test_a_document_that_already_has_a_proof_is_refused(
    signed: dict[str, Any], vector_key: SigningKey
) -> None:
    with pytest.raises(InvalidInputError, match="already has a proof"):
        sign(signed, vector_key)


def test_a_document_without_context_gets_a_proof_without_context(
    vector_key: SigningKey,
) -> None:
    secured = sign({"hours": 5, "volunteer": "V-0001"}, vector_key)
    assert "@context" not in secured["proof"]
    verify_proof(secured)


def test_floats_are_refused_at_signing_because_jcs_implementations_disagree_on_them(
    unsigned: dict[str, Any], vector_key: SigningKey
) -> None:
    with pytest.raises(InvalidInputError, match="float"):
        sign({**unsigned, "hours": 2.5}, vector_key)


def test_a_malformed_did_key_method_is_refused_as_bad_input(
    unsigned: dict[str, Any], vector_key: SigningKey
) -> None:
    with pytest.raises(InvalidInputError, match="unknown verification method"):
        sign(unsigned, vector_key, verification_method="did:key:z6Mk#key-1")
