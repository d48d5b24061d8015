"""What ``POST /verify`` calls valid is what the log backs, and malformed input is a verdict.

- A certificate package saved before the certificate was revoked is checked with the ledger's
  status note of now (docs/certificates.md: the page and ``POST /verify`` always fetch a fresh
  note); it was checked with its own old note and said valid.
- A certificate credential without a string ``certificateNumber`` was taken for a badge, valid
  when any registered key signed it; a badge whose status list names another award (another
  organisation's, volunteer's or name) or no award of this ledger was valid.
- A proof ``created`` whose year has thousands of digits raised a ValueError (past CPython's
  limit of 4300 digits) before any signature was checked: 500 over HTTP, and ``ledger verify``
  raised instead of giving a verdict.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_certificates_town import Town, build_town

from ledger import Ledger
from ledger.certificates import verify_document
from ledger.credentials import (
    add_proof,
    as_proof_set,
    did_key,
    did_key_verification_method,
    verify_proof,
)
from ledger.errors import LedgerError
from ledger.signing import Signer
from ledger_api.app import create_app
from ledger_api.settings import Settings

HUGE = "1" * 5000 + "-01-01T00:00:00Z"
BASE = "https://ledger.cert.example"


@pytest.fixture
def served(
    open_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Town, TestClient]]:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    town = build_town(open_ledger("memory://"))
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=town.ledger)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield town, client


def test_a_package_saved_before_the_revocation_is_revoked_at_post_verify(
    served: tuple[Town, TestClient],
) -> None:
    town, client = served
    number = town.issue()
    saved = client.get(f"/certificates/{number}/package").json()
    town.revoke(number, "hours were double counted")
    by_number = client.post("/verify", json={"certificate_number": number}).json()
    assert by_number["valid"] is False  # the ledger knows
    answer = client.post("/verify", json=saved).json()
    assert answer["valid"] is False, answer["line"]


def signed_as(document: dict[str, Any], signer: Signer, name: str) -> dict[str, Any]:
    unsigned = copy.deepcopy({k: v for k, v in document.items() if k != "proof"})
    unsigned["issuer"] = {**unsigned["issuer"], "id": did_key(signer.public_key), "name": name}
    signed = add_proof(
        unsigned, signer, did_key_verification_method(signer.public_key), "2025-12-01T00:00:00Z"
    )
    return as_proof_set(signed) if isinstance(document.get("proof"), list) else signed


def honour_badge(town: Town, honour: str = "Legal aid star") -> dict[str, Any]:
    honour_id = town.ledger.grant_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour=honour,
        citation="a year at the legal aid desk",
        granted_on=date(2025, 12, 5),
        idempotency_key=town.key("honour"),
    ).value.honour_id
    return town.ledger.badge(town.number, honour_id=honour_id, public_base_url=BASE)


@pytest.mark.parametrize("how", ["left out", "a list"])
def test_a_certificate_without_its_number_is_not_taken_for_a_badge(
    served: tuple[Town, TestClient], how: str
) -> None:
    """org-b, unrelated to org-a's volunteer, signs a certificate of 60000 minutes for them."""
    town, client = served
    genuine = town.ledger.certificate(town.issue())["credential"]
    forged = copy.deepcopy(genuine)
    forged["credentialSubject"]["approvedMinutes"] = 60000
    if how == "left out":
        del forged["certificateNumber"]
    else:
        forged["certificateNumber"] = [genuine["certificateNumber"]]
    forged = signed_as(forged, town.ledger.signer_for("org-b"), "Organisation B")
    answer = client.post("/verify", json=forged).json()
    assert answer["valid"] is False, answer["line"]


def test_a_badge_naming_another_award_s_status_list_is_invalid(
    served: tuple[Town, TestClient],
) -> None:
    """org-b signs a badge of a different honour for org-a's volunteer, naming the status list
    of an honour org-a did grant (still standing): nothing ties the list to the badge."""
    town, client = served
    badge = honour_badge(town)
    forged = copy.deepcopy(badge)
    forged["name"] = forged["credentialSubject"]["achievement"]["name"] = "Gold medal"
    forged = signed_as(forged, town.ledger.signer_for("org-b"), "Organisation B")
    answer = client.post("/verify", json=forged).json()
    assert answer["valid"] is False, answer["line"]


def huge_created(town: Town) -> dict[str, Any]:
    credential = copy.deepcopy(town.ledger.certificate(town.issue())["credential"])
    credential["proof"]["created"] = HUGE
    return credential


@pytest.mark.parametrize("number", ["left out", "unknown"])
def test_post_verify_answers_a_verdict_not_a_500(
    served: tuple[Town, TestClient], number: str
) -> None:
    town, client = served
    credential = huge_created(town)
    if number == "left out":
        del credential["certificateNumber"]
    else:
        credential["certificateNumber"] = "C2025-AAAAAAAAAA"
    response = client.post("/verify", json=credential)
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is False


def test_verify_document_and_verify_proof_refuse_it_as_invalid(
    served: tuple[Town, TestClient],
) -> None:
    town, _ = served
    credential = huge_created(town)
    with pytest.raises(LedgerError):
        verify_proof(credential)
    assert verify_document(json.dumps(credential), town.log_keys).valid is False
