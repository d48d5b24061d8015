"""Dependencies: the ledger, the views, and the calling organisation with its scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ledger import Ledger
from ledger.apikeys import ApiKey, LastUse, find_api_key
from ledger.projections import Projections, ViewQueries

from .problems import Problem
from .ratelimit import SharedWindowLimiter, WindowLimiter
from .replicas import replica_views
from .schemas import AsOrg


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def get_views(request: Request) -> Projections:
    views: Projections = request.app.state.views
    return views


def get_queries(request: Request) -> ViewQueries:
    """The views: from a standby when there is one and the read sends no ``Ledger-Log-Size``
    (see replicas.py), else the server's own, caught up first when this process does not
    keep them."""
    standby = replica_views(request)
    if standby is not None:
        return ViewQueries(standby)
    views: Projections = request.app.state.views
    views.catch_up() if request.app.state.catch_up_on_read else None
    return ViewQueries(views.database)


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="service-hour-ledger"'}
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ViewsDep = Annotated[Projections, Depends(get_views)]
QueriesDep = Annotated[ViewQueries, Depends(get_queries)]


def _too_many(seconds: int, detail: str) -> Problem:
    return Problem(
        429, "too-many-requests", "Too many requests", detail, {"Retry-After": str(seconds)}
    )


# Declared as security schemes, so the OpenAPI lists them (an Authorize button in /docs) and
# marks every operation that needs a key; the checks below stay ours (problem details, 401).
BEARER = HTTPBearer(
    scheme_name="bearer",
    description="An API key from `ledger apikey create`: `Authorization: Bearer <key>`",
    auto_error=False,
)
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKeyHeader",
    description="The same API key in an `X-API-Key` header",
    auto_error=False,
)


def current_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    x_api_key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
) -> ApiKey:
    """The request's API key: known, not revoked or expired, within its rate. Failed attempts
    are counted per client address; past the limit, even a right key waits (429)."""
    guard: AuthGuard = request.app.state.auth_guard
    client = request.client.host if request.client else "unknown"
    store = get_ledger(request).shared_counters()
    waiting = guard.failures.retry_after(store, client, guard.failures_per_minute)
    if waiting is not None:
        raise _too_many(waiting, "too many failed authentications from this address; wait")
    secret = x_api_key
    if bearer is not None and bearer.credentials.strip():
        secret = bearer.credentials.strip()
    if not secret:
        raise Problem(
            401,
            "unauthenticated",
            "API key required",
            "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=CHALLENGE,
        )
    key = find_api_key(get_ledger(request), secret)
    refusal = "this API key is not known; ask your administrator for a new one"
    if key is not None:
        refusal = key.refusal(datetime.now(UTC)) or ""
    if key is None or refusal:
        guard.failures.count(store, client)
        raise Problem(401, "unauthenticated", "Unusable API key", refusal, headers=CHALLENGE)
    if key.rate_per_minute is not None:
        waiting = guard.requests.retry_after(key.key_id, key.rate_per_minute)
        if waiting is not None:
            raise _too_many(waiting, f"this API key allows {key.rate_per_minute} requests a minute")
        guard.requests.count(key.key_id)
    guard.last_use.touch(get_ledger(request), key)
    return key


@dataclass
class AuthGuard:
    """Counters for authentication (kept on ``app.state.auth_guard``): failed authentications
    in the store, shared by every worker; per-key request rates in the process."""

    failures_per_minute: int
    failures: SharedWindowLimiter = field(default_factory=SharedWindowLimiter)
    requests: WindowLimiter = field(default_factory=WindowLimiter)
    last_use: LastUse = field(default_factory=LastUse)


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def acting_org(ledger: Ledger, key: ApiKey, scope: str, org: str | None) -> str:
    """The organisation a request acts for: the key's own, or one below it."""
    if scope not in key.scopes:
        raise Problem(
            403,
            "scope-missing",
            "Scope missing",
            f"this API key lacks the {scope!r} scope; it has {sorted(key.scopes)}",
        )
    chosen = org or key.org
    if not ledger.acts_for(key.org, chosen):
        raise Problem(
            403,
            "not-your-organisation",
            "Not your organisation",
            f"an API key of {key.org!r} acts only for {key.org!r} and those below it, "
            f"not for {chosen!r}",
        )
    return chosen


def _acting_for(scope: str) -> Any:
    def acting(request: Request, key: CurrentKey, as_org: AsOrg = None) -> str:
        return acting_org(get_ledger(request), key, scope, as_org)

    return Depends(acting)


RegisteringOrg = Annotated[str, _acting_for("register")]
RecordingOrg = Annotated[str, _acting_for("record")]
ApprovingOrg = Annotated[str, _acting_for("approve")]
AwardingOrg = Annotated[str, _acting_for("award")]
TimeBankOrg = Annotated[str, _acting_for("timebank")]
KeyAdminOrg = Annotated[str, _acting_for("keys")]
AdminOrg = Annotated[str, _acting_for("admin")]
ErasingOrg = Annotated[str, _acting_for("erase")]
