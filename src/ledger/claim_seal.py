"""Authenticated idempotency claims: a retry is answered with what the command stored, or not
at all.

A claim is the row a retry is answered from: the request's hash, the events the command stored
and the value it returned (a volunteer's number, a transfer's id). The events are signed and
verified when a claim is replayed; the rest is a row nobody signed, which anyone with database
access could change, answering a retry with another volunteer's number. So each claim carries
an HMAC-SHA256 over its organisation, idempotency key, request hash, events and value, under a
key the database does not hold: derived from the log key as the snapshots' key is
(:func:`ledger.signing.secret_of`), under a label of its own.

Claims are sealed with one of the ledger's current log keys (the first by id that the keystore
holds), and each claim names the key it was sealed with, inside what the MAC covers. A claim is
checked with that key, and only while it is a current log key: a claim sealed before another
log key was added still answers its retries; one sealed with a key retired since answers none,
so a retired (perhaps leaked) key cannot seal a changed claim. A claim whose MAC is missing or
wrong, or that names a key this keystore does not hold or that is not a current log key,
answers no retry (:class:`~ledger.errors.StoreIntegrityError`); that includes claims written
before claims were sealed. A process whose keystore holds no current log key writes claims
without a MAC and answers retries from the claims as they are stored.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Collection
from hashlib import sha256
from typing import Any

from .canonical import canonical_json, parse_json
from .errors import StorageError, StoreIntegrityError
from .keystore import LOG_KEY_OWNER, Keystore
from .signing import secret_of
from .storage.records import IdempotencyClaim

MAC_LABEL = b"service-hour ledger: idempotency claim MAC key, v1"


class ClaimSeal:
    """Makes claims with a MAC, and opens them only when it verifies."""

    def __init__(
        self,
        keystore: Keystore | None,
        current_log_keys: Callable[[], Collection[str] | None] = lambda: None,
    ) -> None:
        """``current_log_keys()`` gives the ids of the ledger's current log keys (from the trust
        directory), or None while no ledger is known (before the genesis): then any log key
        the keystore holds is taken as current."""
        self._keystore = keystore
        self._current_log_keys = current_log_keys
        self._keys: dict[str, bytes] = {}
        self._held: tuple[frozenset[str], list[str]] | None = None

    def _mac_key(self, key_id: str) -> bytes | None:
        """The MAC key derived from log key ``key_id``, or None when it is not held here."""
        key = self._keys.get(key_id)
        if key is None and self._keystore is not None:
            signer = self._keystore.get(LOG_KEY_OWNER, key_id)
            if signer is not None:
                key = self._keys[key_id] = secret_of(signer, MAC_LABEL)
        return key

    def _current(self) -> list[str]:
        """The current log keys this keystore holds, by id. The keystore is listed again only
        when the current keys change (a directory's listing costs more than the MAC)."""
        if self._keystore is None:
            return []
        current = self._current_log_keys()
        if current is None:
            return self._keystore.key_ids(LOG_KEY_OWNER)
        wanted = frozenset(current)
        if self._held is None or self._held[0] != wanted:
            held = self._keystore.key_ids(LOG_KEY_OWNER)
            self._held = (wanted, [key_id for key_id in held if key_id in wanted])
        return self._held[1]

    @staticmethod
    def _mac(key: bytes, scope: str, idempotency_key: str, request_hash: str, body: Any) -> str:
        message = canonical_json([scope, idempotency_key, request_hash, body])
        return base64.b64encode(hmac.new(key, message, sha256).digest()).decode("ascii")

    def make(
        self, scope: str, idempotency_key: str, request_hash: str, events: list[Any], value: Any
    ) -> IdempotencyClaim:
        """The claim of a command that stored ``events`` and returned ``value``."""
        body: dict[str, Any] = {"events": events, "value": value}
        current = self._current()
        if current:
            key = self._mac_key(current[0])
            if key is None:  # listed, but it cannot be loaded: a claim no retry could use
                raise StorageError(f"log key {current[0]} cannot be read to seal a claim")
            body["sealed_by"] = current[0]
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
        current = self._current()
        if not current:
            return body
        stated, sealed_by = body.pop("mac", None), body.get("sealed_by")
        if stated is None or sealed_by is None:
            raise self._refused(claim, "carries no MAC")
        # Only a current log key held here is looked up (a key id, never a path).
        key = self._mac_key(sealed_by) if sealed_by in current else None
        if key is None:
            held = f"names a log key that is not a current one held here ({sealed_by!r})"
            raise self._refused(claim, held)
        expected = self._mac(key, claim.scope, claim.key, claim.request_hash, body)
        # Compared as bytes: a MAC changed into any text is a failed MAC, not a TypeError.
        if not isinstance(stated, str) or not hmac.compare_digest(
            stated.encode("utf-8"), expected.encode("ascii")
        ):
            raise self._refused(claim, "fails its MAC: it was changed")
        return body

    @staticmethod
    def _refused(claim: IdempotencyClaim, what: str) -> StoreIntegrityError:
        return StoreIntegrityError(
            f"the stored result of idempotency key {claim.key!r} by {claim.scope!r} {what}; "
            "a retry is not answered from it (a claim written before claims were sealed has "
            "no MAC: read what the command did, and use a new key for anything new)"
        )
