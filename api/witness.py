"""A witness over HTTP (c2sp.org/tlog-witness): ``POST /add-checkpoint``.

The app only translates: the body goes to :class:`ledger.log.witness_service.WitnessService`,
and each refusal becomes the status code the spec names, with a ``text/x.tlog.size`` body for
``409``. ``GET /`` says which witness this is and which logs it follows.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

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
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return PlainTextResponse("request body too large\n", status_code=413)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("the body is not UTF-8\n", status_code=400)
        try:
            lines = service.add_checkpoint(body)
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


def _refusal(error: WitnessRefusedError) -> Response:
    status = STATUS.get(error.reason, 400)
    if status == 409 and error.latest_size is not None:
        return Response(f"{error.latest_size}\n", status_code=409, media_type=SIZE_MEDIA_TYPE)
    return PlainTextResponse(error.message + "\n", status_code=status)
