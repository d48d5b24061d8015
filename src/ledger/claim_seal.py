"""Authenticated idempotency claims: a retry is answered with what the command stored, or not
at all.

A claim is the row a retry is answered from: the request's hash, the events the command stored
and the value it returned (a volunteer's number, a transfer's id). The events are signed and
verified when a claim is replayed; the rest is a row nobody signed, which anyone with database
access could change, answering a retry with another volunteer's number. So each claim carries
an HMAC-SHA256 over its organisation, idempotency key, request hash, events and value, under a
key the database does not hold: derived from the log key as the snapshots' key is
(:mod:`ledger.snapshots`), under a label of its own.

Each claim names the log key its MAC key was derived from (inside what the MAC covers), and
is checked with that key: a claim sealed before the log key was rotated still answers its
retries while the keystore holds the key that sealed it. A claim whose MAC is missing or wrong,
or that names a log key this keystore does not hold, answers no retry
(:class:`~ledger.errors.StoreIntegrityError`); that includes claims written before claims were
sealed. A process whose keystore holds no log key writes claims without a MAC and answers
retries from the claims as they are stored.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
from hashlib import sha256
from typing import Any

from .canonical import canonical_json, parse_json
from .errors import StoreIntegrityError
from .keystore import LOG_KEY_OWNER, Keystore
from .storage.records import IdempotencyClaim

MAC_LABEL = b"service-hour ledger: idempotency claim MAC key, v1"
SEALING_KEY_LOOKUP_SECONDS = 60.0
KEY_ID = re.compile(r"[0-9a-f]{32}")


class ClaimSeal:
    """Makes claims with a MAC, and opens them only when it verifies."""

    def __init__(self, keystore: Keystore | None) -> None:
        self._keystore = keystore
        self._keys: dict[str, bytes] = {}
        self._sealing: tuple[float, str | None] | None = None  # (when looked up, key id)

    def _mac_key(self, key_id: str) -> bytes | None:
        """The MAC key derived from log key ``key_id``, or None when it is not held here."""
        key = self._keys.get(key_id)
        if key is None and self._keystore is not None:
            signer = self._keystore.get(LOG_KEY_OWNER, key_id)
            if signer is not None:
                key = self._keys[key_id] = sha256(signer.sign(MAC_LABEL)).digest()
        return key

    def _sealing_key_id(self) -> str | None:
        """The log key new claims are sealed with: the first by id, as for snapshots, looked
        up in the keystore once a minute (a directory's listing costs more than the MAC), and
        at every call while it holds none (the genesis creates one)."""
        now = time.monotonic()
        if (
            self._sealing is None
            or self._sealing[1] is None
            or now - self._sealing[0] > SEALING_KEY_LOOKUP_SECONDS
        ):
            held = self._keystore.key_ids(LOG_KEY_OWNER) if self._keystore is not None else []
            self._sealing = (now, held[0] if held else None)
        return self._sealing[1]

    @staticmethod
    def _mac(key: bytes, scope: str, idempotency_key: str, request_hash: str, body: Any) -> str:
        message = canonical_json([scope, idempotency_key, request_hash, body])
        return base64.b64encode(hmac.new(key, message, sha256).digest()).decode("ascii")

    def make(
        self, scope: str, idempotency_key: str, request_hash: str, events: list[Any], value: Any
    ) -> IdempotencyClaim:
        """The claim of a command that stored ``events`` and returned ``value``."""
        body: dict[str, Any] = {"events": events, "value": value}
        key_id = self._sealing_key_id()
        key = self._mac_key(key_id) if key_id is not None else None
        if key_id is not None and key is not None:
            body["sealed_by"] = key_id
            body["mac"] = self._mac(key, scope, idempotency_key, request_hash, body)
        return IdempotencyClaim(scope, idempotency_key, request_hash, canonical_json(body))

    def open(self, claim: IdempotencyClaim) -> dict[str, Any]:
        """The claim's events and value, once its MAC verifies (when this process holds a log
        key, and so can check one); :class:`StoreIntegrityError` when it does not."""
        try:
            body: dict[str, Any] = parse_json(claim.result)
        except ValueError:
            raise self._refused(claim, "is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise self._refused(claim, "is not a claim's result")
        if self._sealing_key_id() is None:
            return body
        stated, sealed_by = body.pop("mac", None), body.get("sealed_by")
        if stated is None or sealed_by is None:
            raise self._refused(claim, "carries no MAC")
        # A key id is 32 hex digits; anything else is not looked up (no path of the keystore's).
        is_key_id = isinstance(sealed_by, str) and KEY_ID.fullmatch(sealed_by) is not None
        key = self._mac_key(sealed_by) if is_key_id else None
        if key is None:
            held = f"names a log key this keystore does not hold ({sealed_by!r})"
            raise self._refused(claim, held)
        expected = self._mac(key, claim.scope, claim.key, claim.request_hash, body)
        if not isinstance(stated, str) or not hmac.compare_digest(stated, expected):
            raise self._refused(claim, "fails its MAC: it was changed")
        return body

    @staticmethod
    def _refused(claim: IdempotencyClaim, what: str) -> StoreIntegrityError:
        return StoreIntegrityError(
            f"the stored result of idempotency key {claim.key!r} by {claim.scope!r} {what}; "
            "a retry is not answered from it (a claim written before claims were sealed has "
            "no MAC: read what the command did, and use a new key for anything new)"
        )
