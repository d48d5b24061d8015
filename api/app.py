"""The FastAPI application: the library over HTTP, holding no domain rules of its own."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger import Ledger
from ledger.log.witness_client import parse_endpoints
from ledger.projections import ViewDatabase
from ledger.replica import open_replica
from ledger.transparency import CheckpointSchedule

from . import problems, replicas
from .deps import AuthGuard
from .edge import Edge, known_method
from .routes import (
    activities,
    agreements,
    apikeys,
    assessments,
    awards,
    certificates,
    credential_status,
    docs,
    drafts,
    federation,
    health,
    log,
    organisations,
    privacy,
    reads,
    records,
    stats_pages,
    timebank,
    verification,
    volunteers,
)
from .schemas import ProblemOut
from .settings import Settings

# Routes are matched in this order, one by one: the public reads asked for most (tiles,
# evidence) come first, so matching them does not walk every other route.
ROUTERS = (
    log,
    verification,
    organisations,
    volunteers,
    activities,
    records,
    awards,
    certificates,
    credential_status,
    timebank,
    reads,
    health,
    agreements,
    apikeys,
    assessments,
    privacy,
    drafts,
    docs,
    stats_pages,
    federation,
)
DESCRIPTION = """The service-hour ledger over HTTP.

Organisations write with an API key (`Authorization: Bearer <key>`) and an `Idempotency-Key`
header; anyone verifies: events with their inclusion proofs and checkpoints, receipts, and the
log as C2SP tlog-tiles under `/log/`. Every error is RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None, ledger: Ledger | None = None) -> FastAPI:
    settings = settings or Settings()
    schedule = CheckpointSchedule(
        settings.checkpoint_every_events, settings.checkpoint_every_seconds
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = ledger or Ledger(
            settings.database_url,
            checkpoints=schedule,
            witnesses=parse_endpoints(settings.witnesses),
        )
        app.state.ledger = opened
        app.state.replicas = [
            open_replica(url, opened, wait=settings.read_wait_seconds)
            for url in settings.read_database_urls.split()
        ]
        app.state.replica_views = [ViewDatabase(replica.store) for replica in app.state.replicas]
        app.state.read_wait = settings.read_wait_seconds
        app.state.standbys_down = {}
        app.state.views = opened.projections()
        app.state.catch_up_on_read = not settings.run_projections
        if opened.store.kind == "postgresql" and not app.state.replicas:
            app.state.leaf_reads = opened.leaf_reads()
        stop = threading.Event()
        if settings.run_projections:
            app.state.views.start()
            threading.Thread(target=_checkpointer, args=(opened, stop), daemon=True).start()
        try:
            yield
        finally:
            stop.set()
            if getattr(app.state, "leaf_reads", None) is not None:
                await app.state.leaf_reads.close()
            app.state.views.close()
            for database in app.state.replica_views:
                database.close()
            for replica in app.state.replicas:
                replica.close()
            if ledger is None:
                opened.close()

    app = FastAPI(
        title="Service-hour ledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        docs_url=None,  # served offline by routes/docs.py
        redoc_url=None,
    )
    docs.install(app)
    app.state.request_counts = Counter()
    app.state.auth_guard = AuthGuard(settings.auth_failures_per_minute)
    problems.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    log.install_kept_reads(app, settings.checkpoint_max_age)  # inside the counter: counted
    verification.install_leaves_on_loop(app)
    _count_requests(app)
    if settings.read_database_urls.split():
        replicas.install(app)
    _document_problems(app)
    app.add_middleware(Edge, max_body=settings.max_body_bytes)  # outermost: runs first
    return app


def _checkpointer(ledger: Ledger, stop: threading.Event) -> None:
    """Sign scheduled checkpoints even when no write arrives to trigger one."""
    while not stop.wait(1.0):
        try:
            if ledger.log.can_sign():
                ledger.log.maybe_checkpoint()
        except Exception:
            pass


def _count_requests(app: FastAPI) -> None:
    app.add_middleware(RequestCounter, counts=app.state.request_counts)


class RequestCounter:
    """Counts responses by method, route and status for ``/metrics`` (a plain ASGI middleware:
    no task or stream per request, unlike ``@app.middleware``)."""

    def __init__(self, app: ASGIApp, counts: Counter[tuple[str, str, int]]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        path = getattr(scope.get("route"), "path", "unmatched")
        self.counts[(known_method(scope["method"]), path, status)] += 1


def _document_problems(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            ProblemOut.model_json_schema()
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app_from_env() -> FastAPI:
    """The uvicorn factory used by ``ledger serve`` (settings from ``LEDGER_*``)."""
    return create_app(Settings())
