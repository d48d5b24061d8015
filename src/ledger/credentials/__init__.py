"""Verifiable Credentials 2.0 with Data Integrity ``eddsa-jcs-2022`` proofs, storage-free.

Certificates of service and awards leave the ledger as W3C credentials so that anyone's
conforming verifier can check them; this package signs and verifies them and spells keys as
Multikey / ``did:key``. It knows nothing of storage: a caller that trusts keys other than
did:key passes ``resolve_key`` to :func:`verify_proof`.
"""

from .cryptosuite import CRYPTOSUITE, PROOF_TYPE, hash_data, proof_configuration, transform
from .data_integrity import KeyResolver, add_proof, as_proof_set, verify_proof
from .multibase import (
    base58btc_decode,
    base58btc_encode,
    decode_multikey,
    decode_private_multikey,
    did_key,
    did_key_verification_method,
    encode_multikey,
    multibase_decode,
    multibase_encode,
    resolve_did_key,
)

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "KeyResolver",
    "add_proof",
    "as_proof_set",
    "base58btc_decode",
    "base58btc_encode",
    "decode_multikey",
    "decode_private_multikey",
    "did_key",
    "did_key_verification_method",
    "encode_multikey",
    "hash_data",
    "multibase_decode",
    "multibase_encode",
    "proof_configuration",
    "resolve_did_key",
    "transform",
    "verify_proof",
]
