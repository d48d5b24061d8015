"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite, storage-free.

Follows "Data Integrity EdDSA Cryptosuites v1.0" section 3.3 step by step, so that any other
conforming verifier accepts what :func:`add_proof` makes and :func:`verify_proof` accepts what
they make. The signature covers ``SHA-256(JCS(proofConfig)) || SHA-256(JCS(unsecuredDocument))``,
where the proof configuration is the proof without ``proofValue`` and carries the document's
``@context``. Both sides use the project's one JCS (``ledger.canonical``), which refuses floats.

Verification raises :class:`VerificationError` when the proof is malformed, names another
type or cryptosuite, or names a key that cannot be resolved, and :class:`SignatureError` when
the signature does not match (the document or proof was changed, or another key signed).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ledger.errors import InvalidInputError, SignatureError, VerificationError
from ledger.signing import SIGNATURE_SIZE, Signer, VerifyingKey

from ._datetime import check_datetime, format_datetime
from .cryptosuite import (
    CRYPTOSUITE,
    PROOF_TYPE,
    check_suite,
    hash_data,
    proof_configuration,
    transform,
)
from .multibase import DID_KEY_PREFIX, multibase_decode, multibase_encode, resolve_did_key

ASSERTION_METHOD = "assertionMethod"

KeyResolver = Callable[[str], VerifyingKey]
"""Maps a verification method id to its key; raises (any LedgerError) when it does not know it."""


def add_proof(
    document: Mapping[str, Any],
    signer: Signer,
    verification_method: str,
    created: str | datetime,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an eddsa-jcs-2022 ``proof`` (spec 3.3.1, Create Proof).

    The document is not changed. A did:key ``verification_method`` must name ``signer``'s own
    key, so that a proof that could never verify is refused here rather than found later.
    """
    if "proof" in document:
        raise InvalidInputError("the document already has a proof; proof sets are not supported")
    _check_method_is_signers(verification_method, signer)
    if isinstance(created, datetime):
        created = format_datetime(created)
    unsecured = copy.deepcopy(dict(document))
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": check_datetime(created, what="created", zone_required=True),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if "@context" in unsecured:
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    data = hash_data(proof_configuration(proof), transform(unsecured, proof))
    proof["proofValue"] = multibase_encode(signer.sign(data))
    return {**unsecured, "proof": proof}


def verify_proof(
    signed_document: Mapping[str, Any],
    resolve_key: KeyResolver | None = None,
    *,
    expected_proof_purpose: str | None = ASSERTION_METHOD,
) -> None:
    """Return None if the document's eddsa-jcs-2022 proof verifies (spec 3.3.2); else raise.

    ``resolve_key`` defaults to did:key resolution; pass one that knows the ledger's keys to
    accept other verification methods. Note the spec's @context rule: the proof's ``@context``
    must be a prefix of the document's, and the document is checked with the proof's value, so
    ``@context`` entries appended after signing are not covered by the signature.

    A proof set (``proof`` a list, as Open Badges 3.0 requires) verifies when every proof in
    it verifies on its own over the document without ``proof``.
    """
    proofs = signed_document.get("proof") if isinstance(signed_document, Mapping) else None
    if isinstance(proofs, list):
        if not proofs:
            raise VerificationError("the document's proof set is empty")
        for proof in proofs:
            _verify_one({**signed_document, "proof": proof}, resolve_key, expected_proof_purpose)
        return
    _verify_one(signed_document, resolve_key, expected_proof_purpose)


def as_proof_set(signed_document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with its one proof as a proof set (a list); the signature is unchanged,
    since each proof in a set covers the document without ``proof``."""
    proof = signed_document.get("proof")
    if not isinstance(proof, Mapping):
        raise InvalidInputError("the document has no single proof to put in a set")
    return {**signed_document, "proof": [dict(proof)]}


def _verify_one(
    signed_document: Mapping[str, Any],
    resolve_key: KeyResolver | None,
    expected_proof_purpose: str | None,
) -> None:
    proof = _proof_of(signed_document)
    if expected_proof_purpose is not None and proof["proofPurpose"] != expected_proof_purpose:
        raise VerificationError(
            f"proofPurpose is {proof['proofPurpose']!r}, expected {expected_proof_purpose!r}"
        )
    unsecured = {key: value for key, value in signed_document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    proof_bytes = _decode_proof_value(proof["proofValue"])
    if "@context" in options:
        if not _starts_with(signed_document.get("@context"), options["@context"]):
            raise VerificationError("the document's @context does not start with the proof's")
        unsecured["@context"] = options["@context"]
    try:
        data = hash_data(proof_configuration(options), transform(unsecured, options))
    except InvalidInputError as error:
        raise VerificationError(f"the credential cannot be verified: {error.message}") from None
    key = _resolve(resolve_key or resolve_did_key, proof["verificationMethod"])
    try:
        key.verify(proof_bytes, data)
    except SignatureError:
        raise SignatureError(
            f"the proof does not verify with {proof['verificationMethod']}: the document or its "
            "proof options changed after signing, or another key signed it"
        ) from None


def _check_method_is_signers(verification_method: str, signer: Signer) -> None:
    if not verification_method.startswith(DID_KEY_PREFIX):
        return
    try:
        key = resolve_did_key(verification_method)
    except VerificationError as error:
        raise InvalidInputError(error.message) from None
    if key != signer.public_key:
        raise InvalidInputError("the did:key verification method is not the signer's key")


def _proof_of(signed_document: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(signed_document, Mapping):
        raise VerificationError("a secured document must be a JSON object")
    proof = signed_document.get("proof")
    if isinstance(proof, list):
        raise VerificationError("a proof set may not hold another proof set")
    if not isinstance(proof, Mapping):
        raise VerificationError("the document has no proof object")
    for name in ("type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(name), str):
            raise VerificationError(f"the proof has no {name} string")
    check_suite(proof)
    return proof


def _decode_proof_value(proof_value: str) -> bytes:
    try:
        proof_bytes = multibase_decode(proof_value)
    except InvalidInputError as error:
        raise VerificationError(f"bad proofValue encoding: {error.message}") from None
    if len(proof_bytes) != SIGNATURE_SIZE:
        raise VerificationError(
            f"bad proofValue encoding: {len(proof_bytes)} bytes, an Ed25519 signature is 64"
        )
    return proof_bytes


def _starts_with(document_context: Any, proof_context: Any) -> bool:
    """True when the document's @context begins with all of the proof's, in the same order."""
    if document_context is None:
        return False
    whole, prefix = _as_list(document_context), _as_list(proof_context)
    return whole[: len(prefix)] == prefix


def _as_list(context: Any) -> list[Any]:
    return list(context) if isinstance(context, list) else [context]


def _resolve(resolve_key: KeyResolver, verification_method: str) -> VerifyingKey:
    try:
        return resolve_key(verification_method)
    except (InvalidInputError, LookupError) as error:
        raise VerificationError(
            f"unknown verification method {verification_method!r}: {error}"
        ) from None
