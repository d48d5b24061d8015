"""The life of a record: status, approval, rejection, correction, void."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ..deps import ApprovingOrg, LedgerDep
from ..replicas import get_read_ledger
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["activities and records"])
RECORD_ID = r"^V[A-Z2-7]{13}-R[1-9][0-9]{0,8}$"


class ApproveIn(Strict):
    approved_minutes: int | None = Field(default=None, ge=1, le=1440)
    reason: str | None = Field(default=None, min_length=1, max_length=2000)


class ApprovalIn(ApproveIn):
    record_id: str = Field(pattern=RECORD_ID)


class ApprovalsIn(Strict):
    approvals: list[ApprovalIn] = Field(min_length=1, max_length=1000)


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class CorrectIn(ReasonIn):
    delta_minutes: int = Field(ge=-1440, le=1440)


class VoidIn(Strict):
    grounds: str = Field(min_length=1, max_length=2000)


@router.get("/records/{record_id}")
async def record_status(record_id: str, request: Request) -> JSONResponse:
    """A record's status and every event that made it so (each with its leaf index)."""
    return JSONResponse(await run_in_threadpool(_record_status, request, record_id))


def _record_status(request: Request, record_id: str) -> dict[str, Any]:
    """Read in one thread hop from the ledger reads go to (a standby, or the primary)."""
    status: dict[str, Any] = get_read_ledger(request).record_status(record_id)
    return status


@router.post("/records/{record_id}/approve", status_code=201, response_model=CommandOut)
def approve(
    record_id: str,
    body: ApproveIn,
    ledger: LedgerDep,
    org: ApprovingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Approve (possibly fewer minutes, with a reason); stars and credit follow in the result."""
    return command_out(
        ledger.approve_record(
            org, record_id=record_id, idempotency_key=idempotency_key, **body.model_dump()
        ),
        response,
    )


@router.post("/records/approvals", status_code=201, response_model=CommandOut)
def approve_many(
    body: ApprovalsIn,
    ledger: LedgerDep,
    org: ApprovingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Approve many records at once, all or nothing."""
    return command_out(
        ledger.approve_records(
            org, approvals=[a.model_dump() for a in body.approvals], idempotency_key=idempotency_key
        ),
        response,
    )


@router.post("/records/{record_id}/reject", status_code=201, response_model=CommandOut)
def reject(
    record_id: str,
    body: ReasonIn,
    ledger: LedgerDep,
    org: ApprovingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.reject_record(
            org, record_id=record_id, reason=body.reason, idempotency_key=idempotency_key
        ),
        response,
    )


@router.post("/records/{record_id}/correct", status_code=201, response_model=CommandOut)
def correct(
    record_id: str,
    body: CorrectIn,
    ledger: LedgerDep,
    org: ApprovingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Amend an approved record by a signed minute delta; the original stays unchanged."""
    return command_out(
        ledger.correct_record(
            org,
            record_id=record_id,
            delta_minutes=body.delta_minutes,
            reason=body.reason,
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post("/records/{record_id}/void", status_code=201, response_model=CommandOut)
def void(
    record_id: str,
    body: VoidIn,
    ledger: LedgerDep,
    org: ApprovingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Void a record (an authority above the recording organisation), with grounds."""
    return command_out(
        ledger.void_record(
            org, record_id=record_id, grounds=body.grounds, idempotency_key=idempotency_key
        ),
        response,
    )
