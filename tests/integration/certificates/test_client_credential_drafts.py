"""``ledger.client`` signs a certificate's credential only when it is the one the drafted event
commits to and names the organisation's own key as issuer; a transfer only when it moves what was
asked between the accounts asked for. The drafts come from a real ledger; a dishonest server (or
anyone between) is played by changing them on the way."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from test_certificates_town import CONTACT, Town, build_town

from ledger import Ledger, SigningKey
from ledger.certificates import verify_package
from ledger.certificates.credential import credential_sha256
from ledger.client import LedgerClient, LedgerClientError
from ledger.credentials import did_key
from ledger.credentials.status_list import encode_list
from ledger.errors import InvalidInputError

Opener = Callable[..., Ledger]
Tamper = Callable[[list[dict[str, Any]], dict[str, Any]], None]


@pytest.fixture
def town(open_ledger: Opener) -> Town:
    return build_town(open_ledger("memory://"))


def through(town: Town, tamper: Tamper, submitted: list[Any]) -> httpx.MockTransport:
    """Draft with the real ledger, let ``tamper`` change the bodies and value, and store what
    the client submits with the real ledger."""
    ledger = town.ledger

    def handle(request: httpx.Request) -> httpx.Response:
        asked = json.loads(request.content)
        if request.url.path.startswith("/drafts/"):
            command = request.url.path.rsplit("/", 1)[1]
            params = {**asked["params"], "idempotency_key": asked["idempotency_key"]}
            links = {"verify_base_url": "https://ledger.cert.example"}
            made = ledger.draft(
                command, "org-a", key_id=asked["key_id"], params=params,
                links=links if command == "issue_certificate" else None,
            )  # fmt: skip
            bodies = [json.loads(text) for text in made.texts()]
            value = json.loads(json.dumps(made.value))
            tamper(bodies, value)
            texts = [json.dumps(b, separators=(",", ":"), sort_keys=True) for b in bodies]
            return httpx.Response(200, json={"org": "org-a", "bodies": texts, "value": value})
        submitted.append(asked)
        signed = [(e["body"], e["signature"]) for e in asked["events"]]
        result = ledger.submit_signed(
            signed, credential=asked.get("credential"), status_list=asked.get("status_list")
        )
        events = [
            {"aggregate_id": e.aggregate_id, "version": e.version, "type": e.type,
             "leaf_index": e.leaf_index}
            for e in result.events
        ]  # fmt: skip
        return httpx.Response(201, json={"events": events, "value": result.value.to_json()})

    return httpx.MockTransport(handle)


def client(town: Town, tamper: Tamper, submitted: list[Any]) -> LedgerClient:
    signer = town.ledger.signer_for("org-a")
    return LedgerClient(
        "http://ledger.test", "unused", signer, org="org-a",
        transport=through(town, tamper, submitted),
    )  # fmt: skip


def issue(org: LedgerClient, town: Town, key: str = "cert") -> Any:
    return org.issue_certificate(
        idempotency_key=key, number=town.number, period_from=date(2025, 1, 1),
        period_to=date(2025, 12, 31), issuer_contact=CONTACT,
    )  # fmt: skip


def honest(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
    pass


def test_an_honest_draft_is_signed_and_the_stored_certificate_verifies(town: Town) -> None:
    submitted: list[Any] = []
    with client(town, honest, submitted) as org:
        issued = issue(org, town)
    number = issued.value.certificate_number
    assert submitted[0]["credential"] == issued.credential
    package = town.ledger.certificate_package(number)
    assert package["credential"] == issued.credential
    assert verify_package(package, town.log_keys).valid
    # the list the client signed is the one served, though the server holds a key of org-a too
    assert town.ledger.certificate_status_list(number) == submitted[0]["status_list"]


def more_minutes(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
    value["credential"]["credentialSubject"]["totalMinutes"] = 9000


def another_issuer(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
    """A consistent pair, event and credential, that names someone else's key as issuer."""
    credential = value["credential"]
    credential["issuer"]["id"] = did_key(SigningKey.generate().public_key)
    bodies[0]["data"]["credential_sha256"] = credential_sha256(credential)


