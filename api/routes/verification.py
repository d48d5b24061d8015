"""Public verification: any event with its signature, key, leaf, inclusion proof and
checkpoint; consistency proofs; receipts; and submitting events signed elsewhere."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ledger import InvalidInputError, Ledger, LedgerError, SignedEvent
from ledger.transparency import Inclusion

from ..async_leaves import AsyncLeafReader
from ..deps import CurrentKey, LedgerDep
from ..problems import Problem
from ..replicas import ReadLedgerDep, get_read_ledger
from ..schemas import CommandOut, Strict, command_out
from ..scopes import require_event_scope

router = APIRouter(tags=["verification"])
# Evidence names its key's registration and revocation leaves as read from the store at most
# this long ago (as its checkpoint: see TransparencyLog._recent_checkpoint_covering).
KEY_FACTS_SECONDS = 1.0


class SignedEventIn(Strict):
    body: str = Field(description="the RFC 8785 canonical JSON body exactly as signed")
    signature: str = Field(description="base64 Ed25519 signature of the signing input")


class SubmitIn(Strict):
    events: list[SignedEventIn] = Field(min_length=1, max_length=100)
    # A CertificateIssued event's credential, signed by the same organisation with the same key
    credential: dict[str, Any] | None = None
    # ... and its status list, signed by the same key, saying "not revoked"
    status_list: dict[str, Any] | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def evidence(
    ledger: Ledger, event: SignedEvent, included: Inclusion | None = None
) -> dict[str, Any]:
    """Everything a verifier needs, with nothing to trust but the log key and the org key
    (``included``: the event's inclusion, already checked, when it was read with the event)."""
    assert event.leaf_index is not None
    # Never evidence that does not verify: the stored proof must lead to the signed root.
    if included is None:
        included = ledger.log.inclusion(event.leaf_index, event.leaf_hash)
    key = ledger.key(event.key_id, within_seconds=KEY_FACTS_SECONDS)
    return {
        "event": event.to_json(),
        "envelope": event.envelope.decode("utf-8"),
        "key": {
            name: key[name]
            for name in (
                "key_id",
                "org",
                "public_key",
                "purpose",
                "registered_at_leaf",
                "revoked_at_leaf",
            )
        },
        "leaf_index": event.leaf_index,
        "leaf_hash": _b64(event.leaf_hash),
        "tree_size": included.size,
        "inclusion_proof": [_b64(h) for h in included.proof],
        "checkpoint": included.note,
        "log_verifier_keys": ledger.log.verifier_keys(),
    }


@router.get("/events/{aggregate_id}/{version}")
def get_event(
    ledger: ReadLedgerDep,
    aggregate_id: str = Path(pattern=r"^[0-9a-f-]{36}$"),
    version: int = Path(ge=1, le=2**53),
) -> dict[str, Any]:
    """An event by aggregate and version, with the evidence to verify it independently."""
    return evidence(ledger, ledger.event(aggregate_id, version))


@router.get("/leaves/{leaf_index}")
async def get_leaf(request: Request, leaf_index: int = Path(ge=0, le=2**53)) -> JSONResponse:
    """The event at a leaf index of the Merkle log, with its evidence."""
    primary: Ledger = request.app.state.ledger
    if primary.store.kind != "postgresql":
        # An embedded store is read on the event loop: one bounded read in this process (the
        # row and O(log n) nodes; a WAL reader never waits for a writer), which costs less than
        # the thread hop and the GIL hand-offs of a pooled thread.
        return JSONResponse(leaf_evidence(request, leaf_index))
    reader: AsyncLeafReader | None = getattr(request.app.state, "leaf_reader", None)
    plan = primary.log.inclusion_plan(leaf_index) if reader is not None else None
    if reader is None or plan is None:  # standbys, or no fresh checkpoint covering the leaf
        return JSONResponse(await run_in_threadpool(leaf_evidence, request, leaf_index))
    # A PostgreSQL read waits for the server: awaited on the loop, over its own connections;
    # the keys are brought up to date in a thread when checking the event would read them.
    stored, nodes = await reader.leaf_and_nodes(plan)
    position = 0 if stored is None or stored.id is None else stored.id
    if not primary.keys_current_within(KEY_FACTS_SECONDS * 0.9, position):
        await run_in_threadpool(primary.refresh)
    return JSONResponse(evidence(primary, *primary.inclusion_from(plan, stored, nodes)))


def leaf_evidence(request: Request, leaf_index: int) -> dict[str, Any]:
    """The evidence of the event at a leaf, from the ledger reads go to (in one thread hop; the
    leaf's row and its proof's nodes in one read of the store)."""
    ledger = get_read_ledger(request)
    event, included = ledger.event_with_inclusion(leaf_index)
    return evidence(ledger, event, included)


@router.get(
    "/receipts/{leaf_index}",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
def receipt(ledger: ReadLedgerDep, leaf_index: int = Path(ge=0, le=2**53)) -> PlainTextResponse:
    """A C2SP tlog-proof@v1 receipt (its ``extra`` line is the event), to verify offline."""
    text = ledger.log.receipt(leaf_index)
    return PlainTextResponse(
        text,
        headers={"Content-Disposition": f'attachment; filename="leaf-{leaf_index}.tlog-proof"'},
    )


@router.get("/proofs/consistency")
def consistency(
    ledger: ReadLedgerDep, old: int = Query(ge=0, le=2**53), new: int = Query(ge=0, le=2**53)
) -> dict[str, Any]:
    """A consistency proof that the tree of ``new`` leaves extends the tree of ``old``."""
    proof = ledger.log.consistency_proof(old, new)
    return {
        "old_size": old,
        "new_size": new,
        "old_root": _b64(ledger.log.root(old)),
        "new_root": _b64(ledger.log.root(new)),
        "proof": [_b64(h) for h in proof],
    }


@router.get("/checkpoints")
def checkpoints(ledger: ReadLedgerDep, limit: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    """The newest signed checkpoints (every signed checkpoint is kept)."""
    notes = ledger.log.checkpoints()[-limit:]
    return {"items": list(reversed(notes))}


@router.post("/events", status_code=201, response_model=CommandOut)
def submit(body: SubmitIn, ledger: LedgerDep, key: CurrentKey, response: Response) -> CommandOut:
    """Store events an organisation signed itself, exactly as signed, all or nothing.

    The API key must belong to the signing organisation (or one above it); the same rules apply
    as to every other write, and a body's own idempotency key makes retries safe.
    """
    from ledger.canonical import parse_json

    for item in body.events:
        try:
            parsed = parse_json(item.body)
        except LedgerError:
            raise InvalidInputError(
                "each event's body is the canonical JSON text it was signed as"
            ) from None
        signer = parsed.get("org") if isinstance(parsed, dict) else None
        if isinstance(parsed, dict):
            require_event_scope(parsed.get("type"), key.scopes)
        if not isinstance(signer, str) or not ledger.acts_for(key.org, signer):
            raise Problem(
                403,
                "not-your-organisation",
                "Not your organisation",
                "submit only events signed by your organisation or one below it",
            )
    result = ledger.submit_signed(
        [(e.body, e.signature) for e in body.events],
        credential=body.credential,
        status_list=body.status_list,
    )
    return command_out(result, response)
