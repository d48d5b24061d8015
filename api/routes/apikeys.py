"""API keys over HTTP, for an API key with the ``admin`` scope: list the keys of its
organisation and those below it (with their last use), create one, revoke one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from ledger.apikeys import SCOPES, create_api_key_once, list_api_keys, revoke_api_key

from ..deps import AdminOrg, CurrentKey, LedgerDep
from ..schemas import IdempotencyKey, Strict

router = APIRouter(tags=["api keys"])


class ApiKeyIn(Strict):
    scopes: list[str] = Field(min_length=1, max_length=len(SCOPES), examples=[["read"]])
    expires: datetime | None = Field(default=None, description="an ISO 8601 time with a zone")
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000)


@router.get("/api-keys")
def list_keys(ledger: LedgerDep, org: AdminOrg) -> dict[str, Any]:
    """Keys of the acting organisation and those below it: scopes, expiry, revocation, last use
    (to the minute). Secrets are never shown again."""
    return {"items": list_api_keys(ledger, org)}


@router.post("/api-keys", status_code=201)
def create_key(
    body: ApiKeyIn,
    ledger: LedgerDep,
    org: AdminOrg,
    key: CurrentKey,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> dict[str, Any]:
    """A new key for the acting organisation, with at most the scopes of the key that asks.

    A retry with the same ``Idempotency-Key`` and body creates nothing and names the key made
    first (``Idempotent-Replayed: true``); its secret was shown once and is not kept, so it is
    not shown again. The same ``Idempotency-Key`` with another body is 409."""
    made = create_api_key_once(
        ledger,
        org,
        body.scopes,
        idempotency_key=idempotency_key,
        granted_by=key.scopes,
        expires=body.expires,
        rate_per_minute=body.rate_per_minute,
    )
    if made["replayed"]:
        response.headers["Idempotent-Replayed"] = "true"
    return made


@router.post("/api-keys/{key_id}/revoke")
def revoke_key(
    key_id: str, ledger: LedgerDep, org: AdminOrg, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """Revoke a key of the acting organisation or one below it; it is refused from now on."""
    return revoke_api_key(ledger, key_id, by_org=org)
