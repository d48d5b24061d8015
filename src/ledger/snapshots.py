"""Authenticated snapshots of aggregate states, so a new process need not replay long histories.

The state cache (:mod:`ledger.state_cache`) spares a process from replaying an aggregate twice;
a snapshot spares the *next* process from replaying it once. When a process had to rebuild a
long history from the first event, and then whenever an aggregate has gained enough events since
its last snapshot (``SNAPSHOT_INTERVAL``, or one event per ``SNAPSHOT_BYTES_PER_EVENT`` bytes of
that snapshot, whichever is more: a large state is rewritten less often, so that what its
snapshots cost per event does not grow with it), the state is stored beside the events (the
``state-snapshots`` side namespace) together with its version and the leaf hash of the last event
it summarises.

A snapshot is state nobody signed, and the database holds it, so it is trusted only when:

* its HMAC-SHA256 verifies under a key the database does not hold: the SHA-256 of the log key's
  Ed25519 signature over a fixed label (deterministic, so every process holding the log key
  derives the same key; a process without the log key neither reads nor writes snapshots);
  the MAC binds the aggregate id, the version, the leaf hash and the state;
* the stored event at the snapshot's version still has the bytes whose leaf hash the snapshot
  names (checked when the state is fast-forwarded, as for a cached state); and
* it is the JSON of :mod:`ledger.state_codec` and reads back, creating nothing but the
  model's own state classes, into that aggregate's state at the snapshot's version.

Reading one runs nothing the database says: the MAC is checked before the JSON is parsed, and
the JSON can name no class outside the model. Snapshots of the older format (``pickle``, under
the v1 MAC key) fail the MAC and are rebuilt from the events.

A snapshot failing any check is ignored (counted in ``rejected``, logged) and the state rebuilt
from the first event, every event verified. The audit never reads snapshots.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import struct
from collections.abc import Callable
from uuid import UUID

from .keystore import LOG_KEY_OWNER, Keystore
from .model.aggregates import AggregateState
from .signing import Signer, secret_of
from .state_codec import StateCodecError, dumps_state, loads_state
from .storage.records import LedgerRecorderProtocol

NAMESPACE = "state-snapshots"
SNAPSHOT_INTERVAL = 200
SNAPSHOT_BYTES_PER_EVENT = 4096
# A new label when a state class gains a field that its events fill and a default would not
# (v3: the transfers a service account carried in): snapshots under the old one fail the MAC
# and are rebuilt from the events, once.
MAC_LABEL = b"service-hour ledger: state snapshot MAC key, v3"
MODEL_ONLY: frozenset[str] = frozenset()
_HEADER = struct.Struct(">Q32s")
log = logging.getLogger(__name__)


def log_key_of(keystore: Keystore) -> Callable[[], Signer | None]:
    """The keystore's log key (the first by key id), or None when it holds none."""

    def find() -> Signer | None:
        key_ids = keystore.key_ids(LOG_KEY_OWNER)
        return keystore.get(LOG_KEY_OWNER, key_ids[0]) if key_ids else None

    return find


class SnapshotStore:
    """Reads and writes authenticated snapshots in the recorder's side table."""

    def __init__(
        self, recorder: LedgerRecorderProtocol, key_source: Callable[[], Signer | None]
    ) -> None:
        self.recorder = recorder
        self._key_source = key_source
        self._key: bytes | None = None
        self.rejected = 0
        self.loaded = 0
        self.saved = 0
        self.bytes_saved = 0

    def _mac_key(self) -> bytes | None:
        if self._key is None:
            signer = self._key_source()
            if signer is not None:
                self._key = secret_of(signer, MAC_LABEL)
        return self._key

    def _mac(self, key: bytes, aggregate_id: UUID, payload: bytes) -> bytes:
        return hmac.new(key, aggregate_id.bytes + payload, hashlib.sha256).digest()

    def save(self, state: AggregateState, last_leaf_hash: bytes) -> int | None:
        """Store the snapshot; its size in bytes, or None when none was stored."""
        key = self._mac_key()
        if key is None:
            return None
        try:
            encoded = dumps_state(state, modules=MODEL_ONLY)
        except StateCodecError as error:  # a state the codec cannot hold: replayed next time
            log.warning("no snapshot of %s: %s", state.aggregate_id, error)
            return None
        payload = _HEADER.pack(state.version, last_leaf_hash) + encoded
        value = self._mac(key, state.aggregate_id, payload) + payload
        self.recorder.side_put(NAMESPACE, str(state.aggregate_id), value)
        self.saved += 1
        self.bytes_saved += len(value)
        return len(value)

    def load(self, aggregate_id: UUID) -> tuple[AggregateState, bytes, int] | None:
        """The snapshot's state, last leaf hash and size in bytes, or None (none stored, no
        key, or refused)."""
        key = self._mac_key()
        if key is None:
            return None
        value = self.recorder.side_get(NAMESPACE, str(aggregate_id))
        if value is None:
            return None
        mac, payload = value[:32], value[32:]
        if len(payload) < _HEADER.size or not hmac.compare_digest(
            mac, self._mac(key, aggregate_id, payload)
        ):
            self._reject(aggregate_id, "its MAC does not verify")
            return None
        version, leaf_hash = _HEADER.unpack_from(payload)
        try:
            state = loads_state(payload[_HEADER.size :], modules=MODEL_ONLY)
        except StateCodecError as error:
            self._reject(aggregate_id, str(error))
            return None
        if (
            not isinstance(state, AggregateState)
            or state.aggregate_id != aggregate_id
            or state.version != version
        ):
            self._reject(aggregate_id, "it is not this aggregate's state at its version")
            return None
        self.loaded += 1
        return state, leaf_hash, len(value)

    def _reject(self, aggregate_id: UUID, why: str) -> None:
        self.rejected += 1
        log.warning("state snapshot of %s ignored: %s; replaying its events", aggregate_id, why)
