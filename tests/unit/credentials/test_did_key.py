"""Ed25519 Multikey and did:key: how a credential names the key that signed it."""

from __future__ import annotations

import pytest
from credential_vectors import load_vector
from hypothesis import given
from hypothesis import strategies as st

from ledger.credentials import (
    decode_multikey,
    decode_private_multikey,
    did_key,
    did_key_verification_method,
    encode_multikey,
    multibase_encode,
    resolve_did_key,
)
from ledger.errors import InvalidInputError, VerificationError
from ledger.signing import SigningKey

seeds = st.binary(min_size=32, max_size=32)


@given(seeds)
def test_a_did_key_verification_method_resolves_back_to_its_key(seed: bytes) -> None:
    key = SigningKey.from_private_bytes(seed).public_key
    method = did_key_verification_method(key)
    multikey = encode_multikey(key)
    assert method == f"{did_key(key)}#{multikey}" == f"did:key:{multikey}#{multikey}"
    assert multikey.startswith("z6Mk")
    assert decode_multikey(multikey) == key
    assert resolve_did_key(method) == key


def test_the_vector_key_pair_decodes_to_one_ed25519_key() -> None:
    pair = load_vector("keyPair.json")
    signing_key = decode_private_multikey(pair["privateKeyMultibase"])
    assert decode_multikey(pair["publicKeyMultibase"]) == signing_key.public_key


def test_a_private_multikey_is_never_taken_for_a_public_one() -> None:
    private = load_vector("keyPair.json")["privateKeyMultibase"]
    with pytest.raises(InvalidInputError, match="PRIVATE"):
        decode_multikey(private)


@pytest.mark.parametrize(
    "data",
    [
        b"\xec\x01" + bytes(32),  # x25519-pub: a key-agreement key, not a signing key
        b"\xe7\x01" + bytes(33),  # secp256k1-pub
        b"\xed\x01" + bytes(31),
        b"\xed\x01" + bytes(33),
        b"",
    ],
)
def test_only_an_ed25519_public_multikey_is_accepted(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match="not an Ed25519 public Multikey"):
        decode_multikey(multibase_encode(data))


def test_a_public_multikey_is_not_a_private_key() -> None:
    public = load_vector("keyPair.json")["publicKeyMultibase"]
    with pytest.raises(InvalidInputError, match="private Multikey"):
        decode_private_multikey(public)


@pytest.mark.parametrize(
    "method",
    [
        "did:web:vc.example#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:key:z6Mk#z6Mk",
        "#",
        "",
    ],
)
def test_anything_but_a_well_formed_did_key_method_is_unknown(method: str) -> None:
    with pytest.raises(VerificationError, match="unknown verification method"):
        resolve_did_key(method)
