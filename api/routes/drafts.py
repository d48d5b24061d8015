"""Drafts: the bodies a command would store, for an organisation to sign on its own machine.

``POST /drafts/{command}`` runs the command's rules without storing anything and returns the
canonical bodies to sign with the named key; the signed bodies go to ``POST /events``. The server
never needs the organisation's private key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import Field

from ledger.drafting import DRAFTABLE

from ..deps import CurrentKey, LedgerDep, acting_org
from ..schemas import AsOrg, Strict
from .certificates import local_links_allowed, public_base

router = APIRouter(tags=["signing outside the ledger"])
COMMANDS = "|".join(sorted(DRAFTABLE))


class DraftIn(Strict):
    key_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    idempotency_key: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)


@router.post("/drafts/{command}")
def draft(
    body: DraftIn,
    request: Request,
    ledger: LedgerDep,
    key: CurrentKey,
    as_org: AsOrg = None,
    command: str = Path(pattern=f"^({COMMANDS})$"),
) -> dict[str, Any]:
    """The unsigned canonical bodies of ``command`` for the acting organisation and its key."""
    org = acting_org(ledger, key, DRAFTABLE[command][0], as_org)
    params = {**body.params, "idempotency_key": body.idempotency_key}
    if command == "issue_certificate":  # the links signed into it, as POST /certificates
        links: dict[str, Any] = {
            "verify_base_url": public_base(request),
            "allow_local_links": local_links_allowed(request),
        }
    else:
        links = {}
    made = ledger.draft(command, org, key_id=body.key_id, params=params, links=links)
    return {"org": org, "bodies": made.texts(), "value": made.value}
