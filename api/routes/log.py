"""The log as C2SP tlog-tiles: checkpoint, hash tiles and entry bundles, and the log key."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import PlainTextResponse, Response

from ledger.errors import InvalidInputError, NotFoundError
from ledger.log.tiles import parse_tile_path

from ..replicas import ReadLedgerDep

router = APIRouter(prefix="/log", tags=["log (tlog-tiles)"])
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
TILE = {"content": {"application/octet-stream": {}}, "description": "tile bytes"}


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(ledger: ReadLedgerDep) -> PlainTextResponse:
    """The newest signed checkpoint, with any witness cosignatures."""
    note = ledger.log.latest()
    if note is None or ledger.log.latest_size() < ledger.log.size():
        note = ledger.log.sign_checkpoint() if ledger.log.can_sign() else note
    if note is None:
        raise NotFoundError("no checkpoint has been signed yet")
    note = ledger.log.settled(note)  # a new checkpoint's witnesses answer in the background
    ledger.log.open_stored(note)  # one rewritten behind the ledger's back is never served
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.get("/key", response_class=PlainTextResponse)
def key(ledger: ReadLedgerDep) -> PlainTextResponse:
    """The log's verifier key string(s), one per line."""
    return PlainTextResponse("\n".join(ledger.log.verifier_keys()) + "\n")


@router.get("/tile/{level}/{path:path}", responses={200: TILE})
def tile(
    ledger: ReadLedgerDep, level: str = Path(max_length=10), path: str = Path(max_length=200)
) -> Response:
    """A hash tile ``tile/<L>/<N>[.p/<W>]`` or entry bundle ``tile/entries/<N>[.p/<W>]``."""
    try:
        parsed = parse_tile_path(f"tile/{level}/{path}")
    except InvalidInputError as error:
        raise NotFoundError(f"not a tile path: {error}") from None
    if parsed.entries:
        data = ledger.log.entry_tile(parsed.index, parsed.width)
    else:
        data = ledger.log.hash_tile(parsed.level, parsed.index, parsed.width)
    cache = SHORT if parsed.is_partial else IMMUTABLE
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})
