"""Creating the ledger, registering organisations, and managing their keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ..context import Context
from ..errors import NotFoundError, RuleViolationError, StorageError
from ..keystore import LOG_KEY_OWNER
from ..log.note import NoteVerifier
from ..model.aggregates import Organisation
from ..model.ids import organisation_aggregate_id
from ..results import KeyRef, NoValue
from ..signing import Signer, SigningKey, VerifyingKey
from ..trust import KeyInfo
from ..writer import CommandResult
from .base import CommandHost


class OrganisationCommands(CommandHost):
    def create(
        self,
        *,
        name: str,
        root_org_id: str,
        root_name: str,
        region: str,
        origin: str,
        root_key: Signer | None = None,
        log_key: Signer | None = None,
    ) -> dict[str, Any]:
        """Create the ledger once: its root authority, root key and log key.

        New keys are generated unless given, and the private halves go to the keystore. A key
        given as another :class:`Signer` (an HSM key, say) is not copied anywhere: it must be
        in the keystore already (a :class:`~ledger.hsm.Pkcs11Keystore` that generated it) or
        be passed to each command that needs it. Returns the public trust anchors, which should
        be published.
        """
        self._directory.refresh()
        if self._directory.ledger is not None:
            raise RuleViolationError("this store already holds a ledger; it is created once")
        root_key = root_key or SigningKey.generate()
        log_key = log_key or SigningKey.generate()
        data = {
            "name": name,
            "origin": origin,
            "root": {
                "org_id": root_org_id,
                "name": root_name,
                "kind": "federation",
                "region": region,
            },
            "root_key": root_key.public_key.to_base64(),
            "log_key": log_key.public_key.to_base64(),
        }
        aggregate_id = organisation_aggregate_id(root_org_id)
        # Private halves first: a crash after the genesis event must not lose them. A key held
        # elsewhere (a PKCS#11 token) is not the keystore's to keep.
        for owner, key in ((root_org_id, root_key), (LOG_KEY_OWNER, log_key)):
            if isinstance(key, SigningKey):
                self.keystore.add(owner, key)
        self._writer.run(
            org=root_org_id,
            signer=root_key,
            idempotency_key="genesis",
            command="LedgerCreated",
            params=data,
            decide=lambda ctx: _emit_genesis(ctx, aggregate_id, data),
            result_type=NoValue,
        )
        return self.trust_anchors()

    def trust_anchors(self) -> dict[str, Any]:
        """The public keys an auditor or verifier should hold from outside the data."""
        self._directory.refresh()
        ledger = self._directory.require_ledger()
        root_keys = [k for k in self._directory.keys.values() if k.org_id == ledger.root_org]
        return {
            "ledger": ledger.name,
            "origin": ledger.origin,
            "root_org": ledger.root_org,
            "root_key": root_keys[0].key.to_base64(),
            "root_key_id": root_keys[0].key_id,
            "log_keys": {kid: key.to_base64() for kid, key in ledger.log_keys.items()},
            "log_verifiers": [
                NoteVerifier.for_key(ledger.origin, key).key_string
                for key in ledger.log_keys.values()
            ],
        }

    def register_organisation(
        self,
        org: str,
        *,
        org_id: str,
        name: str,
        kind: str,
        region: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """Register ``org_id`` under ``org``, which signs as its parent."""
        data = {"org_id": org_id, "name": name, "kind": kind, "region": region, "parent": org}
        return self._emit_one(
            org,
            "OrganisationRegistered",
            organisation_aggregate_id(org_id),
            data,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def register_key(
        self,
        org: str,
        *,
        for_org: str,
        public_key: VerifyingKey,
        idempotency_key: str,
        purpose: str = "signing",
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """Register a public key of ``for_org``, signed by ``org`` (its parent, or itself)."""
        data = {
            "org_id": for_org,
            "key_id": public_key.key_id,
            "public_key": public_key.to_base64(),
            "purpose": purpose,
        }
        return self._emit_one(
            org,
            "KeyRegistered",
            organisation_aggregate_id(for_org),
            data,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def new_key(
        self, org: str, *, for_org: str, idempotency_key: str, purpose: str = "signing"
    ) -> CommandResult[KeyRef]:
        """Generate a key for ``for_org``, keep it in the keystore, register it;
        ``result.value.key_id``.

        The private half reaches the keystore before the key is registered, so a crash between
        the two leaves at worst an unregistered key file; a retry with the same idempotency key
        returns the key its first attempt registered.
        """
        registered = self._key_registered_by(org, idempotency_key, "KeyRegistered", for_org)
        public_key = self._key_to_register(for_org, registered)
        stored = self.register_key(
            org,
            for_org=for_org,
            public_key=public_key,
            idempotency_key=idempotency_key,
            purpose=purpose,
        )
        return CommandResult(stored.events, KeyRef(public_key.key_id), stored.replayed)

    def _key_to_register(self, owner: str, registered: str | None) -> VerifyingKey:
        """A new key of ``owner``, kept in the keystore first; or, on a retry, the key the first
        attempt registered (its private half must be in the keystore)."""
        if registered is not None:
            return self._held_key(owner, registered).public_key
        key = SigningKey.generate()
        self.keystore.add(owner, key)
        return key.public_key

    def _key_registered_by(
        self, org: str, idempotency_key: str, event_type: str, for_org: str | None
    ) -> str | None:
        """The id of the key an earlier command with this idempotency key registered, if it
        was a ``event_type`` (for ``for_org``)."""
        claim = self._writer.recorder.find_claim(org, idempotency_key)
        if claim is None:
            return None
        refs = self._writer.claims.open(claim)["events"]
        if len(refs) != 1 or refs[0][2] != event_type:
            return None  # another command used the key: registering refuses it as a conflict
        aggregate_id, version, _ = refs[0]
        event = self.events(UUID(aggregate_id))[version - 1]
        if for_org is not None and event.data.get("org_id") != for_org:
            return None
        return str(event.data["key_id"])

    def _held_key(self, owner: str, key_id: str) -> Signer:
        held = self.keystore.get(owner, key_id)
        if held is None:
            raise StorageError(
                f"key {key_id} of {owner!r} is registered but its private half is not in this "
                "keystore; point the ledger at the keystore the first attempt used"
            )
        return held

    def revoke_key(
        self,
        org: str,
        *,
        for_org: str,
        key_id: str,
        reason: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """Revoke a key: it signs nothing new; what it signed before stays valid. An
        organisation revoking its own key signs with its newest other key (never the key
        revoked: a key cannot sign its own revocation)."""
        data = {"org_id": for_org, "key_id": key_id, "reason": reason}
        if signer is None and org == for_org:
            self._directory.refresh()
            signer = self.signer_for(org, excluding=key_id)
        return self._emit_one(
            org,
            "KeyRevoked",
            organisation_aggregate_id(for_org),
            data,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def add_log_key(self, org: str, *, idempotency_key: str) -> CommandResult[KeyRef]:
        """Introduce a new log key (root only); ``result.value.key_id``. Until the old one is
        retired, checkpoints carry both signatures, so verifiers can move to the new key during
        the overlap."""
        registered = self._key_registered_by(org, idempotency_key, "LogKeyAdded", None)
        ledger = self._directory.require_ledger()
        public_key = self._key_to_register(LOG_KEY_OWNER, registered)  # before the event
        stored = self._emit_one(
            org,
            "LogKeyAdded",
            organisation_aggregate_id(ledger.root_org),
            {"key_id": public_key.key_id, "public_key": public_key.to_base64()},
            idempotency_key=idempotency_key,
        )
        return CommandResult(stored.events, KeyRef(public_key.key_id), stored.replayed)

    def retire_log_key(
        self, org: str, *, key_id: str, reason: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Stop signing checkpoints with a log key; checkpoints it signed stay verifiable."""
        ledger = self._directory.require_ledger()
        return self._emit_one(
            org,
            "LogKeyRetired",
            organisation_aggregate_id(ledger.root_org),
            {"key_id": key_id, "reason": reason},
            idempotency_key=idempotency_key,
        )

    def organisation(self, org_id: str) -> dict[str, Any]:
        """An organisation as its events describe it."""
        state = self._state(Organisation, organisation_aggregate_id(org_id))
        assert isinstance(state, Organisation)
        if not state.exists:
            raise NotFoundError(f"organisation {org_id!r} is not registered in this ledger")
        return {
            "org_id": state.org_id,
            "name": state.name,
            "kind": state.org_kind,
            "region": state.region,
            "parent": state.parent,
            "keys": {
                kid: {"purpose": purpose, "revoked": kid in state.revoked}
                for kid, purpose in sorted(state.keys.items())
            },
            "version": state.version,
        }

    def key(self, key_id: str, *, within_seconds: float = 0.0) -> dict[str, Any]:
        """A signing key: whose it is, what it may sign, and the leaves of the log that
        registered and revoked it (``/leaves/{i}`` there holds that event).

        The keys are read from the store first, unless they were less than ``within_seconds``
        ago and this process stored nothing since (a hot read path); a key not known then is
        looked for in the store all the same."""
        self._directory.refresh_if_older_than(within_seconds)
        info = self._directory.keys.get(key_id)
        if info is None and within_seconds > 0:
            self._directory.refresh()
            info = self._directory.keys.get(key_id)
        if info is None:
            raise NotFoundError(f"key {key_id} is not registered in this ledger")
        return _key_json(info)

    def organisation_keys(self, org_id: str) -> dict[str, dict[str, Any]]:
        """Every key ``org_id`` has registered, by key id, each as :meth:`key` describes it
        (revoked ones too, with the leaf that revoked them)."""
        self._directory.refresh()
        self._directory.organisation(org_id)
        return {
            info.key_id: _key_json(info)
            for info in sorted(self._directory.keys.values(), key=lambda k: k.key_id)
            if info.org_id == org_id
        }

    def organisation_name(self, org_id: str) -> str:
        """An organisation's registered name, read from memory (the trust directory follows the
        log; it is refreshed only for an organisation it does not know yet)."""
        return self._directory.organisation(org_id).name

    def acts_for(self, upper: str, org_id: str) -> bool:
        """Whether ``upper`` is ``org_id`` or an organisation above it (whose keys may act for
        it, and whose signed bodies it may submit)."""
        return self._directory.is_at_or_above(upper, org_id)


def _key_json(info: KeyInfo) -> dict[str, Any]:
    return {
        "key_id": info.key_id,
        "org": info.org_id,
        "public_key": info.key.to_base64(),
        "purpose": info.purpose,
        **info.validity(),
        "revoked_reason": info.revoked_reason or None,
    }


def _emit_genesis(ctx: Context, aggregate_id: UUID, data: dict[str, Any]) -> dict[str, Any]:
    ctx.emit("LedgerCreated", aggregate_id, data)
    return {}
