"""The summary of a volunteer's approved service that a transfer-out commits to.

It is computed from the events of the volunteer's service account alone, by the same projector
the ledger uses (:class:`~ledger.model.service.ServiceAccount`), so the sender and any receiver
compute the same one from the same events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..canonical import canonical_json
from ..envelope import SignedEvent
from ..model.service import ServiceAccount, service_account_id

SUMMARY_FORMAT = "service-hour-ledger/transfer-summary/v1"


def summarise(
    *,
    number: str,
    transfer_id: str,
    from_origin: str,
    to_origin: str,
    events: Sequence[SignedEvent],
    key_evidence: dict[str, int],
) -> dict[str, Any]:
    """The summary of ``events``, versions 1..N of ``number``'s service account in order.

    ``key_evidence`` names, for each organisation whose keys the receiver must chain (the
    signers, those above them, the root), the version its aggregate had at the transfer-out:
    the package must hold that organisation's events 1..version, so that no key registration or
    revocation logged before the move can be left out."""
    account = ServiceAccount(aggregate_id=service_account_id(number))
    leaves: dict[str, list[int]] = {}
    for event in events:
        account.apply(event, event.data)
        record_id = event.data.get("record_id")
        if isinstance(record_id, str) and event.leaf_index is not None:
            leaves.setdefault(record_id, []).append(event.leaf_index)
    records = [
        {
            "record_id": r.record_id,
            "recording_org": r.recording_org,
            "field": r.service_field,
            "service_date": r.service_date,
            "minutes": r.credited_minutes,
            "leaves": leaves.get(r.record_id, []),
        }
        for r in account.records.values()
        if r.credited_minutes
    ]
    return {
        "format": SUMMARY_FORMAT,
        "number": number,
        "transfer_id": transfer_id,
        "from_origin": from_origin,
        "to_origin": to_origin,
        "covers_version": len(events),
        "account_leaves": [e.leaf_index for e in events],
        "records": records,
        "approved_minutes": sum(r["minutes"] for r in records),
        "key_evidence": dict(sorted(key_evidence.items())),
    }


def summary_digest(summary: dict[str, Any]) -> str:
    """SHA-256 (hex) of the summary's canonical JSON: what the transfer-out signs."""
    return hashlib.sha256(canonical_json(summary)).hexdigest()
