"""What the organisation and key events establish: each fact stated once.

Pure functions of an event's data (and, for a revocation, of whose key it names): no store, no
context, no clock. The ``Organisation`` aggregate and its rules, the trust directory, the audit's
replay, the receiver of a transfer package, the certificate verifier and the assessment figures
all read ``LedgerCreated``, ``OrganisationRegistered``, ``KeyRegistered``, ``KeyRevoked``,
``LogKeyAdded`` and ``LogKeyRetired`` through them, so they cannot disagree about an
organisation or a key.

A key's id is always derived from its public key (:func:`ledger.signing.key_id_of`), never taken
from the event: an event whose claimed ``key_id`` is another establishes the key under its derived
id, and :attr:`RegisteredKey.claim_matches` says the claim was wrong (the rules refuse such an
event, and the audit reports it). A revocation affects only a key of the organisation it names.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from ..signing import VerifyingKey

SIGNING = "signing"  # the purpose of the root key, and of a key registered without one


@dataclass(frozen=True, slots=True)
class RegisteredOrganisation:
    """An organisation as its registration (or the genesis, for the root) describes it."""

    org_id: str
    name: str
    kind: str
    region: str
    parent: str | None


class _ClaimedKeyId:
    """A key known by the id derived from its public key, beside the id its event claimed."""

    __slots__ = ()
    key_id: str
    claimed_key_id: str

    @property
    def claim_matches(self) -> bool:
        """Whether the event's claimed ``key_id`` is the id of its public key."""
        return self.claimed_key_id == self.key_id

    def mismatch(self) -> str:
        """What is wrong with the claim, for an error or a finding."""
        return key_id_mismatch(self.claimed_key_id, self.key_id)


@dataclass(frozen=True, slots=True)
class RegisteredKey(_ClaimedKeyId):
    """A key of an organisation, under the id derived from its public key."""

    key_id: str
    org_id: str
    public_key: VerifyingKey
    purpose: str
    claimed_key_id: str


@dataclass(frozen=True, slots=True)
class RevokedKey:
    """A key of ``org_id`` that signs nothing new from this event on."""

    key_id: str
    org_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class LogKey(_ClaimedKeyId):
    """A key that signs the log's checkpoints, under the id derived from its public key."""

    key_id: str
    public_key: VerifyingKey
    claimed_key_id: str


@dataclass(frozen=True, slots=True)
class RetiredLogKey:
    """A log key that signs no new checkpoint; those it signed stay verifiable."""

    key_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Genesis:
    """What ``LedgerCreated`` establishes: the ledger, its root organisation and first keys."""

    ledger_name: str
    origin: str
    root: RegisteredOrganisation
    root_key: RegisteredKey
    log_key: LogKey


def key_id_mismatch(claimed: str, derived: str) -> str:
    return f"key_id {claimed} is not the id of that public key ({derived})"


def root_organisation(data: Mapping[str, Any]) -> RegisteredOrganisation:
    """The root federation a ``LedgerCreated`` event creates: it has no parent."""
    root = data["root"]
    return RegisteredOrganisation(root["org_id"], root["name"], root["kind"], root["region"], None)


def ledger_created(data: Mapping[str, Any]) -> Genesis:
    """The genesis: the root federation, its signing key and the first log key."""
    organisation = root_organisation(data)
    root_key = VerifyingKey.from_base64(data["root_key"])
    log_key = VerifyingKey.from_base64(data["log_key"])
    return Genesis(
        data["name"],
        data["origin"],
        organisation,
        RegisteredKey(root_key.key_id, organisation.org_id, root_key, SIGNING, root_key.key_id),
        LogKey(log_key.key_id, log_key, log_key.key_id),
    )


def organisation_registered(data: Mapping[str, Any]) -> RegisteredOrganisation:
    """An organisation registered under its parent."""
    return RegisteredOrganisation(
        data["org_id"], data["name"], data["kind"], data["region"], data["parent"]
    )


def key_registered(data: Mapping[str, Any]) -> RegisteredKey:
    """A key registered for ``data["org_id"]``, under the id derived from its public key. A key
    is registered once: whoever follows the events keeps the first registration of a key id."""
    public_key = VerifyingKey.from_base64(data["public_key"])
    return RegisteredKey(
        public_key.key_id,
        data["org_id"],
        public_key,
        data.get("purpose", SIGNING),
        str(data.get("key_id")),
    )


def key_revoked(data: Mapping[str, Any], owner: str | None) -> RevokedKey | None:
    """The revocation of ``data["key_id"]``, or None when that key is not a key of the
    organisation the event names: ``owner`` is the organisation the key is registered to (None
    when the key is unknown), and a revocation naming another organisation's key changes
    nothing. A key is revoked once: whoever follows the events keeps the first revocation."""
    if owner is None or owner != data["org_id"]:
        return None
    return RevokedKey(data["key_id"], data["org_id"], data["reason"])


def log_key_added(data: Mapping[str, Any]) -> LogKey:
    """A new log key, under the id derived from its public key."""
    public_key = VerifyingKey.from_base64(data["public_key"])
    return LogKey(public_key.key_id, public_key, str(data.get("key_id")))


def log_key_retired(data: Mapping[str, Any], in_use: Container[str]) -> RetiredLogKey | None:
    """The retirement of a log key in use, or None when ``data["key_id"]`` is not in use."""
    if data["key_id"] not in in_use:
        return None
    return RetiredLogKey(data["key_id"], data["reason"])
