"""Fixtures for the credential tests: the W3C vector key and documents, and a second key."""

from __future__ import annotations

from typing import Any

import pytest
from credential_vectors import load_vector

from ledger.credentials import decode_private_multikey
from ledger.signing import SigningKey


@pytest.fixture
def vector_key() -> SigningKey:
    return decode_private_multikey(load_vector("keyPair.json")["privateKeyMultibase"])


@pytest.fixture
def unsigned() -> dict[str, Any]:
    document: dict[str, Any] = load_vector("unsigned.json")
    return document


@pytest.fixture
def signed() -> dict[str, Any]:
    document: dict[str, Any] = load_vector("eddsa-jcs-2022/signedJCS.json")
    return document


@pytest.fixture
def other_key() -> SigningKey:
    return SigningKey.from_private_bytes(bytes(range(32)))
