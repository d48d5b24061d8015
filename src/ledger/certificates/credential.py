"""Certificates of service as W3C Verifiable Credentials 2.0, signed with ``eddsa-jcs-2022``
by the issuing organisation's key, its issuer identified as a ``did:key``."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import uuid4

from ..canonical import canonical_json
from ..credentials import add_proof, did_key, did_key_verification_method
from ..credentials.jsonld_documents import VC_V2_CONTEXT
from ..credentials.status_list import status_entry
from ..signing import Signer, VerifyingKey
from .links import CredentialLinks

VC_CONTEXT = VC_V2_CONTEXT
CERTIFICATE_TYPE = "VolunteerServiceCertificate"
LOG_STATUS_TYPE = "LedgerCertificateStatus"
STATUS_LIST_INDEX = 0
"""Each certificate has a status list of its own (see :func:`certificate_status`)."""


def certificate_credential(
    *,
    data: dict[str, Any],
    masked_name: str | None = None,
    issuer_name: str,
    issuer_key: VerifyingKey,
    issued_at: str,
    links: CredentialLinks,
    origin: str,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned credential for a certificate's event data.

    Its ``id`` is random (:func:`new_credential_id`) and kept off the log: every other field
    can be derived from the log, so the id is what keeps the logged ``credential_sha256`` from
    being reversed by guessing a masked name. Every term is defined by the VC 2.0 context or
    the ledger's own, so JSON-LD processing in safe mode keeps all of it.
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
    number = data["certificate_number"]
    verify_url = links.certificate_page(number)
    return {
        "@context": [VC_CONTEXT, links.context],
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
        "credentialStatus": certificate_status(links, number),
        "evidence": [{"type": ["LedgerLog"], "origin": origin, "verifyUrl": verify_url}],
        "language": data.get("language", "zh"),
    }


def certificate_status(links: CredentialLinks, certificate_number: str) -> list[dict[str, Any]]:
    """Two status entries: a W3C Bitstring Status List entry any generic verifier checks, and
    the log-signed status note, the stronger check (it names the log state it describes).

    Each certificate has a list of its own, at index 0: its number is public anyway, so sharing
    a list would hide nothing, and no index has to be allocated across writers."""
    return [
        status_entry(links.certificate_status_list(certificate_number), STATUS_LIST_INDEX),
        {"id": links.certificate_status_note(certificate_number), "type": LOG_STATUS_TYPE},
    ]


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


def check_submitted_credential(
    credential: Any, data: dict[str, Any], event_key: VerifyingKey
) -> None:
    """Raise :class:`InvalidInputError` unless ``credential`` is the one a ``CertificateIssued``
    event's ``data`` commits to (its ``credential_sha256`` and number), signed with the key
    that signs the event (``event_key``), with a proof that verifies."""
    from ..credentials import resolve_did_key, verify_proof
    from ..errors import InvalidInputError, LedgerError

    if not isinstance(credential, dict) or not isinstance(credential.get("proof"), dict):
        raise InvalidInputError("the credential is a signed JSON object with one proof")
    if credential_sha256(without_proof(credential)) != data["credential_sha256"]:
        raise InvalidInputError(
            "the credential is not the one the CertificateIssued event commits to "
            "(its SHA-256 differs from credential_sha256)"
        )
    if credential.get("certificateNumber") != data["certificate_number"]:
        raise InvalidInputError("the credential names another certificate number")
    try:
        method = str(credential["proof"].get("verificationMethod"))
        if resolve_did_key(method) != event_key:
            raise InvalidInputError("the credential is signed with another key than the event")
        verify_proof(credential)
    except InvalidInputError:
        raise
    except LedgerError as error:
        raise InvalidInputError(f"the credential's proof does not verify: {error}") from None


def links_of(credential: dict[str, Any]) -> CredentialLinks:
    """The links a credential's issuer signed into it, from its certificate page (the
    evidence's ``verifyUrl``); :class:`InvalidInputError` when it names none."""
    from ..errors import InvalidInputError

    evidence = credential.get("evidence")
    page = evidence[0].get("verifyUrl") if isinstance(evidence, list) and evidence else None
    suffix = f"/verify/{credential.get('certificateNumber')}"
    if not isinstance(page, str) or not page.endswith(suffix):
        raise InvalidInputError("the credential names no certificate page (evidence verifyUrl)")
    return CredentialLinks(page[: -len(suffix)], allow_local=True)


def check_submitted_status_list(
    status_list: Any, credential: dict[str, Any], event_key: VerifyingKey, *, revoked: bool = False
) -> None:
    """Raise :class:`InvalidInputError` unless ``status_list`` is the list the credential names,
    saying "not revoked" (with ``revoked``: "revoked"), issued by the credential's issuer and
    signed with the event's key."""
    from ..credentials import resolve_did_key, verify_proof
    from ..credentials.status_list import LIST_CREDENTIAL_TYPE, encode_list
    from ..errors import InvalidInputError, LedgerError

    if not isinstance(status_list, dict) or not isinstance(status_list.get("proof"), dict):
        raise InvalidInputError("the status list is a signed JSON object with one proof")
    named = [
        entry.get("statusListCredential")
        for entry in credential.get("credentialStatus", [])
        if isinstance(entry, dict)
    ]
    subject = status_list.get("credentialSubject")
    wrong = []
    if status_list.get("id") not in named:
        wrong.append("it is not the list the credential names")
    if LIST_CREDENTIAL_TYPE not in (status_list.get("type") or []):
        wrong.append(f"it is not a {LIST_CREDENTIAL_TYPE}")
    if status_list.get("issuer") != credential.get("issuer", {}).get("id"):
        wrong.append("its issuer is not the credential's")
    elif status_list.get("issuer") != did_key(event_key):
        wrong.append("its issuer is not the key that signs the event")
    bits, saying = ([0], "'revoked' (bit 0 set)") if revoked else ([], "'not revoked'")
    if not isinstance(subject, dict) or subject.get("encodedList") != encode_list(bits):
        wrong.append(f"it does not say {saying}")
    if wrong:
        raise InvalidInputError(f"refusing the status list: {'; '.join(wrong)}")
    try:
        method = str(status_list["proof"].get("verificationMethod"))
        if resolve_did_key(method) != event_key:
            raise InvalidInputError("the status list is signed with another key than the event")
        verify_proof(status_list)
    except InvalidInputError:
        raise
    except LedgerError as error:
        raise InvalidInputError(f"the status list's proof does not verify: {error}") from None
