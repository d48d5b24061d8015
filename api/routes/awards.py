"""Star schemes and honours."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import Field

from ledger.commands.typed import GrantHonour, PublishStarScheme, ReviseStarScheme, RevokeHonour

from ..deps import AwardingOrg, LedgerDep
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["awards"])


class SchemeIn(Strict):
    scheme_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str = Field(min_length=1, max_length=200)
    thresholds_hours: list[int] = Field(
        default=[100, 300, 600, 1000, 1500], min_length=1, max_length=10
    )


class RevisionIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    thresholds_hours: list[int] = Field(min_length=1, max_length=10)


class HonourIn(Strict):
    recipient_kind: Literal["volunteer", "organisation"]
    recipient: str = Field(min_length=2, max_length=64)
    honour: str = Field(min_length=1, max_length=200)
    citation: str = Field(min_length=1, max_length=2000)
    granted_on: date


class HonourRevokeIn(Strict):
    recipient_kind: Literal["volunteer", "organisation"]
    recipient: str = Field(min_length=2, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/star-schemes", status_code=201, response_model=CommandOut)
def publish_scheme(
    body: SchemeIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Publish a star scheme (thresholds in hours; the owner issues stars automatically)."""
    return command_out(
        ledger.run(PublishStarScheme(org, **body.model_dump()), idempotency_key=idempotency_key),
        response,
    )


@router.post("/star-schemes/{scheme_id}/revisions", status_code=201, response_model=CommandOut)
def revise_scheme(
    scheme_id: str,
    body: RevisionIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            ReviseStarScheme(org, scheme_id=scheme_id, **body.model_dump()),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post("/honours", status_code=201, response_model=CommandOut)
def grant_honour(
    body: HonourIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Grant a named honour; its id is ``value.honour_id``."""
    return command_out(
        ledger.run(GrantHonour(org, **body.model_dump()), idempotency_key=idempotency_key), response
    )


@router.post("/honours/{honour_id}/revoke", status_code=201, response_model=CommandOut)
def revoke_honour(
    honour_id: str,
    body: HonourRevokeIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            RevokeHonour(org, honour_id=honour_id, **body.model_dump()),
            idempotency_key=idempotency_key,
        ),
        response,
    )
