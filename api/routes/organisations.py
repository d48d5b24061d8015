"""Organisations and their keys."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from ledger import VerifyingKey
from ledger.commands.typed import RegisterKey, RegisterOrganisation, RevokeKey

from ..deps import KeyAdminOrg, LedgerDep, RegisteringOrg
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["organisations"])


class OrganisationIn(Strict):
    org_id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$", examples=["luzhou-town3"])
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["organisation", "team", "station"]
    region: str = Field(pattern=r"^[0-9]{2,12}$")


class KeyIn(Strict):
    public_key: str = Field(description="raw 32-byte Ed25519 public key, standard base64")
    purpose: Literal["signing", "automatic-awards"] = "signing"


class RevokeIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/orgs", status_code=201, response_model=CommandOut)
def register_organisation(
    body: OrganisationIn,
    ledger: LedgerDep,
    org: RegisteringOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Register an organisation under the acting one, which signs as its parent."""
    result = ledger.run(
        RegisterOrganisation(org, **body.model_dump()), idempotency_key=idempotency_key
    )
    return command_out(result, response)


@router.get("/orgs/{org_id}")
def get_organisation(org_id: str, ledger: LedgerDep) -> dict[str, Any]:
    """An organisation as its signed events describe it, with its keys and their validity."""
    found = ledger.organisation(org_id)
    keys = ledger.organisation_keys(org_id)
    found["keys"] = {
        key_id: {
            **info,
            "public_key": keys[key_id]["public_key"] if key_id in keys else None,
            "registered_at_leaf": keys[key_id]["registered_at_leaf"] if key_id in keys else None,
            "revoked_at_leaf": keys[key_id]["revoked_at_leaf"] if key_id in keys else None,
        }
        for key_id, info in found["keys"].items()
    }
    return found


@router.post("/orgs/{org_id}/keys", status_code=201, response_model=CommandOut)
def register_key(
    org_id: str,
    body: KeyIn,
    ledger: LedgerDep,
    org: KeyAdminOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Register a public key of ``org_id`` (by its parent, or by itself for a rotation)."""
    result = ledger.run(
        RegisterKey(
            org,
            for_org=org_id,
            public_key=VerifyingKey.from_base64(body.public_key),
            purpose=body.purpose,
        ),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post("/orgs/{org_id}/keys/{key_id}/revoke", status_code=201, response_model=CommandOut)
def revoke_key(
    org_id: str,
    key_id: str,
    body: RevokeIn,
    ledger: LedgerDep,
    org: KeyAdminOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Revoke a key: it signs nothing new; what it signed stays valid."""
    result = ledger.run(
        RevokeKey(org, for_org=org_id, key_id=key_id, reason=body.reason),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.get("/keys/{key_id}")
def get_key(key_id: str, ledger: LedgerDep) -> dict[str, Any]:
    """A signing key: whose it is, what it may sign, and from which leaf of the log until which.

    ``registered_at_leaf`` and ``revoked_at_leaf`` are leaf indexes: ``/leaves/{i}`` there holds
    the event that registered or revoked the key, provable against any checkpoint."""
    return ledger.key(key_id)
