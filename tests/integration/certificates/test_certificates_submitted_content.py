"""A certificate's credential signed at home and submitted with ``POST /events`` must be the one
the ledger writes for the logged event: the event commits to the credential's hash, which the
organisation computes itself, so the content is compared too. Before, an organisation could sign
into it the volunteer's full name without the ``certificate-name`` consent, or minutes the
ledger does not hold, and the server served it publicly and ``POST /verify`` called it valid."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_certificates_town import CONTACT, FULL_NAME, MASKED, Town, build_town

from ledger import Ledger
from ledger.apikeys import create_api_key
from ledger.canonical import canonical_json
from ledger.certificates.credential import credential_sha256, sign_credential
from ledger_api.app import create_app
from ledger_api.settings import Settings

EVENT_CONTEXT = b"service-hour-ledger/event/v1\n"


@dataclass
class AtHome:
    client: TestClient
    town: Town
    headers: dict[str, str]

    def submit_certificate(self, idempotency: str, change: Callable[[dict[str, Any]], None]) -> Any:
        """Draft a certificate as org-a signing at home, let ``change`` edit the credential,
        commit the event to the edited credential, sign both and submit them."""
        signer = self.town.ledger.signer_for("org-a")  # stands in for the key kept at home
        drafted = self.client.post(
            "/drafts/issue_certificate",
            headers=self.headers,
            json={
                "key_id": signer.key_id,
                "idempotency_key": idempotency,
                "params": {
                    "number": self.town.number,
                    "period_from": "2025-01-01",
                    "period_to": "2025-12-31",
                    "issuer_contact": CONTACT,
                },
            },
        )
        assert drafted.status_code == 200, drafted.text
        body = json.loads(drafted.json()["bodies"][0])
        credential = drafted.json()["value"]["credential"]
        change(credential)
        body["data"]["credential_sha256"] = credential_sha256(credential)
        signature = signer.sign(EVENT_CONTEXT + canonical_json(body))
        submitted = self.client.post(
            "/events",
            headers=self.headers,
            json={
                "events": [
                    {
                        "body": canonical_json(body).decode(),
                        "signature": base64.b64encode(signature).decode(),
                    }
                ],
                "credential": sign_credential(credential, signer, body["occurred_at"]),
            },
        )
        return submitted, body["data"]["certificate_number"]


@pytest.fixture
def at_home(
    open_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> Iterator[AtHome]:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    town = build_town(open_ledger("memory://"))
    key = create_api_key(town.ledger, "org-a", ["award"])
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=town.ledger)
    with TestClient(app) as client:
        yield AtHome(client, town, {"Authorization": f"Bearer {key}"})


def test_a_credential_naming_the_volunteer_without_consent_is_refused(at_home: AtHome) -> None:
    """No ``certificate-name`` consent: neither the full name nor the masked one may be signed
    in, and nothing of the refused submission is stored or served."""
    for name in (FULL_NAME, MASKED):

        def add_name(credential: dict[str, Any], name: str = name) -> None:
            credential["credentialSubject"]["maskedName"] = name

        size = at_home.town.ledger.log_size()
        submitted, number = at_home.submit_certificate(f"named-{len(name)}", add_name)
        assert submitted.status_code == 400, submitted.text
        assert "certificate-name consent" in submitted.json()["detail"]
        assert at_home.town.ledger.log_size() == size
        assert at_home.client.get(f"/certificates/{number}/credential").status_code == 404
        assert name not in at_home.client.get(f"/verify/{number}").text


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["credentialSubject"].update(approvedMinutes=99999),
        lambda c: c["credentialSubject"]["period"].update(to="2026-12-31"),
        lambda c: c["issuer"].update(name="City Hospital"),
        lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
        lambda c: c["evidence"][0].update(origin="elsewhere.example/log"),
    ],
    ids=["minutes", "period", "issuer", "date", "origin"],
)
def test_a_credential_stating_what_the_log_does_not_is_refused(
    at_home: AtHome, change: Callable[[dict[str, Any]], None]
) -> None:
    submitted, number = at_home.submit_certificate("changed", change)
    assert submitted.status_code == 400, submitted.text
    assert at_home.client.get(f"/certificates/{number}/credential").status_code == 404


def test_the_drafted_credential_signed_as_it_is_is_stored_and_verifies(at_home: AtHome) -> None:
    submitted, number = at_home.submit_certificate("as-drafted", lambda credential: None)
    assert submitted.status_code == 201, submitted.text
    served = at_home.client.get(f"/certificates/{number}/credential")
    assert served.status_code == 200
    assert at_home.client.post("/verify", json=served.json()).json()["valid"]
