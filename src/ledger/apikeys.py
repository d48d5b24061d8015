"""API keys: shown once when created, stored only as a SHA-256 hash beside the ledger.

A key belongs to one organisation and has scopes, an optional expiry, an optional request rate,
and can be revoked; its last use is kept (to the minute) so an administrator sees stale keys.
The rules live here, not in the HTTP layer: which scopes exist, that a key never grants scopes
the key asking for it lacks, who may list and revoke which keys, and that a retried creation
makes nothing new. The API and the command line only call these functions.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import (
    IdempotencyConflictError,
    InvalidInputError,
    NotFoundError,
    ScopeMissingError,
)
from .writer import request_hash

if TYPE_CHECKING:
    from .ledger import Ledger

NAMESPACE = "apikey"
LAST_USED = "apikey-used"
CREATED = "apikey-created"  # (org, idempotency key) -> the key id it created, the request's hash
SCOPES = frozenset(
    {
        "register",
        "record",
        "approve",
        "award",
        "timebank",
        "keys",
        "private",
        "read",
        "erase",
        "admin",
    }
)
PREFIX = "slk_"
LAST_USE_RESOLUTION = 60.0  # seconds: at most one write per key per minute


@dataclass(frozen=True)
class ApiKey:
    org: str
    scopes: frozenset[str]
    key_id: str
    expires: str | None = None
    revoked: str | None = None
    rate_per_minute: int | None = None

    def refusal(self, now: datetime) -> str | None:
        """Why this key may not be used now, or None."""
        if self.revoked:
            return f"this API key was revoked at {self.revoked}"
        if self.expires and datetime.fromisoformat(self.expires) <= now:
            return f"this API key expired at {self.expires}"
        return None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_id_of(secret: str) -> str:
    """The public id of a key: the first 12 hex digits of its hash."""
    return _digest(secret)[:12]


def _now() -> datetime:
    return datetime.now(UTC)


def create_api_key(
    ledger: Ledger,
    org: str,
    scopes: list[str],
    *,
    expires: datetime | None = None,
    rate_per_minute: int | None = None,
) -> str:
    """Create a key for ``org`` with ``scopes``; return the secret (it is not stored)."""
    unknown = set(scopes) - SCOPES
    if unknown or not scopes:
        raise InvalidInputError(f"scopes must be some of {sorted(SCOPES)}; got {sorted(scopes)}")
    if expires is not None and (expires.tzinfo is None or expires <= _now()):
        raise InvalidInputError("an expiry is a future time with a time zone")
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 100_000:
        raise InvalidInputError("a request rate is 1 to 100000 per minute")
    ledger._directory.organisation(org)
    secret = PREFIX + secrets.token_urlsafe(32)
    record = {
        "org": org,
        "scopes": sorted(set(scopes)),
        "key_id": key_id_of(secret),
        "created": _now().isoformat(),
        "expires": expires.astimezone(UTC).isoformat() if expires else None,
        "revoked": None,
        "rate_per_minute": rate_per_minute,
    }
    ledger._recorder.side_put(NAMESPACE, _digest(secret), json.dumps(record).encode("utf-8"))
    return secret


def create_api_key_once(
    ledger: Ledger,
    org: str,
    scopes: list[str],
    *,
    idempotency_key: str,
    granted_by: frozenset[str],
    expires: datetime | None = None,
    rate_per_minute: int | None = None,
) -> dict[str, Any]:
    """Create a key for ``org`` asked for by a key with the scopes ``granted_by``.

    A key never gives scopes the key asking for it lacks. A retry with the same
    ``idempotency_key`` and the same request creates nothing and names the key made first; its
    secret was shown once and is not kept, so it is not shown again (``secret`` is None,
    ``replayed`` True). The same key with another request (other scopes, expiry or rate) is
    :class:`IdempotencyConflictError`."""
    claim = f"{org}\n{idempotency_key}"
    asked = request_hash(
        [
            sorted(set(scopes)),
            expires.astimezone(UTC).isoformat() if expires else None,
            rate_per_minute,
        ]
    )
    made = ledger._recorder.side_get(CREATED, claim)
    if made is not None:
        key_id, _, first = made.decode("utf-8").partition("\n")
        if first != asked:  # a claim made before requests were kept has none: not the same
            raise IdempotencyConflictError(
                f"idempotency key {idempotency_key!r} was already used by {org!r} to create "
                "a key with other scopes, expiry or rate; use a new key for a new request"
            )
        return {"org": org, "key_id": key_id, "secret": None, "replayed": True}
    wider = set(scopes) - granted_by
    if wider:
        raise ScopeMissingError(f"a key cannot give scopes it lacks itself: {sorted(wider)}")
    secret = create_api_key(ledger, org, scopes, expires=expires, rate_per_minute=rate_per_minute)
    key_id = key_id_of(secret)
    ledger._recorder.side_put(CREATED, claim, f"{key_id}\n{asked}".encode())
    return {"org": org, "key_id": key_id, "secret": secret, "replayed": False}


def _key_of(record: dict[str, Any]) -> ApiKey:
    rate = record.get("rate_per_minute")
    return ApiKey(
        str(record["org"]),
        frozenset(str(s) for s in record["scopes"]),
        str(record["key_id"]),
        record.get("expires") or None,
        record.get("revoked") or None,
        int(rate) if isinstance(rate, int) else None,
    )


def find_api_key(ledger: Ledger, secret: str) -> ApiKey | None:
    """The key with this secret (revoked or expired ones too: the caller says why not), or None."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    stored = ledger._recorder.side_get(NAMESPACE, _digest(secret))
    if stored is None:
        return None
    return _key_of(json.loads(stored))


def list_api_keys(ledger: Ledger, org: str | None = None) -> list[dict[str, object]]:
    """Every key (of ``org`` and the organisations below it), without secrets or hashes."""
    used = dict(ledger._recorder.side_items(LAST_USED))
    found = []
    for _, stored in ledger._recorder.side_items(NAMESPACE):
        record = json.loads(stored)
        if org is not None and not ledger._directory.is_at_or_above(org, record["org"]):
            continue
        last = used.get(record["key_id"])
        record["last_used"] = last.decode("utf-8") if last else None
        found.append(record)
    return sorted(found, key=lambda r: (r["org"], r["created"]))


def revoke_api_key(ledger: Ledger, key_id: str, *, by_org: str | None = None) -> dict[str, object]:
    """Revoke a key by its id (``by_org``: only its organisation or one above it may)."""
    for digest, stored in ledger._recorder.side_items(NAMESPACE):
        record = json.loads(stored)
        if record["key_id"] != key_id:
            continue
        if by_org is not None and not ledger._directory.is_at_or_above(by_org, record["org"]):
            break
        if not record.get("revoked"):
            record["revoked"] = _now().isoformat()
            ledger._recorder.side_put(NAMESPACE, digest, json.dumps(record).encode("utf-8"))
        return dict(record)
    raise NotFoundError(f"API key {key_id} is not a key you manage")


class LastUse:
    """Records a key's last use, at most once a minute per key and process."""

    def __init__(self) -> None:
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def touch(self, ledger: Ledger, key: ApiKey) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._written.get(key.key_id, -LAST_USE_RESOLUTION) < LAST_USE_RESOLUTION:
                return
            self._written[key.key_id] = now
        stamp = _now().replace(second=0, microsecond=0).isoformat()
        ledger._recorder.side_put(LAST_USED, key.key_id, stamp.encode("utf-8"))
