"""Whether this ledger accepts a certificate or credential: the policy behind ``POST /verify``.

A certificate package is checked as any offline verifier checks it, with this ledger's log keys.
A bare certificate credential is checked against what the ledger logged for its number; another
credential (a badge) by its signature, its issuer's key being registered in this ledger, and its
award still standing (an honour not revoked, a star level still held). The answer is the same
for the HTTP API, the command line and a program using the library.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..credentials import resolve_did_key, verify_proof
from ..errors import LedgerError, NotFoundError
from ..log.note import NoteVerifier
from ..privacy.credentials import erased_credential_verdict
from .credential import CERTIFICATE_TYPE
from .verify import Verdict, verify_document, verify_package

if TYPE_CHECKING:
    from ..ledger import Ledger


def verify_here(ledger: Ledger, document: dict[str, Any]) -> dict[str, Any]:
    """The verdict on ``document`` by this ledger's own log key: ``{valid, reason, line,
    details, log_verifier_keys}``, and ``evidence`` (the package checked) when the ledger
    supplied it.

    ``document`` is a certificate package, a credential (a certificate or a badge), or
    ``{"certificate_number": "..."}``.
    """
    keys = ledger.log.verifiers()
    evidence: Any = None
    if "credential" in document:
        kind, verdict = "package", check_package(_with_current_status(ledger, document), keys)
    elif "proof" in document:
        kind = "credential"
        verdict, evidence = _verify_credential(ledger, document)
    elif isinstance(document.get("certificate_number"), str):
        kind, number = "certificate_number", document["certificate_number"]
        if _known(ledger, number):
            evidence = ledger.certificate_package(number)
            verdict = check_package(evidence, keys)
            if (
                evidence["credential"] is None
                and ledger.certificate(number)["personal_data_erased"]
            ):
                evidence, verdict = None, erased_credential_verdict(ledger.certificate(number))
        else:
            verdict = Verdict(False, f"certificate {number} is not in this ledger")
    else:
        kind = "unknown"
        verdict = Verdict(
            False,
            "the JSON is neither a certificate package, a credential, nor "
            '{"certificate_number": ...}',
        )
    answer: dict[str, Any] = {
        "valid": verdict.valid,
        "reason": verdict.reason,
        "line": verdict.line(),
        "details": {"checked": kind, **verdict.details},
        "log_verifier_keys": ledger.log.verifier_keys(),
    }
    if evidence is not None:
        answer["evidence"] = evidence
    return answer


def _with_current_status(ledger: Ledger, package: dict[str, Any]) -> dict[str, Any]:
    """The package with this ledger's status note of now, when its credential names one of its
    certificates: a package saved before a revocation holds the note of then, and the ledger
    answers as of now, as the page and ``{"certificate_number": ...}`` do."""
    credential = package.get("credential")
    number = credential.get("certificateNumber") if isinstance(credential, dict) else None
    if not isinstance(number, str) or not _known(ledger, number):
        return package
    fresh = ledger.certificate_package(number)
    return {**package, "status": fresh["status"], "status_checkpoint": fresh["status_checkpoint"]}


def check_package(package: Any, keys: list[NoteVerifier]) -> Verdict:
    """verify_package, but a member of the wrong JSON type is a verdict, not a server error."""
    try:
        return verify_package(package, keys)
    except (AttributeError, TypeError, KeyError, ValueError, LedgerError) as error:
        return Verdict(False, f"the package is malformed: {error}")


def _known(ledger: Ledger, certificate_number: str) -> bool:
    try:
        ledger.certificate(certificate_number)
    except NotFoundError:
        return False
    return True


def _verify_credential(ledger: Ledger, credential: dict[str, Any]) -> tuple[Verdict, Any]:
    """A bare credential: a certificate is checked against what the ledger logged; another
    credential (a badge) by its signature and its issuer's key registration here."""
    keys = ledger.log.verifiers()
    number = credential.get("certificateNumber")
    if isinstance(number, str):
        if not _known(ledger, number):
            alone = verify_document(json.dumps(credential), keys)
            return Verdict(
                False,
                f"certificate {number} is not in this ledger",
                {"signature_alone": alone.line()},
            ), None
        package = {**ledger.certificate_package(number), "credential": credential}
        return check_package(package, keys), package
    if "certificateNumber" in credential or CERTIFICATE_TYPE in (credential.get("type") or []):
        return Verdict(
            False, "a certificate credential names its certificate number, and this one does not"
        ), None
    try:
        verify_proof(credential)
        proof = credential["proof"]
        proof = proof[0] if isinstance(proof, list) and len(proof) == 1 else proof
        issuer_key = resolve_did_key(str(proof["verificationMethod"]))
    except (LedgerError, KeyError, TypeError) as error:
        return Verdict(False, f"the credential's signature does not verify: {error}"), None
    try:
        key = ledger.key(issuer_key.key_id)  # refreshed from the store first
    except NotFoundError:
        return Verdict(
            False,
            f"the credential's signature verifies, but its key {issuer_key.key_id} is not "
            "registered in this ledger",
        ), None
    withdrawn = _award_withdrawn(ledger, credential, key)
    if withdrawn is not None:
        return Verdict(False, withdrawn, {"issuer": key["org"], "key_id": key["key_id"]}), None
    return Verdict(
        True,
        f"the credential's signature verifies with key {issuer_key.key_id} of "
        f"{key['org']}, registered in this ledger",
        {
            "issuer": key["org"],
            "key_id": key["key_id"],
            "key_registered_at_leaf": key["registered_at_leaf"],
            "key_revoked_at_leaf": key["revoked_at_leaf"],
        },
    ), None


def _award_withdrawn(ledger: Ledger, credential: dict[str, Any], key: dict[str, Any]) -> str | None:
    """Why a badge does not stand here: its status list names no award of this ledger, or an
    award other than the one it states (another organisation, volunteer or name), or the award
    was withdrawn (its honour revoked, its star level no longer held), read from the log as
    its Bitstring Status List would say; else None."""
    statuses = credential.get("credentialStatus")
    for status in statuses if isinstance(statuses, list) else [statuses]:
        if not isinstance(status, dict) or status.get("type") != "BitstringStatusListEntry":
            continue
        url = str(status.get("statusListCredential"))
        try:
            award = ledger.badge_award(url)
        except NotFoundError:
            return f"its status list {url} names no award of this ledger"
        subject = credential.get("credentialSubject")
        subject = subject if isinstance(subject, dict) else {}
        identifiers = subject.get("identifier")
        ids = [
            i.get("identityHash")
            for i in (identifiers if isinstance(identifiers, list) else [])
            if isinstance(i, dict)
        ]
        if award.org != key["org"] or ids != [award.number] or credential.get("name") != award.name:
            return (
                f"the badge does not state the award its status list names ({award.name!r} "
                f"of volunteer {award.number}, by {award.org!r})"
            )
        if award.revoked:
            return f"the award {award.name!r} no longer stands (its status list says revoked)"
    return None
