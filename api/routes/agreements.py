"""Agreements: another organisation asks a volunteer's home organisation for rights over the
volunteer (membership, consent, personal data, credit); the home organisation answers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import Field

from ledger.commands.typed import (
    DeclineAgreement,
    GrantAgreement,
    RequestAgreement,
    WithdrawAgreement,
)

from ..deps import LedgerDep, RegisteringOrg
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["volunteers"])
Right = Literal["membership", "consent", "personal-data", "credit"]


class AgreementIn(Strict):
    rights: list[Right] = Field(min_length=1, max_length=4, examples=[["membership"]])


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/volunteers/{number}/agreements", status_code=201, response_model=CommandOut)
def request_agreement(
    number: str,
    body: AgreementIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """The acting organisation asks the volunteer's home organisation for rights
    (``value.agreement_id``)."""
    result = ledger.run(
        RequestAgreement(org, number=number, rights=list(body.rights)),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post(
    "/volunteers/{number}/agreements/{agreement_id}/grant",
    status_code=201,
    response_model=CommandOut,
)
def grant_agreement(
    number: str,
    agreement_id: str,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """The home organisation agrees, for the volunteer."""
    result = ledger.run(
        GrantAgreement(org, number=number, agreement_id=agreement_id),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post(
    "/volunteers/{number}/agreements/{agreement_id}/decline",
    status_code=201,
    response_model=CommandOut,
)
def decline_agreement(
    number: str,
    agreement_id: str,
    body: ReasonIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    result = ledger.run(
        DeclineAgreement(org, number=number, agreement_id=agreement_id, reason=body.reason),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post(
    "/volunteers/{number}/agreements/{agreement_id}/withdraw",
    status_code=201,
    response_model=CommandOut,
)
def withdraw_agreement(
    number: str,
    agreement_id: str,
    body: ReasonIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """The home organisation, or the holder, ends a granted agreement."""
    result = ledger.run(
        WithdrawAgreement(org, number=number, agreement_id=agreement_id, reason=body.reason),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)
