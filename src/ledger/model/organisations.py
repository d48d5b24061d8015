"""The organisation tree and its keys: the events that establish who may sign what."""

from __future__ import annotations

from typing import Literal

from ..errors import InvalidInputError, KeyNotAuthorisedError, RuleViolationError
from . import organisation_facts
from .aggregates import Organisation
from .ids import Base64Key, KeyIdText, LongText, OrgId, RegionCode, ShortText
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .signing_authority import is_root, registers_key, registers_organisation, revokes_key

OrgKind = Literal["federation", "organisation", "team", "station"]
KeyPurpose = Literal["signing", "automatic-awards"]
LEAF_KINDS = frozenset({"station"})


class RootData(EventData):
    org_id: OrgId
    name: ShortText
    kind: OrgKind
    region: RegionCode


class LedgerCreated(EventData):
    name: ShortText
    origin: ShortText
    root: RootData
    root_key: Base64Key
    log_key: Base64Key


class OrganisationRegistered(EventData):
    org_id: OrgId
    name: ShortText
    kind: OrgKind
    region: RegionCode
    parent: OrgId


class KeyRegistered(EventData):
    org_id: OrgId
    key_id: KeyIdText
    public_key: Base64Key
    purpose: KeyPurpose = "signing"


class KeyRevoked(EventData):
    org_id: OrgId
    key_id: KeyIdText
    reason: LongText


class LogKeyAdded(EventData):
    key_id: KeyIdText
    public_key: Base64Key


class LogKeyRetired(EventData):
    key_id: KeyIdText
    reason: LongText


def _require_new(state: Organisation, what: str) -> None:
    if state.exists:
        raise RuleViolationError(f"{what} is already registered; ids are never reused")


def _claim_matches(key: organisation_facts.RegisteredKey | organisation_facts.LogKey) -> None:
    if not key.claim_matches:
        raise InvalidInputError(key.mismatch())


@event_type("LedgerCreated", "organisation", LedgerCreated)
def check_ledger_created(ctx: CommandPort, draft: Draft, data: LedgerCreated) -> None:
    if ctx.directory.ledger is not None:
        raise RuleViolationError("this store already holds a ledger; it is created once")
    if draft.org != data.root.org_id or data.root.kind != "federation":
        raise RuleViolationError("the genesis event is signed by the root federation itself")
    if data.root_key == data.log_key:
        raise RuleViolationError("the log key must differ from the root key")
    _require_new(ctx.state(Organisation, draft.aggregate_id), f"organisation {data.root.org_id}")


@event_type("OrganisationRegistered", "organisation", OrganisationRegistered)
def check_organisation_registered(
    ctx: CommandPort, draft: Draft, data: OrganisationRegistered
) -> None:
    _require_new(ctx.state(Organisation, draft.aggregate_id), f"organisation {data.org_id!r}")
    parent = ctx.directory.organisation(data.parent)
    if not registers_organisation(draft.org, data.parent):
        raise KeyNotAuthorisedError(
            f"only the parent {data.parent!r} may register {data.org_id!r}, not {draft.org!r}"
        )
    if parent.kind in LEAF_KINDS:
        raise RuleViolationError(f"a {parent.kind} cannot have organisations under it")
    if data.kind == "federation":
        raise RuleViolationError("there is one federation, the root; register an organisation")


@event_type("KeyRegistered", "organisation", KeyRegistered)
def check_key_registered(ctx: CommandPort, draft: Draft, data: KeyRegistered) -> None:
    org = ctx.existing(Organisation, draft.aggregate_id, f"organisation {data.org_id!r}")
    if org.org_id != data.org_id:
        raise InvalidInputError("data.org_id names another organisation than the aggregate")
    if not registers_key(draft.org, org.org_id, org.parent):
        raise KeyNotAuthorisedError(
            f"a key of {data.org_id!r} is registered by its parent or by {data.org_id!r} itself"
        )
    _claim_matches(organisation_facts.key_registered(draft.data))
    if data.key_id in ctx.directory.keys or data.key_id in org.keys:
        raise RuleViolationError(f"key {data.key_id} is already registered; keys are never reused")


@event_type("KeyRevoked", "organisation", KeyRevoked)
def check_key_revoked(ctx: CommandPort, draft: Draft, data: KeyRevoked) -> None:
    org = ctx.existing(Organisation, draft.aggregate_id, f"organisation {data.org_id!r}")
    if org.org_id != data.org_id:
        raise InvalidInputError("data.org_id names another organisation than the aggregate")
    known = ctx.directory.keys.get(data.key_id)
    owner = known.org_id if known else (org.org_id if data.key_id in org.keys else None)
    if organisation_facts.key_revoked(draft.data, owner) is None:
        raise RuleViolationError(f"key {data.key_id} is not a key of {data.org_id!r}")
    if data.key_id in org.revoked:
        raise RuleViolationError(f"key {data.key_id} is already revoked")
    if not revokes_key(ctx.directory, draft.org, data.org_id):
        raise KeyNotAuthorisedError(
            f"{draft.org!r} may not revoke keys of {data.org_id!r}: only it or an ancestor may"
        )


def _check_log_key_event(ctx: CommandPort, draft: Draft) -> None:
    ctx.directory.require_ledger()
    if not is_root(ctx.directory, draft.org):
        raise KeyNotAuthorisedError("only the root authority manages the log keys")


@event_type("LogKeyAdded", "organisation", LogKeyAdded)
def check_log_key_added(ctx: CommandPort, draft: Draft, data: LogKeyAdded) -> None:
    _check_log_key_event(ctx, draft)
    _claim_matches(organisation_facts.log_key_added(draft.data))
    if data.key_id in ctx.directory.require_ledger().log_keys:
        raise RuleViolationError(f"log key {data.key_id} is already in use")


@event_type("LogKeyRetired", "organisation", LogKeyRetired)
def check_log_key_retired(ctx: CommandPort, draft: Draft, data: LogKeyRetired) -> None:
    _check_log_key_event(ctx, draft)
    keys = ctx.directory.require_ledger().log_keys
    if data.key_id not in keys:
        raise RuleViolationError(f"log key {data.key_id} is not in use")
    if len(keys) == 1:
        raise RuleViolationError("the last log key cannot be retired; add its successor first")
