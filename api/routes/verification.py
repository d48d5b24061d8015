"""Public verification: any event with its signature, key, leaf, inclusion proof and
checkpoint; consistency proofs; receipts; and submitting events signed elsewhere."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger import InvalidInputError, Ledger, LedgerError, SignedEvent
from ledger.async_leaves import AsyncLeafReads
from ledger.transparency import Inclusion

from ..deps import CurrentKey, LedgerDep
from ..problems import Problem
from ..replicas import ReadLedgerDep, get_read_ledger
from ..schemas import CommandOut, Strict, command_out
from ..scopes import require_event_scope
from .log import send_bytes

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


LEAF_PREFIX = "/leaves/"
LEAF_ROUTE = "/leaves/{leaf_index}"
MAX_LEAF = 2**53


@router.get(LEAF_ROUTE)
async def get_leaf(request: Request, leaf_index: int = Path(ge=0, le=MAX_LEAF)) -> Response:
    """The event at a leaf index of the Merkle log, with its evidence."""
    body = await leaf_on_loop(request.app, leaf_index)
    if body is None:  # standbys, or no fresh checkpoint covering the leaf
        return JSONResponse(await run_in_threadpool(leaf_evidence, request, leaf_index))
    return Response(body, media_type="application/json")


async def leaf_on_loop(app: FastAPI, leaf_index: int) -> bytes | None:
    """The evidence of the event at a leaf, as the JSON body :func:`get_leaf` sends, read
    without a pooled thread (whose hop and GIL hand-offs cost about as much as the read); None
    when it needs one. An embedded store is read on the loop: one bounded read in this process
    (the row and O(log n) nodes; a WAL reader never waits for a writer). A PostgreSQL read
    waits for the server, so it is awaited on the loop over the worker's own asynchronous
    connections (:class:`AsyncLeafReads`), when the checkpoint read last for evidence covers
    the leaf and reads go to the primary; the keys are brought up to date in a thread first
    when checking the event, or the key facts of the evidence, would read them."""
    primary: Ledger = app.state.ledger
    if primary.store.kind != "postgresql":
        return _json(evidence(primary, *primary.event_with_inclusion(leaf_index)))
    reads: AsyncLeafReads | None = getattr(app.state, "leaf_reads", None)
    if reads is None:
        return None
    found = await reads.event_with_inclusion(leaf_index, keys_within=KEY_FACTS_SECONDS)
    return None if found is None else _json(evidence(primary, *found))


def _json(content: dict[str, Any]) -> bytes:
    """``content`` as :class:`JSONResponse` renders it."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class LeavesOnLoop:
    """Answers ``GET /leaves/{i}`` with :func:`leaf_on_loop` before FastAPI's routing,
    dependencies and exception layers, when it can: the same status, headers and body as
    :func:`get_leaf`. Anything else goes on to the app, and so does a request it cannot answer
    or whose read fails: the route then answers it (an integrity failure is reported, logged
    and counted there, once). Installed inside the request counter, which labels these
    requests with the route."""

    def __init__(self, app: ASGIApp, route: BaseRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            leaf = _leaf_of(scope["path"])
            body = None
            if leaf is not None:
                try:
                    body = await leaf_on_loop(scope["app"], leaf)
                except Exception:  # the route reads it again and answers with its problem
                    body = None
            if body is not None:
                scope["route"] = self.route
                await send_bytes(send, 200, body, [(b"content-type", b"application/json")])
                return
        await self.app(scope, receive, send)


def _leaf_of(path: str) -> int | None:
    """The leaf index of a ``/leaves/{i}`` path written as the route reads it plainly (decimal
    digits, no sign or leading zero, within its bounds); None for any other path."""
    if not path.startswith(LEAF_PREFIX):
        return None
    digits = path[len(LEAF_PREFIX) :]
    if not (0 < len(digits) <= 16 and digits.isascii() and digits.isdigit()):
        return None
    if digits[0] == "0" and digits != "0":
        return None
    leaf = int(digits)
    return leaf if leaf <= MAX_LEAF else None


def install_leaves_on_loop(app: FastAPI) -> None:
    """Serve ``GET /leaves/{i}`` through :class:`LeavesOnLoop` (call before the request
    counter's install, so that it counts them)."""
    route = next(r for r in router.routes if getattr(r, "path", None) == LEAF_ROUTE)
    app.add_middleware(LeavesOnLoop, route=route)


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
