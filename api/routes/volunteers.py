"""Volunteers: registration, consent, membership, transfers, and what they have done."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from ledger.balances import VolunteerBalance
from ledger.commands.typed import (
    AcceptTransfer,
    DeclineTransfer,
    GiveConsent,
    Join,
    Leave,
    RegisterVolunteer,
    RequestTransfer,
    WithdrawConsent,
)

from ..deps import CurrentKey, LedgerDep, QueriesDep, RegisteringOrg, acting_org
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["volunteers"])
PERSONAL_DATA_CONSENT = "share-personal-data"


class PersonalIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    id_number: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=1, max_length=200)
    is_minor: bool | None = None


class VolunteerIn(Strict):
    personal: PersonalIn | None = Field(
        default=None, description="kept in the erasable personal-data store, never in an event"
    )


class ConsentIn(Strict):
    purpose: str = Field(pattern=r"^[a-z][a-z-]{2,40}$", examples=[PERSONAL_DATA_CONSENT])
    given: bool


class TransferIn(Strict):
    to_org: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$")


class DeclineIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/volunteers", status_code=201, response_model=CommandOut)
def register_volunteer(
    body: VolunteerIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Register a volunteer under a new pseudonymous number (``value.number``)."""
    personal = body.personal.model_dump(exclude_none=True) if body.personal else None
    result = ledger.run(
        RegisterVolunteer(org, personal=personal or None), idempotency_key=idempotency_key
    )
    return command_out(result, response)


@router.get("/volunteers/{number}")
def get_volunteer(number: str, ledger: LedgerDep, key: CurrentKey) -> dict[str, Any]:
    """Membership, consents and transfers, and balances replayed from the signed events."""
    acting_org(ledger, key, "read", None)
    return {**ledger.volunteer(number), "balance": ledger.volunteer_balance(number)}


@router.get("/volunteers/{number}/records")
def volunteer_records(number: str, ledger: LedgerDep, key: CurrentKey) -> dict[str, Any]:
    """The volunteer's service records, each with its status."""
    acting_org(ledger, key, "read", None)
    ledger.volunteer(number)
    account = ledger.service_account(number)
    return {
        "number": number,
        "items": [
            {
                "record_id": r.record_id,
                "activity_id": r.activity_id,
                "recording_org": r.recording_org,
                "field": r.service_field,
                "service_date": r.service_date,
                "minutes": r.minutes,
                "credited_minutes": r.credited_minutes,
                "status": r.status,
                "late": r.late,
            }
            for r in account.records.values()
        ],
    }


@router.get("/volunteers/{number}/personal")
def personal_data(number: str, ledger: LedgerDep, key: CurrentKey) -> dict[str, Any]:
    """Personal data: the ``private`` scope, and what ``docs/authority.md`` asks: the home
    organisation (or above) or a ``personal-data`` agreement, and the volunteer's consent."""
    org = acting_org(ledger, key, "private", None)
    return {"number": number, "personal": ledger.personal_data_of(org, number)}


@router.get("/volunteers/{number}/balance")
def volunteer_balance(
    number: str, queries: QueriesDep, ledger: LedgerDep, key: CurrentKey
) -> VolunteerBalance:
    """The balance from the views (fast, derived; the events are the authority), in the shape
    of ``balance`` in ``GET /volunteers/{number}``."""
    acting_org(ledger, key, "read", None)
    return queries.volunteer(number)


@router.post("/volunteers/{number}/consents", status_code=201, response_model=CommandOut)
def consent(
    number: str,
    body: ConsentIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Record consent given or withdrawn, as the volunteer's organisation."""
    change = GiveConsent if body.given else WithdrawConsent
    return command_out(
        ledger.run(
            change(org, number=number, purpose=body.purpose), idempotency_key=idempotency_key
        ),
        response,
    )


@router.post("/volunteers/{number}/memberships", status_code=201, response_model=CommandOut)
def join(
    number: str,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """The acting organisation admits the volunteer as a member."""
    return command_out(
        ledger.run(Join(org, number=number), idempotency_key=idempotency_key), response
    )


@router.delete("/volunteers/{number}/memberships", status_code=201, response_model=CommandOut)
def leave(
    number: str,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """The volunteer leaves the acting organisation."""
    return command_out(
        ledger.run(Leave(org, number=number), idempotency_key=idempotency_key), response
    )


@router.post("/volunteers/{number}/transfers", status_code=201, response_model=CommandOut)
def request_transfer(
    number: str,
    body: TransferIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """The volunteer's current organisation asks another to take them over."""
    return command_out(
        ledger.run(
            RequestTransfer(org, number=number, to_org=body.to_org), idempotency_key=idempotency_key
        ),
        response,
    )


@router.post(
    "/volunteers/{number}/transfers/{transfer_id}/accept",
    status_code=201,
    response_model=CommandOut,
)
def accept_transfer(
    number: str,
    transfer_id: str,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            AcceptTransfer(org, number=number, transfer_id=transfer_id),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post(
    "/volunteers/{number}/transfers/{transfer_id}/decline",
    status_code=201,
    response_model=CommandOut,
)
def decline_transfer(
    number: str,
    transfer_id: str,
    body: DeclineIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            DeclineTransfer(org, number=number, transfer_id=transfer_id, reason=body.reason),
            idempotency_key=idempotency_key,
        ),
        response,
    )
