"""The log as C2SP tlog-tiles: checkpoint, hash tiles and entry bundles, and the log key.

A full tile or entry bundle never changes, so once a process has authenticated its bytes against
a signed checkpoint (:meth:`ledger.transparency.TransparencyLog.full_tile`) it serves them as
they are, from the event loop, with ``Cache-Control: immutable`` and a strong ``ETag`` (and
``304 Not Modified`` to a client that already has them). Partial tiles and the checkpoint are
read and checked on each request, and carry an ``ETag`` too.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger import Ledger
from ledger.errors import InvalidInputError, NotFoundError
from ledger.log.tile_cache import ENTRIES, VerifiedTile
from ledger.log.tiles import Tile, parse_tile_path

from ..replicas import ReadLedgerDep, get_read_ledger

router = APIRouter(prefix="/log", tags=["log (tlog-tiles)"])
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
NO_CACHE = "no-cache"
OCTETS = "application/octet-stream"
TILE = {
    "content": {"application/octet-stream": {}},
    "description": "tile bytes (a full tile is immutable)",
}
NOT_MODIFIED = {"description": "the client's copy (``If-None-Match``) is current"}


def etag_of(data: bytes) -> str:
    """A strong entity tag of ``data``: its SHA-256, hex, quoted."""
    return '"' + hashlib.sha256(data).hexdigest() + '"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (or ``*``), RFC 9110 13.1.2."""
    wanted = request.headers.get("if-none-match")
    if wanted is None:
        return False
    tags = [tag.strip() for tag in wanted.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def answer(request: Request, data: bytes, etag: str, cache: str, media_type: str) -> Response:
    headers = {"Cache-Control": cache, "ETag": etag}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={304: NOT_MODIFIED},
)
def checkpoint(request: Request, ledger: ReadLedgerDep) -> Response:
    """The newest signed checkpoint, with any witness cosignatures."""
    note = ledger.log.latest()
    if note is None or ledger.log.latest_size() < ledger.log.size():
        note = ledger.log.sign_checkpoint() if ledger.log.can_sign() else note
    if note is None:
        raise NotFoundError("no checkpoint has been signed yet")
    note = ledger.log.settled(note)  # a new checkpoint's witnesses answer in the background
    ledger.log.open_stored(note)  # one rewritten behind the ledger's back is never served
    data = note.encode("utf-8")
    return answer(request, data, etag_of(data), NO_CACHE, "text/plain; charset=utf-8")


@router.get("/key", response_class=PlainTextResponse)
def key(ledger: ReadLedgerDep) -> PlainTextResponse:
    """The log's verifier key string(s), one per line."""
    return PlainTextResponse("\n".join(ledger.log.verifier_keys()) + "\n")


@router.get("/tile/{level}/{path:path}", responses={200: TILE, 304: NOT_MODIFIED})
async def tile(
    request: Request, level: str = Path(max_length=10), path: str = Path(max_length=200)
) -> Response:
    """A hash tile ``tile/<L>/<N>[.p/<W>]`` or entry bundle ``tile/entries/<N>[.p/<W>]``."""
    try:
        parsed = parse_tile_path(f"tile/{level}/{path}")
    except InvalidInputError as error:
        raise NotFoundError(f"not a tile path: {error}") from None
    if not parsed.is_partial:
        primary: Ledger = request.app.state.ledger
        key = (ENTRIES if parsed.entries else parsed.level, parsed.index)
        kept = primary.log.full_tiles.get(key)  # authenticated before: no work at all
        if kept is None:
            kept = await run_in_threadpool(_full_tile, request, parsed)
        return answer(request, kept.data, kept.etag, IMMUTABLE, OCTETS)
    data = await run_in_threadpool(_partial_tile, request, parsed)
    return answer(request, data, etag_of(data), SHORT, OCTETS)


def _full_tile(request: Request, parsed: Tile) -> VerifiedTile:
    """Read and authenticate a full tile (from a standby if reads go there), and keep it in the
    primary's cache too, so the next request for it is served from the event loop."""
    ledger = get_read_ledger(request)
    key = (ENTRIES if parsed.entries else parsed.level, parsed.index)
    kept = ledger.log.full_tile(*key)
    primary: Ledger = request.app.state.ledger
    if ledger is not primary:
        primary.log.full_tiles.put(key, kept.data)
    return kept


def _partial_tile(request: Request, parsed: Tile) -> bytes:
    ledger = get_read_ledger(request)
    if parsed.entries:
        return ledger.log.entry_tile(parsed.index, parsed.width)
    return ledger.log.hash_tile(parsed.level, parsed.index, parsed.width)
