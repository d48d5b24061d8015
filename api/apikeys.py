"""API keys: shown once when created, stored only as a SHA-256 hash beside the ledger."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger import InvalidInputError, Ledger

NAMESPACE = "apikey"
SCOPES = frozenset(
    {"register", "record", "approve", "award", "timebank", "keys", "private", "read", "erase"}
)
PREFIX = "slk_"


@dataclass(frozen=True)
class ApiKey:
    org: str
    scopes: frozenset[str]
    key_id: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(ledger: Ledger, org: str, scopes: list[str]) -> str:
    """Create a key for ``org`` with ``scopes``; return the secret (it is not stored)."""
    unknown = set(scopes) - SCOPES
    if unknown or not scopes:
        raise InvalidInputError(f"scopes must be some of {sorted(SCOPES)}; got {sorted(scopes)}")
    ledger.directory.organisation(org)
    secret = PREFIX + secrets.token_urlsafe(32)
    record = {
        "org": org,
        "scopes": sorted(set(scopes)),
        "key_id": _digest(secret)[:12],
        "created": datetime.now(UTC).isoformat(),
    }
    ledger.recorder.side_put(NAMESPACE, _digest(secret), json.dumps(record).encode("utf-8"))
    return secret


def find_api_key(ledger: Ledger, secret: str) -> ApiKey | None:
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    stored = ledger.recorder.side_get(NAMESPACE, _digest(secret))
    if stored is None:
        return None
    record = json.loads(stored)
    return ApiKey(record["org"], frozenset(record["scopes"]), record["key_id"])
