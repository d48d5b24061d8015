"""Erasing a volunteer's personal data over HTTP (scope ``erase``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import ErasingOrg, LedgerDep
from ..schemas import IdempotencyKey

router = APIRouter(tags=["privacy"])


@router.post("/volunteers/{number}/erasure")
def erase_personal_data(
    number: str, ledger: LedgerDep, org: ErasingOrg, idempotency_key: IdempotencyKey
) -> dict[str, Any]:
    """Erase the volunteer's personal data for good, recorded as a signed
    ``PersonalDataErased`` event that holds only the number. Idempotent: a repeat answers the
    same erasure (``already_erased``) and signs nothing new. Their events and hours stay
    verifiable; their personal data answers 410 Gone from then on."""
    return ledger.erase_personal_data(number, org=org, idempotency_key=idempotency_key)
