"""A witness over HTTP (c2sp.org/tlog-witness): ``POST /add-checkpoint``.

The app only translates: the body goes to :class:`ledger.log.witness_service.WitnessService`,
and each refusal becomes the status code the spec names, with a ``text/x.tlog.size`` body for
``409``. ``GET /`` says which witness this is and which logs it follows.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger.errors import WitnessRefusedError
from ledger.log.witness_client import SIZE_MEDIA_TYPE
from ledger.log.witness_service import WitnessService

MAX_BODY_BYTES = 64 * 1024
STATUS = {
    "malformed": 400,
    "bad-signature": 403,
    "unknown-log": 404,
    "old-size-mismatch": 409,
    "conflict": 409,
    "inconsistent": 422,
}


def create_witness_app(service: WitnessService) -> FastAPI:
    app = FastAPI(title="Transparency log witness", version="0.1.0", docs_url=None, redoc_url=None)

    @app.post("/add-checkpoint", response_class=PlainTextResponse)
    async def add_checkpoint(request: Request) -> Response:
        raw = await _body_within_limit(request)
        if raw is None:
            return PlainTextResponse("request body too large\n", status_code=413)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("the body is not UTF-8\n", status_code=400)
        try:
            # Verifying, and waiting for the store's lock, off the event loop: one slow request
            # does not hold up the others.
            lines = await run_in_threadpool(service.add_checkpoint, body)
        except WitnessRefusedError as error:
            return _refusal(error)
        return PlainTextResponse(lines)

    @app.get("/", response_class=PlainTextResponse)
    def about() -> PlainTextResponse:
        logs = "".join(f"log {log.key_string}\n" for log in service.logs)
        return PlainTextResponse(f"witness {service.key_string}\n{logs}")

    @app.get("/readyz", response_class=PlainTextResponse)
    def ready() -> PlainTextResponse:
        return PlainTextResponse("ready\n")

    return app


async def _body_within_limit(request: Request) -> bytes | None:
    """The body, or None as soon as it is known to exceed :data:`MAX_BODY_BYTES` (by its
    ``Content-Length``, or by what has arrived): no more of it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY_BYTES:
            return None
    return bytes(received)


def _refusal(error: WitnessRefusedError) -> Response:
    status = STATUS.get(error.reason, 400)
    if status == 409 and error.latest_size is not None:
        return Response(f"{error.latest_size}\n", status_code=409, media_type=SIZE_MEDIA_TYPE)
    return PlainTextResponse(error.message + "\n", status_code=status)
