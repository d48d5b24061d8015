"""Signatures are made by libsodium: for every seed and message they are the bytes OpenSSL (through
``cryptography``, an implementation the project did not write either) makes, they verify with
it, and RFC 8032's own test vectors come out as the RFC prints them."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.signing import SigningKey, sign_many

# RFC 8032, section 7.1, TEST 1 and TEST 2: secret key, public key, message, signature.
RFC_8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC_8032)
def test_rfc_8032_vectors_sign_as_printed(
    secret: str, public: str, message: str, signature: str
) -> None:
    key = SigningKey.from_private_bytes(bytes.fromhex(secret))
    assert key.public_key.raw == bytes.fromhex(public)
    assert key.sign(bytes.fromhex(message)) == bytes.fromhex(signature)
    assert sign_many([(key, bytes.fromhex(message))] * 20) == [bytes.fromhex(signature)] * 20


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=2048))
def test_each_signature_is_the_one_openssl_makes(seed: bytes, message: bytes) -> None:
    ours = SigningKey.from_private_bytes(seed).sign(message)
    openssl = Ed25519PrivateKey.from_private_bytes(seed)
    assert ours == openssl.sign(message)
    public: Ed25519PublicKey = openssl.public_key()
    public.verify(ours, message)


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32))
def test_a_key_read_back_from_pem_signs_the_same(seed: bytes) -> None:
    key = SigningKey.from_private_bytes(seed)
    again = SigningKey.from_pem(key.to_pem(b"a test passphrase"), b"a test passphrase")
    assert again.private_bytes() == seed
    assert again.sign(b"same message") == key.sign(b"same message")
