"""Certificates of service as W3C Verifiable Credentials 2.0, signed with ``eddsa-jcs-2022``
by the issuing organisation's key, its issuer identified as a ``did:key``."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import uuid4

from ..canonical import canonical_json
from ..credentials import add_proof, did_key, did_key_verification_method
from ..signing import Signer, VerifyingKey

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CERTIFICATE_TYPE = "VolunteerServiceCertificate"


def certificate_credential(
    *,
    data: dict[str, Any],
    masked_name: str | None = None,
    issuer_name: str,
    issuer_key: VerifyingKey,
    issued_at: str,
    verify_url: str,
    origin: str,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned credential for a certificate's event data.

    Its ``id`` is random (:func:`new_credential_id`) and kept off the log: every other field
    can be derived from the log, so the id is what keeps the logged ``credential_sha256`` from
    being reversed by guessing a masked name.
    """
    subject: dict[str, Any] = {
        "volunteerNumber": data["number"],
        "period": {"from": data["period_from"], "to": data["period_to"]},
        "approvedMinutes": data["approved_minutes"],
        "minutesByServiceField": data["minutes_by_field"],
        "minutesByRecordingOrganisation": data["minutes_by_org"],
        "recordCount": data["record_count"],
        "recordsCommitment": {"algorithm": "sha-256/jcs", "value": data["records_commitment"]},
    }
    if masked_name:
        subject["maskedName"] = masked_name
    return {
        "@context": [VC_CONTEXT],
        "id": credential_id or new_credential_id(),
        "type": ["VerifiableCredential", CERTIFICATE_TYPE],
        "name": "志愿服务证明 / Certificate of volunteer service",
        "certificateNumber": data["certificate_number"],
        "issuer": {
            "id": did_key(issuer_key),
            "name": issuer_name,
            "contact": data["issuer_contact"],
        },
        "validFrom": issued_at,
        "credentialSubject": subject,
        "credentialStatus": {"id": verify_url + "/status", "type": "LedgerCertificateStatus"},
        "evidence": [{"type": ["LedgerLog"], "origin": origin, "verifyUrl": verify_url}],
        "language": data.get("language", "zh"),
    }


def new_credential_id() -> str:
    """A random credential id: 122 random bits, the salt of the logged digest."""
    return f"urn:uuid:{uuid4()}"


def credential_sha256(unsigned: dict[str, Any]) -> str:
    """What the issuing event commits to: SHA-256 of the credential's JCS form, without proof."""
    return hashlib.sha256(canonical_json(unsigned)).hexdigest()


def sign_credential(unsigned: dict[str, Any], signer: Signer, created: str) -> dict[str, Any]:
    return add_proof(unsigned, signer, did_key_verification_method(signer.public_key), created)


def without_proof(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}
