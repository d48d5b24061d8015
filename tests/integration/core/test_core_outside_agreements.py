"""Bodies signed outside the ledger meet the same authority table as commands: an organisation
cannot sign its way around the volunteer's home organisation."""

from __future__ import annotations

from typing import Any

from core_support import key_of, outside_body, refused, sign_outside

from ledger import AgreementMissingError, KeyNotAuthorisedError, Ledger
from ledger.model.ids import volunteer_aggregate_id
from ledger.model.timebank import account_aggregate_id

City = tuple[Ledger, dict[str, str]]


def _signed(ledger: Ledger, org: str, event_type: str, aggregate: Any, data: dict[str, Any]) -> Any:
    key = key_of(ledger, org)
    body = outside_body(
        ledger,
        event_type=event_type,
        org=org,
        key=key,
        aggregate_id=aggregate,
        data=data,
        idempotency_key="outside",
    )
    return body, sign_outside(body, key)


def test_signed_membership_and_consent_for_anothers_volunteer_are_refused(city: City) -> None:
    ledger, info = city
    number = info["number"]
    aggregate = volunteer_aggregate_id(number)
    for event_type, data in [
        ("MembershipJoined", {"number": number, "org_id": "org-b"}),
        ("ConsentGiven", {"number": number, "purpose": "share-personal-data"}),
    ]:
        with refused(ledger, AgreementMissingError):
            ledger._writer.submit([_signed(ledger, "org-b", event_type, aggregate, data)])


def test_a_signed_grant_by_the_requester_itself_is_refused(city: City) -> None:
    ledger, info = city
    number = info["number"]
    asked = ledger.request_agreement(
        "org-b", number=number, rights=["membership"], idempotency_key="ask"
    )
    grant = _signed(
        ledger,
        "org-b",
        "AgreementGranted",
        volunteer_aggregate_id(number),
        {"number": number, "agreement_id": asked.value.agreement_id},
    )
    with refused(ledger, KeyNotAuthorisedError, match="home organisation 'org-a'"):
        ledger._writer.submit([grant])


def test_a_signed_credit_move_out_of_anothers_volunteers_account_is_refused(city: City) -> None:
    ledger, info = city
    number = info["number"]
    ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
    ledger.open_time_bank("city", bank_id="bank", idempotency_key="bank")
    source, target = f"bank:vol:{number}", "bank:org:org-b"
    common = {"transfer_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "bank_id": "bank"}
    common |= {"amount": 1, "kind": "transfer", "reverses": None}
    sent = _signed(
        ledger,
        "org-b",
        "CreditSent",
        account_aggregate_id(source),
        {**common, "account": source, "counterparty": target},
    )
    received = _signed(
        ledger,
        "org-b",
        "CreditReceived",
        account_aggregate_id(target),
        {**common, "account": target, "counterparty": source},
    )
    with refused(ledger, AgreementMissingError, match="'credit'"):
        ledger._writer.submit([sent, received])
