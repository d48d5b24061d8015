"""The sender's side: the package that proves a transfer-out and the service it summarises.

A package is JSON, holds no personal data, and is checked by the receiver against the sender's
pinned anchors alone (see :mod:`.verify`)::

    {"format": PACKAGE_FORMAT, "origin": ..., "transfer_id": ...,
     "checkpoint": <signed note, cosigned by the sender's witnesses>,
     "summary": <the summary the transfer-out commits to>,
     "transfer_out": <entry>, "service": [<entry>, ...], "keys": [<entry>, ...]}

where each entry is ``{"leaf_index": i, "entry": <the stored envelope, canonical JSON text>,
"proof": [<base64 hash>, ...]}``, its RFC 9162 inclusion proof in the checkpoint's tree.
``service`` holds every event of the volunteer's service account before the transfer-out;
``keys`` every event, up to the version the summary's ``key_evidence`` names, of each
organisation that signed one of them and of the organisations above it (the root's first is the
genesis): their registrations and key registrations and revocations chain each signing key to
the pinned root key, and being complete they leave no revocation out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..canonical import parse_json
from ..envelope import SignedEvent
from ..errors import NotFoundError, StorageError
from ..log.checkpoint import Checkpoint
from ..log.note import parse_note
from ..model.ids import organisation_aggregate_id
from ..model.service import service_account_id
from ..signing import b64encode
from .summary import summarise, summary_digest

if TYPE_CHECKING:
    from ..ledger import Ledger

PACKAGE_FORMAT = "service-hour-ledger/transfer-package/v1"
CHAIN_EVENT_TYPES = ("LedgerCreated", "OrganisationRegistered", "KeyRegistered", "KeyRevoked")
TRANSFERS_OUT = "federation-transfer-out"  # side table: transfer id -> the summary signed out


def build_package(ledger: Ledger, transfer_id: str) -> dict[str, Any]:
    """The package of the transfer-out ``transfer_id`` of this ledger, with a checkpoint that
    covers it (signed now if none does yet; with whatever cosignatures its witnesses gave)."""
    stored = ledger._recorder.side_get(TRANSFERS_OUT, transfer_id)
    if stored is None:
        raise NotFoundError(f"transfer {transfer_id} is not a transfer-out of this ledger")
    summary = parse_json(stored)
    number = summary["number"]
    events = ledger.events(service_account_id(number))
    outs = [
        e
        for e in events
        if e.type == "VolunteerTransferredOut" and e.data["transfer_id"] == transfer_id
    ]
    if len(outs) != 1 or outs[0].leaf_index is None:
        raise StorageError(f"the transfer-out {transfer_id} of {number} is not in the log")
    out = outs[0]
    assert out.leaf_index is not None
    service = events[: out.originator_version - 1]
    note = ledger.log.checkpoint_covering(out.leaf_index)
    size = Checkpoint.parse(parse_note(note)[0]).size
    recomputed = summarise(
        number=number,
        transfer_id=transfer_id,
        from_origin=summary["from_origin"],
        to_origin=out.data["to_origin"],
        events=service,
        key_evidence=summary["key_evidence"],
    )
    if recomputed != summary or summary_digest(summary) != out.data["summary_sha256"]:
        raise StorageError(f"the service of {number} no longer gives the summary signed out")
    evidence = [
        e
        for org, version in sorted(summary["key_evidence"].items())
        for e in ledger.events(organisation_aggregate_id(org))[:version]
    ]
    return {
        "format": PACKAGE_FORMAT,
        "origin": summary["from_origin"],
        "transfer_id": transfer_id,
        "checkpoint": note,
        "summary": summary,
        "transfer_out": _entry(ledger, out, size),
        "service": [_entry(ledger, e, size) for e in service],
        "keys": [_entry(ledger, e, size) for e in sorted(evidence, key=_leaf)],
    }


def key_evidence_orgs(
    signers: Iterable[str], ancestors: Callable[[str], list[str]], root: str
) -> set[str]:
    """The organisations whose histories chain the signers' keys to the root."""
    orgs = {root}
    for org in signers:
        orgs.add(org)
        orgs.update(ancestors(org))
    return orgs


def _leaf(event: SignedEvent) -> int:
    return event.leaf_index or 0


def _entry(ledger: Ledger, event: SignedEvent, size: int) -> dict[str, Any]:
    assert event.leaf_index is not None
    proof = ledger.log.inclusion_proof(event.leaf_index, size)
    return {
        "leaf_index": event.leaf_index,
        "entry": event.envelope.decode("utf-8"),
        "proof": [b64encode(h) for h in proof],
    }
