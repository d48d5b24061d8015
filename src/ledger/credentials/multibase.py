"""Multibase base58btc, Ed25519 Multikey and ``did:key``: how Data Integrity spells keys and proofs.

The formats are fixed and small, so they are written here instead of pulled in as a dependency:
this code sits on the verification path of every credential. Base58btc (Bitcoin alphabet) maps
leading zero bytes to leading ``1`` characters, which makes decoding a bijection: a string that
decodes re-encodes to itself, so a proofValue has exactly one spelling.

A Multikey is the multibase (``z``) base58btc encoding of a multicodec header and the raw key:
``0xed01`` for an Ed25519 public key, ``0x8026`` for an Ed25519 private key seed. A ``did:key``
for an Ed25519 key is ``did:key:<multikey>`` and its one verification method is
``did:key:<multikey>#<multikey>`` (W3C did:key method, Multikey per Controlled Identifiers 1.0).
"""

from __future__ import annotations

from ledger.errors import InvalidInputError, VerificationError
from ledger.signing import PUBLIC_KEY_SIZE, SigningKey, VerifyingKey

BASE58BTC_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
MULTIBASE_BASE58BTC = "z"
ED25519_PUBLIC_MULTICODEC = b"\xed\x01"
ED25519_PRIVATE_MULTICODEC = b"\x80\x26"
DID_KEY_PREFIX = "did:key:"
MAX_BASE58_LENGTH = 1024
"""Longer input is refused: decoding costs quadratic time, and nothing here is over 100 chars."""

_BASE58_VALUES = {char: value for value, char in enumerate(BASE58BTC_ALPHABET)}


def base58btc_encode(data: bytes) -> str:
    """Base58btc (Bitcoin alphabet), keeping each leading zero byte as a ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58BTC_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """Decode base58btc, refusing characters outside the alphabet (``0``, ``O``, ``I``, ``l``)."""
    if not isinstance(text, str):
        raise InvalidInputError("a base58btc value must be a string")
    if len(text) > MAX_BASE58_LENGTH:
        raise InvalidInputError(f"a base58btc value longer than {MAX_BASE58_LENGTH} characters")
    number = 0
    for char in text:
        value = _BASE58_VALUES.get(char)
        if value is None:
            raise InvalidInputError(f"{char!r} is not a base58btc character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def multibase_encode(data: bytes) -> str:
    """The multibase base58btc form: ``z`` followed by base58btc."""
    return MULTIBASE_BASE58BTC + base58btc_encode(data)


def multibase_decode(text: str) -> bytes:
    """Decode a multibase value; only base58btc (``z``) is accepted, as the cryptosuite requires."""
    if not isinstance(text, str) or not text.startswith(MULTIBASE_BASE58BTC):
        raise InvalidInputError("not a multibase base58btc value (it must start with 'z')")
    return base58btc_decode(text[1:])


def encode_multikey(key: VerifyingKey) -> str:
    """The Ed25519 public key as a Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
    return multibase_encode(ED25519_PUBLIC_MULTICODEC + key.raw)


def decode_multikey(text: str) -> VerifyingKey:
    """Parse a ``publicKeyMultibase``; any header but ``0xed01`` is refused, as the spec demands."""
    data = multibase_decode(text)
    if data[:2] == ED25519_PRIVATE_MULTICODEC:
        raise InvalidInputError("this Multikey is an Ed25519 PRIVATE key: never publish it")
    if data[:2] != ED25519_PUBLIC_MULTICODEC or len(data) != 2 + PUBLIC_KEY_SIZE:
        raise InvalidInputError("not an Ed25519 public Multikey (0xed01 and 32 key bytes)")
    return VerifyingKey(data[2:])


def decode_private_multikey(text: str) -> SigningKey:
    """Dangerous: load a ``secretKeyMultibase`` (``0x8026`` + 32-byte seed), e.g. a W3C test key."""
    data = multibase_decode(text)
    if data[:2] != ED25519_PRIVATE_MULTICODEC or len(data) != 34:
        raise InvalidInputError("not an Ed25519 private Multikey (0x8026 and a 32-byte seed)")
    return SigningKey.from_private_bytes(data[2:])


def did_key(key: VerifyingKey) -> str:
    """The ``did:key`` DID of an Ed25519 public key."""
    return DID_KEY_PREFIX + encode_multikey(key)


def did_key_verification_method(key: VerifyingKey) -> str:
    """The verification method id to name in a proof: ``did:key:z6Mk...#z6Mk...``."""
    return f"{did_key(key)}#{encode_multikey(key)}"


def resolve_did_key(verification_method: str) -> VerifyingKey:
    """Resolve a did:key verification method id to its key, without any network or storage.

    The fragment must repeat the method-specific id: a did:key document holds exactly that one
    verification method, so any other fragment names a method that does not exist.
    """
    did, hash_sign, fragment = verification_method.partition("#")
    multikey = did.removeprefix(DID_KEY_PREFIX)
    if not did.startswith(DID_KEY_PREFIX) or not hash_sign or fragment != multikey:
        raise VerificationError(
            f"unknown verification method {verification_method!r}: not a did:key "
            "verification method of the form did:key:<multikey>#<multikey>"
        )
    try:
        return decode_multikey(multikey)
    except InvalidInputError as error:
        raise VerificationError(
            f"unknown verification method {verification_method!r}: {error.message}"
        ) from None
