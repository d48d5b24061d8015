"""The log as C2SP tlog-tiles: checkpoint, hash tiles and entry bundles, and the log key.

A tile or entry bundle of a given width never changes, so once a process has authenticated its
bytes against a signed checkpoint (:meth:`ledger.transparency.TransparencyLog.verified_tile`) it
serves them as they are, from the event loop, with a strong ``ETag`` (and ``304 Not Modified``
to a client that already has them): a full tile with ``Cache-Control: immutable``, a partial one
with a short ``max-age`` (a client should move on to the wider tile soon). The checkpoint is
served ``no-cache``, with an ``ETag`` to revalidate it by; a process reads and verifies it at
most once per ``LEDGER_CHECKPOINT_MAX_AGE`` (default 1 s) and serves those bytes meanwhile, unless
it wrote to the log since (:class:`KeptCheckpoint`), as tlog-tiles allows ("SHOULD prevent
caching beyond a few seconds").
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger import Ledger
from ledger.errors import InvalidInputError, NotFoundError
from ledger.log.tile_cache import ENTRIES, VerifiedTile
from ledger.log.tiles import parse_tile_path

from ..replicas import LOG_SIZE_HEADER, ReadLedgerDep, get_read_ledger, wanted_size

router = APIRouter(prefix="/log", tags=["log (tlog-tiles)"])
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
NO_CACHE = "no-cache"
OCTETS = "application/octet-stream"
CHECKPOINT_TYPE = "text/plain; charset=utf-8"
CHECKPOINT_PATH = "/log/checkpoint"
LOG_SIZE_KEY = LOG_SIZE_HEADER.lower().encode("latin-1")
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
    return names_etag(request.headers.get("if-none-match"), etag)


def names_etag(wanted: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (or ``*``)."""
    if wanted is None:
        return False
    tags = [tag.strip() for tag in wanted.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def answer(request: Request, data: bytes, etag: str, cache: str, media_type: str) -> Response:
    headers = {"Cache-Control": cache, "ETag": etag}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@dataclass(frozen=True)
class KeptCheckpoint:
    """The checkpoint note a process read and verified last, as served: kept while it is
    younger than the app's ``checkpoint_max_age`` and the process has not written to its log
    since it was read (``writes``, the primary log's count of them before the read), for any
    request that does not ask (``Ledger-Log-Size``) for more leaves than it covers."""

    data: bytes
    etag: str
    size: int
    writes: int
    read_at: float
    read_from: str | None  # "primary" or "replica" when reads may go to a standby

    def fresh(self, app: FastAPI, wanted: str | None) -> bool:
        primary: Ledger = app.state.ledger
        return (
            primary.log.writes == self.writes
            and time.monotonic() - self.read_at < app.state.checkpoint_max_age
            and wanted_size(wanted) <= self.size
        )


def _fresh_checkpoint(app: FastAPI, wanted: str | None) -> KeptCheckpoint | None:
    """The kept checkpoint, if it may answer a request that sends ``wanted`` as its
    ``Ledger-Log-Size``."""
    kept: KeptCheckpoint | None = getattr(app.state, "kept_checkpoint", None)
    return kept if kept is not None and kept.fresh(app, wanted) else None


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={304: NOT_MODIFIED},
)
def checkpoint(request: Request, ledger: ReadLedgerDep) -> Response:
    """The newest signed checkpoint, with any witness cosignatures."""
    app = request.app
    kept = _fresh_checkpoint(app, request.headers.get(LOG_SIZE_HEADER))
    if kept is None:
        writes, read_at = app.state.ledger.log.writes, time.monotonic()
        note = ledger.log.newest_note()
        data = note.encode("utf-8")
        size = ledger.log.parsed(note).size
        read_from = getattr(request.state, "read_from", None)
        kept = KeptCheckpoint(data, etag_of(data), size, writes, read_at, read_from)
        app.state.kept_checkpoint = kept
    return answer(request, kept.data, kept.etag, NO_CACHE, CHECKPOINT_TYPE)


@router.get("/key", response_class=PlainTextResponse)
def key(ledger: ReadLedgerDep) -> PlainTextResponse:
    """The log's verifier key string(s), one per line."""
    return PlainTextResponse("\n".join(ledger.log.verifier_keys()) + "\n")


TILE_ROUTE = "/tile/{level}/{path:path}"
TILE_PREFIX = "/log/tile/"
LEVEL_LENGTH, PATH_LENGTH = 10, 200  # the route's limits on its two parameters


