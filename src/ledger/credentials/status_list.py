"""W3C Bitstring Status List v1.0: the status entry a credential carries, and the status list
credential its issuer signs and serves.

A verifier that knows nothing of this ledger checks revocation the standard way: it fetches the
``statusListCredential`` named in the credential's ``BitstringStatusListEntry``, checks that
credential's proof and issuer, decodes ``encodedList`` (multibase base64url of a GZIP-compressed
bitstring, index 0 the most significant bit of the first byte) and reads the bit at
``statusListIndex``: 1 means revoked.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidInputError
from .jsonld_documents import VC_V2_CONTEXT

ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
REVOCATION = "revocation"
MINIMUM_BITS = 131_072
"""The specification's minimum length (16 KiB), so that a list never reveals its size."""


def status_entry(list_url: str, index: int, purpose: str = REVOCATION) -> dict[str, Any]:
    """The ``credentialStatus`` entry pointing at bit ``index`` of the list at ``list_url``."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def encode_list(set_bits: Iterable[int], length: int = MINIMUM_BITS) -> str:
    """``encodedList`` for a bitstring of ``length`` bits with ``set_bits`` set to 1."""
    if length < MINIMUM_BITS or length % 8:
        raise InvalidInputError(f"a status list has a multiple of 8 bits, at least {MINIMUM_BITS}")
    bits = bytearray(length // 8)
    for index in set_bits:
        if not 0 <= index < length:
            raise InvalidInputError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_list(encoded: str) -> bytes:
    """The bitstring in ``encodedList``; InvalidInputError when it is not one (strict
    base64url, GZIP, at least the specification's minimum length)."""
    if not encoded.startswith("u"):
        raise InvalidInputError("encodedList is not multibase base64url ('u' prefix)")
    text = encoded[1:] + "=" * (-len(encoded[1:]) % 4)
    try:
        bitstring = gzip.decompress(base64.b64decode(text, altchars=b"-_", validate=True))
    except (ValueError, OSError, EOFError) as error:
        raise InvalidInputError(f"encodedList does not decode: {error}") from None
    if len(bitstring) * 8 < MINIMUM_BITS:
        raise InvalidInputError(f"encodedList holds fewer than {MINIMUM_BITS} bits")
    return bitstring


def bit_is_set(bitstring: bytes, index: int) -> bool:
    if not 0 <= index < len(bitstring) * 8:
        raise InvalidInputError(f"status index {index} is outside the list")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    *,
    list_url: str,
    issuer: str,
    set_bits: Iterable[int],
    valid_from: str,
    purpose: str = REVOCATION,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential``; the issuer must be the same as that of
    the credentials whose status it carries (generic verifiers check this)."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": encode_list(set_bits),
        },
    }
