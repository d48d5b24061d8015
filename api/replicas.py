"""Reads from hot standbys, writes to the primary, and read-your-writes between them.

With read replicas configured (``ledger serve --read-db URL``), every successful write's
response carries ``Ledger-Log-Size``: the primary's log size once the write is committed. A
read that sends it back is served by a replica only once the replica holds that many leaves
(waiting at most ``read_wait_seconds``), else by the primary; ``Ledger-Read-From`` says which.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from ledger import Ledger
from ledger.projections import ViewDatabase
from ledger.replica import caught_up

LOG_SIZE_HEADER = "Ledger-Log-Size"
READ_FROM_HEADER = "Ledger-Read-From"
SAFE = ("GET", "HEAD", "OPTIONS")
RETRY_AFTER = 5.0  # seconds a standby that failed to answer is left out
_turns = itertools.count()


def get_read_ledger(request: Request) -> Ledger:
    """The ledger a read is served from: a replica that has what the caller wrote, else the
    primary (also when the replica does not answer)."""
    primary: Ledger = request.app.state.ledger
    replicas: list[Ledger] = getattr(request.app.state, "replicas", [])
    if not replicas:
        return primary
    wanted = wanted_size(request.headers.get(LOG_SIZE_HEADER))
    turn = _next_up(request, len(replicas))
    ready = False
    if turn is not None:
        try:
            ready = caught_up(replicas[turn], wanted, request.app.state.read_wait)
        except Exception:  # a standby that is down or restarting: the primary answers
            _down(request, turn)
    request.state.read_from = "replica" if ready else "primary"
    return replicas[turn] if ready and turn is not None else primary


def _next_up(request: Request, count: int) -> int | None:
    """The next standby in turn, skipping any that failed in the last ``RETRY_AFTER`` s."""
    down: dict[int, float] = request.app.state.standbys_down
    now = time.monotonic()
    for _ in range(count):
        turn = next(_turns) % count
        if down.get(turn, 0.0) <= now:
            return turn
    return None


def _down(request: Request, turn: int) -> None:
    request.app.state.standbys_down[turn] = time.monotonic() + RETRY_AFTER


def wanted_size(header: str | None) -> int:
    """The log size a read must see; a missing or malformed header asks for nothing."""
    if header is None or not header.strip().isdigit() or len(header.strip()) > 16:
        return 0
    return int(header.strip())


ReadLedgerDep = Annotated[Ledger, Depends(get_read_ledger)]


def replica_views(request: Request) -> ViewDatabase | None:
    """A standby's views for a read that asks for no write of its own, if one answers.

    The views record no log size, so a read that sends ``Ledger-Log-Size`` reads the
    primary's views (caught up to the log there when this process does not keep them)."""
    standbys: list[ViewDatabase] = getattr(request.app.state, "replica_views", [])
    if not standbys or request.headers.get(LOG_SIZE_HEADER) is not None:
        if standbys:
            request.state.read_from = "primary"
        return None
    turn = _next_up(request, len(standbys))
    if turn is not None:
        try:
            standbys[turn].query("SELECT 1")
            request.state.read_from = "replica"
            return standbys[turn]
        except Exception:  # a standby that is down or restarting: the primary answers
            _down(request, turn)
    request.state.read_from = "primary"
    return None


def install(app: FastAPI) -> None:
    """Label every response with where its read came from, or the log size a write reached."""

    @app.middleware("http")
    async def read_your_writes(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        read_from = getattr(request.state, "read_from", None)
        if read_from is not None:
            response.headers[READ_FROM_HEADER] = read_from
        elif request.method not in SAFE and response.status_code < 400:
            primary: Ledger = request.app.state.ledger
            size = await run_in_threadpool(primary.log_size)
            response.headers[LOG_SIZE_HEADER] = str(size)
        return response