def no_credential(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
    del value["credential"]


def list_saying_revoked(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
    value["status_list"]["credentialSubject"]["encodedList"] = encode_list([0])


def list_of_another_issuer(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
    value["status_list"]["issuer"] = did_key(SigningKey.generate().public_key)


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (more_minutes, "SHA-256 is not the event's credential_sha256"),
        (another_issuer, "issuer is not this organisation's key"),
        (no_credential, "no unsigned credential"),
        (list_saying_revoked, "status list"),
        (list_of_another_issuer, "status list"),
    ],
)
def test_a_tampered_certificate_draft_gets_no_signature(
    town: Town, tamper: Tamper, why: str
) -> None:
    submitted: list[Any] = []
    size = town.ledger.log_size()
    with client(town, tamper, submitted) as org, pytest.raises(LedgerClientError, match=why):
        issue(org, town)
    assert submitted == [] and town.ledger.log_size() == size


def transfer_bodies(signer_key_id: str, key: str, sent: dict[str, Any]) -> list[str]:
    common = {"transfer_id": "t-1", "bank_id": "bank", "amount": 5, "kind": "transfer",
              "reverses": None}  # fmt: skip
    bodies = []
    for kind, data in (
        ("CreditSent", {**common, "account": "bank:vol:A", "counterparty": "bank:vol:B", **sent}),
        ("CreditReceived", {**common, "account": "bank:vol:B", "counterparty": "bank:vol:A"}),
    ):
        body = {
            "type": kind,
            "org": "org-a",
            "key_id": signer_key_id,
            "aggregate_id": "4bf1a601-f913-5aeb-ace6-4e9a2644ac9d",
            "aggregate_version": 1,
            "occurred_at": "2026-03-05T10:00:00Z",
            "idempotency_key": key,
            "data": data,
        }
        bodies.append(json.dumps(body, separators=(",", ":"), sort_keys=True))
    return bodies


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ({}, None),
        ({"amount": 10}, "data.amount is 10, not 5"),
        ({"transfer_id": "t-2"}, "debit and credit differ in transfer_id"),
        ({"counterparty": "bank:vol:C"}, "not between the same two accounts"),
    ],
)
def test_a_transfer_is_signed_only_as_asked(town: Town, sent: dict[str, Any], why: str) -> None:
    signer = town.ledger.signer_for("org-a")
    submitted: list[Any] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/drafts/"):
            key = json.loads(request.content)["idempotency_key"]
            bodies = transfer_bodies(signer.key_id, key, sent)
            value = {"transfer_id": "t-1"}
            return httpx.Response(200, json={"org": "org-a", "bodies": bodies, "value": value})
        submitted.append(request)
        return httpx.Response(201, json={"events": [], "value": {}})

    org = LedgerClient(
        "http://ledger.test", "unused", signer, org="org-a", transport=httpx.MockTransport(handle)
    )
    with org:
        ask = {"idempotency_key": "give", "bank_id": "bank", "amount": 5}
        if why is None:
            org.transfer_credit(**ask, from_account="bank:vol:A", to_account="bank:vol:B")
            assert len(submitted) == 1
            with pytest.raises(LedgerClientError, match="other accounts than asked"):
                org.transfer_credit(
                    **(ask | {"idempotency_key": "give-2"}),
                    from_account="bank:vol:B", to_account="bank:vol:A",
                )  # fmt: skip
        else:
            with pytest.raises(LedgerClientError, match=why):
                org.transfer_credit(**ask, from_account="bank:vol:A", to_account="bank:vol:B")
    assert len(submitted) == (1 if why is None else 0)


def test_a_revocation_carries_a_list_saying_revoked_and_only_that(town: Town) -> None:
    submitted: list[Any] = []
    with client(town, honest, submitted) as org:
        number = issue(org, town).value.certificate_number

    def clear_bit(bodies: list[dict[str, Any]], value: dict[str, Any]) -> None:
        value["status_list"]["credentialSubject"]["encodedList"] = encode_list([])

    size = town.ledger.log_size()
    with client(town, clear_bit, submitted) as org, pytest.raises(LedgerClientError, match="list"):
        org.revoke_certificate(idempotency_key="rv-1", certificate_number=number, reason="twice")
    assert town.ledger.log_size() == size
    # The server refuses a "not revoked" list with a revocation, whoever built the request.
    body = json.loads(submitted[0]["events"][0]["body"])
    assert body["type"] == "CertificateIssued"
    with pytest.raises(InvalidInputError, match="does not say 'revoked'"):
        town.ledger._signed_credential_rows(
            [{**body, "type": "CertificateRevoked"}], None, submitted[0]["status_list"]
        )
    with client(town, honest, submitted) as org:
        org.revoke_certificate(idempotency_key="rv-2", certificate_number=number, reason="twice")
    said = town.ledger.certificate_status_list(number)
    assert said == submitted[-1]["status_list"]
    assert said["credentialSubject"]["encodedList"] == encode_list([0])
