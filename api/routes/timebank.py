"""Time banks: opening one, moving credit, reversing a transfer, reading an account."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from ledger.commands.typed import CollectSurplus, OpenTimeBank, ReverseTransfer, TransferCredit
from ledger.errors import NotFoundError

from ..deps import CurrentKey, LedgerDep, QueriesDep, TimeBankOrg, acting_org
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["time bank"])
ACCOUNT = r"^[a-z0-9][a-z0-9-]{1,63}:(vol|org|surplus):[A-Za-z0-9.-]{2,64}$"


class BankIn(Strict):
    bank_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    credit_numerator: int = Field(default=1, ge=1, le=1000)
    credit_denominator: int = Field(default=1, ge=1, le=1000)
    cap_minutes: int | None = Field(default=None, ge=1)
    surplus_account: str | None = Field(default=None, pattern=ACCOUNT)


class TransferIn(Strict):
    from_account: str = Field(pattern=ACCOUNT)
    to_account: str = Field(pattern=ACCOUNT)
    amount: int = Field(ge=1, le=10**12)
    kind: Literal["transfer", "donation", "redemption", "collection"] = "transfer"


class CollectionIn(Strict):
    numbers: list[str] = Field(min_length=1, max_length=100)


@router.post("/time-banks", status_code=201, response_model=CommandOut)
def open_bank(
    body: BankIn,
    ledger: LedgerDep,
    org: TimeBankOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(OpenTimeBank(org, **body.model_dump()), idempotency_key=idempotency_key),
        response,
    )


@router.post("/time-banks/{bank_id}/transfers", status_code=201, response_model=CommandOut)
def transfer(
    bank_id: str,
    body: TransferIn,
    ledger: LedgerDep,
    org: TimeBankOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Move credit: one debit and one credit of the same amount (``value.transfer_id``)."""
    return command_out(
        ledger.run(
            TransferCredit(org, bank_id=bank_id, **body.model_dump()),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post("/time-banks/{bank_id}/collections", status_code=201, response_model=CommandOut)
def collect(
    bank_id: str,
    body: CollectionIn,
    ledger: LedgerDep,
    org: TimeBankOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Collect volunteers' surplus holdings into the bank's surplus account
    (``value.collected``: number -> amount)."""
    return command_out(
        ledger.run(
            CollectSurplus(org, bank_id=bank_id, numbers=body.numbers),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post(
    "/time-banks/{bank_id}/transfers/{transfer_id}/reverse",
    status_code=201,
    response_model=CommandOut,
)
def reverse(
    bank_id: str,
    transfer_id: str,
    ledger: LedgerDep,
    queries: QueriesDep,
    org: TimeBankOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
    account: str | None = Query(None, pattern=ACCOUNT),
) -> CommandOut:
    """Reverse a mistaken transfer by a new one pointing at it (at most once). ``account``,
    either account of the transfer, has it found in that account's verified state. Without it,
    the accounts the views hold for the transfer are tried the same way (the ledger checks them:
    a view behind the log or changed in its database finds nothing), then the receiving account
    stored with the transfer, and only then is it searched for among every credit movement of
    the ledger."""

    def reverse_from(side: str | None) -> CommandOut:
        command = ReverseTransfer(org, bank_id=bank_id, transfer_id=transfer_id, account=side)
        return command_out(ledger.run(command, idempotency_key=idempotency_key), response)

    if account is None:
        for hint in queries.accounts_of_transfer(bank_id, transfer_id)[:2]:  # its two sides
            with contextlib.suppress(NotFoundError):  # a hint the verified state does not bear
                return reverse_from(hint)
    return reverse_from(account)


@router.get("/time-banks/accounts/{account_id}")
def account(
    account_id: str,
    queries: QueriesDep,
    ledger: LedgerDep,
    key: CurrentKey,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=500),
) -> dict[str, Any]:
    """An account's balance and its movements, oldest first, with cursor pagination."""
    acting_org(ledger, key, "read", None)
    return queries.account(account_id, limit=limit, cursor=cursor)
