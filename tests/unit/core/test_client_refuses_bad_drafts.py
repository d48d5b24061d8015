"""``ledger.client`` signs only what it asked for: a server (or anyone between) that drafts
another event type, another volunteer, another organisation or another key gets no signature,
and nothing is submitted."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ledger import SigningKey
from ledger.client import LedgerClient, LedgerClientError
from ledger.model.timebank import account_aggregate_id
from ledger.results import NoValue

KEY = SigningKey.generate()


def honest_body(**changes: Any) -> dict[str, Any]:
    body = {
        "type": "RecordApproved",
        "org": "org-a",
        "key_id": KEY.key_id,
        "aggregate_id": "4bf1a601-f913-5aeb-ace6-4e9a2644ac9d",
        "aggregate_version": 2,
        "occurred_at": "2026-03-05T10:00:00Z",
        "idempotency_key": "ok-1",
        "data": {"record_id": "V1-R1", "number": "V1", "approved_minutes": 60, "reason": None},
    }
    body.update(changes)
    return body


def serving(
    body: dict[str, Any], submitted: list[Any], value: dict[str, Any] | None = None
) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/drafts/"):
            text = json.dumps(body, separators=(",", ":"), sort_keys=True)
            drafted = {"org": "org-a", "bodies": [text], "value": value or {}}
            return httpx.Response(200, json=drafted)
        submitted.append(request)
        return httpx.Response(201, json={"events": [], "value": {}})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"type": "RecordVoided"}, "type"),
        ({"org": "org-b"}, "for 'org-b'"),
        ({"key_id": "0" * 32}, "another key"),
        ({"idempotency_key": "someone-else"}, "another idempotency key"),
        (
            {
                "data": {
                    "record_id": "V2-R9",
                    "number": "V2",
                    "approved_minutes": 60,
                    "reason": None,
                }
            },
            "data.record_id",
        ),
        (
            {
                "data": {
                    "record_id": "V1-R1",
                    "number": "V1",
                    "approved_minutes": 600,
                    "reason": None,
                }
            },
            "data.approved_minutes",
        ),
    ],
)
def test_a_draft_that_is_not_what_was_asked_is_not_signed(
    changes: dict[str, Any], why: str
) -> None:
    submitted: list[Any] = []
    transport = serving(honest_body(**changes), submitted)
    client = LedgerClient("http://ledger.test", "k", KEY, org="org-a", transport=transport)
    with client, pytest.raises(LedgerClientError, match="refusing to sign") as caught:
        client.approve_record(idempotency_key="ok-1", record_id="V1-R1", approved_minutes=60)
    assert why in str(caught.value)
    assert submitted == [], "nothing may be submitted after a refused draft"


def test_the_honest_draft_is_signed_and_submitted() -> None:
    submitted: list[httpx.Request] = []
    transport = serving(honest_body(), submitted)
    with LedgerClient("http://ledger.test", "k", KEY, org="org-a", transport=transport) as client:
        client.approve_record(idempotency_key="ok-1", record_id="V1-R1", approved_minutes=60)
    assert len(submitted) == 1
    sent = json.loads(submitted[0].content)["events"][0]
    assert json.loads(sent["body"]) == honest_body()


def test_the_honest_draft_gives_the_commands_typed_value() -> None:
    submitted: list[httpx.Request] = []
    transport = serving(honest_body(), submitted)
    with LedgerClient("http://ledger.test", "k", KEY, org="org-a", transport=transport) as client:
        done = client.approve_record(idempotency_key="ok-1", record_id="V1-R1")
    assert done.value == NoValue() and done.credential is None


@pytest.mark.parametrize("value", [{"record_id": "V9-R1"}, {"number": "V1"}])
def test_a_draft_whose_value_is_not_the_commands_is_not_signed(value: dict[str, Any]) -> None:
    submitted: list[Any] = []
    transport = serving(honest_body(), submitted, value)
    client = LedgerClient("http://ledger.test", "k", KEY, org="org-a", transport=transport)
    with client, pytest.raises(LedgerClientError, match="not a NoValue"):
        client.approve_record(idempotency_key="ok-1", record_id="V1-R1", approved_minutes=60)
    assert submitted == [], "nothing may be submitted after a refused draft"


REVERSED = "6f1a1f6e-58c6-4f4e-9d0b-3d9b0d1c2e4f"


def reversal(receiver: str, sender: str) -> list[dict[str, Any]]:
    """The two bodies of a reversal moving 40 back from ``receiver`` to ``sender``."""
    common = {
        "transfer_id": "0d6c1c7e-2b47-4f5a-8a43-52b0a1f0c9aa",
        "bank_id": "bank",
        "amount": 40,
        "kind": "reversal",
        "reverses": REVERSED,
    }
    return [
        honest_body(
            type=event_type,
            aggregate_id=str(account_aggregate_id(account)),
            aggregate_version=3,
            data={**common, "account": account, "counterparty": counterparty},
        )
        for event_type, account, counterparty in (
            ("CreditSent", receiver, sender),
            ("CreditReceived", sender, receiver),
        )
    ]


def serving_bodies(bodies: list[dict[str, Any]], submitted: list[Any]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/drafts/"):
            texts = [json.dumps(b, separators=(",", ":"), sort_keys=True) for b in bodies]
            value = {"transfer_id": bodies[0]["data"]["transfer_id"]}
            return httpx.Response(200, json={"org": "org-a", "bodies": texts, "value": value})
        submitted.append(request)
        return httpx.Response(201, json={"events": [], "value": {}})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("named", "signed"),
    [
        ("bank:vol:VRECEIVER", True),  # the receiver: found there
        ("bank:vol:VSENDER", True),  # the sender: found there too
        ("bank:vol:VSOMEONE", False),  # a reversal between two other accounts is not signed
    ],
)
def test_a_reversal_named_by_an_account_is_signed_only_between_it_and_another(
    named: str, signed: bool
) -> None:
    submitted: list[Any] = []
    transport = serving_bodies(reversal("bank:vol:VRECEIVER", "bank:vol:VSENDER"), submitted)
    client = LedgerClient("http://ledger.test", "k", KEY, org="org-a", transport=transport)
    with client:
        if signed:
            client.reverse_transfer(
                idempotency_key="ok-1", bank_id="bank", transfer_id=REVERSED, account=named
            )
        else:
            with pytest.raises(LedgerClientError, match="other accounts than the one named"):
                client.reverse_transfer(
                    idempotency_key="ok-1", bank_id="bank", transfer_id=REVERSED, account=named
                )
    assert len(submitted) == (1 if signed else 0)