@router.get(TILE_ROUTE, responses={200: TILE, 304: NOT_MODIFIED})
async def tile(
    request: Request,
    level: str = Path(max_length=LEVEL_LENGTH),
    path: str = Path(max_length=PATH_LENGTH),
) -> Response:
    """A hash tile ``tile/<L>/<N>[.p/<W>]`` or entry bundle ``tile/entries/<N>[.p/<W>]``."""
    try:
        parsed = parse_tile_path(f"tile/{level}/{path}")
    except InvalidInputError as error:
        raise NotFoundError(f"not a tile path: {error}") from None
    primary: Ledger = request.app.state.ledger
    key = (ENTRIES if parsed.entries else parsed.level, parsed.index, parsed.width)
    kept = primary.log.verified_tiles.get(key)  # authenticated before: no work at all
    if kept is None:
        kept = await run_in_threadpool(_verified_tile, request, key)
    cache = SHORT if parsed.is_partial else IMMUTABLE
    return answer(request, kept.data, kept.etag, cache, OCTETS)


def _kept_tile(app: FastAPI, path: str) -> tuple[VerifiedTile, str] | None:
    """The kept tile at a request path the tile route would answer, with its Cache-Control;
    None for any other path, or a tile this process has not authenticated yet."""
    level, slash, rest = path[len(TILE_PREFIX) :].partition("/")
    if not slash or len(level) > LEVEL_LENGTH or len(rest) > PATH_LENGTH:
        return None
    try:
        parsed = parse_tile_path(f"tile/{level}/{rest}")
    except InvalidInputError:
        return None
    primary: Ledger = app.state.ledger
    key = (ENTRIES if parsed.entries else parsed.level, parsed.index, parsed.width)
    kept = primary.log.verified_tiles.get(key)
    return None if kept is None else (kept, SHORT if parsed.is_partial else IMMUTABLE)


class KeptReads:
    """Answers ``GET /log/tile/...`` for a tile this process has authenticated already, and
    ``GET /log/checkpoint`` while its kept note is fresh, before FastAPI's routing,
    dependencies and exception layers: the same status, headers and bytes as :func:`tile` and
    :func:`checkpoint`, with less work. Everything else, a tile not kept yet included, goes on
    to the app. Installed inside the request counter, which labels these requests with the
    route that would have answered them."""

    def __init__(self, app: ASGIApp, tile_route: BaseRoute, checkpoint_route: BaseRoute) -> None:
        self.app = app
        self.tile_route = tile_route
        self.checkpoint_route = checkpoint_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            if path.startswith(TILE_PREFIX):
                found = _kept_tile(scope["app"], path)
                if found is not None:
                    scope["route"] = self.tile_route
                    await _send_kept(scope, send, found[0].data, found[0].etag, found[1], OCTETS)
                    return
            elif path == CHECKPOINT_PATH:
                wanted = next((v for k, v in scope["headers"] if k == LOG_SIZE_KEY), None)
                note = _fresh_checkpoint(scope["app"], wanted and wanted.decode("latin-1"))
                if note is not None:
                    scope["route"] = self.checkpoint_route
                    if note.read_from is not None:  # labelled by the replicas' middleware
                        scope.setdefault("state", {})["read_from"] = note.read_from
                    await _send_kept(scope, send, note.data, note.etag, NO_CACHE, CHECKPOINT_TYPE)
                    return
        await self.app(scope, receive, send)


async def _send_kept(
    scope: Scope, send: Send, data: bytes, etag: str, cache: str, media_type: str
) -> None:
    headers = [(b"cache-control", cache.encode()), (b"etag", etag.encode())]
    wanted = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
    if names_etag(None if wanted is None else wanted.decode("latin-1"), etag):
        await send_bytes(send, 304, b"", headers)
        return
    await send_bytes(send, 200, data, [(b"content-type", media_type.encode()), *headers])


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """A whole response from an ASGI middleware: ``body`` (with its ``content-length`` unless
    the status is 304) under ``headers``."""
    if status != 304:
        headers = [(b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_kept_reads(app: FastAPI, checkpoint_max_age: float) -> None:
    """Serve kept tiles and the kept checkpoint through :class:`KeptReads` (call before the
    request counter's install, so that it counts them); a checkpoint is kept for at most
    ``checkpoint_max_age`` seconds (0: read and verified on every request)."""
    app.state.checkpoint_max_age = checkpoint_max_age
    routes = {getattr(r, "path", None): r for r in router.routes}
    app.add_middleware(
        KeptReads,
        tile_route=routes["/log" + TILE_ROUTE],
        checkpoint_route=routes[CHECKPOINT_PATH],
    )


def _verified_tile(request: Request, key: tuple[int, int, int]) -> VerifiedTile:
    """Read and authenticate a tile (from a standby if reads go there), and keep it in the
    primary's cache too, so the next request for it is served from the event loop."""
    ledger = get_read_ledger(request)
    kept = ledger.log.verified_tile(*key)
    primary: Ledger = request.app.state.ledger
    if ledger is not primary:
        primary.log.verified_tiles.put(key, kept.data)
    return kept
