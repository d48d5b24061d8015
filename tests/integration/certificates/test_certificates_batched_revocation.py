"""A CertificateIssued event submitted in one batch with a CertificateRevoked event and a "revoked"
status list has its credential checked like any other. Before, the credential rows returned
early for "a revocation with a status list", so the event was stored committing to a credential
the ledger never saw, which could state anything (99999 minutes and the volunteer's full name,
without consent), and ``POST /verify`` then called it valid."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from test_certificates_town import CONTACT, FULL_NAME, build_town

from ledger import Ledger
from ledger.canonical import canonical_json
from ledger.certificates.acceptance import verify_here
from ledger.certificates.credential import credential_sha256, sign_credential
from ledger.credentials import add_proof, did_key_verification_method
from ledger.errors import InvalidInputError

EVENT_CONTEXT = b"service-hour-ledger/event/v1\n"


def _batch(ledger: Ledger) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """org-a drafts a certificate, edits its credential (99999 minutes, the full name), commits
    the event to the edited credential, and submits it together with the revocation of an
    earlier certificate of its own and that one's "revoked" status list; no credential."""
    town = build_town(ledger)
    throwaway = town.issue()
    signer = ledger.signer_for("org-a")  # stands in for org-a's key kept at home
    drafted = ledger.draft(
        "issue_certificate",
        "org-a",
        key_id=signer.key_id,
        params={
            "number": town.number,
            "period_from": "2025-01-01",
            "period_to": "2025-12-31",
            "issuer_contact": CONTACT,
            "idempotency_key": "batch",
        },
        links={"verify_base_url": "https://ledger.cert.example"},
    )
    issued = json.loads(drafted.texts()[0])
    credential = drafted.value["credential"]
    credential["credentialSubject"]["approvedMinutes"] = 99999
    credential["credentialSubject"]["maskedName"] = FULL_NAME  # no certificate-name consent
    issued["data"]["credential_sha256"] = credential_sha256(credential)
    revoking = ledger.draft(
        "revoke_certificate",
        "org-a",
        key_id=signer.key_id,
        params={"certificate_number": throwaway, "reason": "cover", "idempotency_key": "batch"},
    )
    revoked = json.loads(revoking.texts()[0])
    status_list = add_proof(
        revoking.value["status_list"],
        signer,
        did_key_verification_method(signer.public_key),
        revoked["occurred_at"],
    )

    def signed(body: dict[str, Any]) -> tuple[str, str]:
        signature = signer.sign(EVENT_CONTEXT + canonical_json(body))
        return canonical_json(body).decode(), base64.b64encode(signature).decode()

    try:
        ledger.submit_signed([signed(issued), signed(revoked)], status_list=status_list)
        outcome: Any = None
    except InvalidInputError as error:
        outcome = error
    return sign_credential(credential, signer, issued["occurred_at"]), issued, outcome


def test_a_certificate_batched_with_a_revocation_gets_the_content_check(
    open_ledger: Callable[..., Ledger],
) -> None:
    ledger = open_ledger("memory://")
    _, _, refused = _batch(ledger)
    assert isinstance(refused, InvalidInputError), "the unchecked CertificateIssued was stored"


def test_no_credential_stating_other_figures_verifies(
    open_ledger: Callable[..., Ledger],
) -> None:
    """The consequence: POST /verify's verdict (VALID, "3 h 35 min") for a credential that
    says 99999 minutes and carries a full name."""
    ledger = open_ledger("memory://")
    credential, _, refused = _batch(ledger)
    if refused is not None:
        return  # refused at the door: nothing was logged to verify against
    assert credential["credentialSubject"]["approvedMinutes"] == 99999
    answer = verify_here(ledger, credential)
    assert answer["valid"] is False, answer["line"]
