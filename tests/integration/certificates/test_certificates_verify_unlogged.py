"""``POST /verify`` answers "invalid" for credentials the log does not back: a certificate
credential without a string ``certificateNumber`` (it was taken for a badge, and a badge signed
by any registered key was valid), and a badge whose status list names another award (another
organisation's, volunteer's or name) or no award of this ledger."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_certificates_town import Town, build_town

from ledger import Ledger
from ledger.credentials import add_proof, as_proof_set, did_key, did_key_verification_method
from ledger.signing import Signer
from ledger_api.app import create_app
from ledger_api.settings import Settings

BASE = "https://ledger.cert.example"


@pytest.fixture
def served(
    open_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Town, TestClient]]:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    town = build_town(open_ledger("memory://"))
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=town.ledger)
    with TestClient(app) as client:
        yield town, client


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
