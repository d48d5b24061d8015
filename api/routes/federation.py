"""Federation: the package that proves a transfer-out (public, like the log it is drawn from),
and the receiving side's transfer-in, verified against the pinned peer before anything is
stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Response
from pydantic import Field

from ledger.commands.typed import TransferIn

from ..deps import LedgerDep, RegisteringOrg
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["federation"])
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class TransferInBody(Strict):
    number: str = Field(
        pattern=r"^V[A-Z2-7]{13}$", description="the volunteer's number in this ledger"
    )
    package: dict[str, Any] = Field(description="the sending ledger's transfer package")


@router.get("/federation/transfers/{transfer_id}")
def transfer_package(
    ledger: LedgerDep, transfer_id: str = Path(pattern=UUID_PATTERN)
) -> dict[str, Any]:
    """The package proving a transfer-out of this ledger: the signed events, a cosigned
    checkpoint covering them, their inclusion proofs and the key evidence. No personal data."""
    return ledger.transfer_package(transfer_id)


@router.get("/federation/carried/{record_id}")
def carried_record(
    ledger: LedgerDep, record_id: str = Path(pattern=r"^V[A-Z2-7]{13}-R[1-9][0-9]{0,8}$")
) -> dict[str, Any]:
    """A record carried in from a peer ledger: the event here that carried it, the peer's
    checkpoint and transfer-out leaf it references, and the package that proves the peer's
    records, verified again (``problem`` is null when it holds)."""
    return ledger.carried_record(record_id)


@router.post("/federation/transfers-in", status_code=201, response_model=CommandOut)
def transfer_in(
    body: TransferInBody,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Receive a volunteer from a pinned peer: the package is verified against the peer's
    pinned anchors and witness quorum; a refused package stores nothing (422)."""
    result = ledger.run(
        TransferIn(org, number=body.number, package=body.package), idempotency_key=idempotency_key
    )
    return command_out(result, response)
