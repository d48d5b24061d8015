"""Aggregate states, rebuilt by applying events in order (a pure projector per kind).

States are many (a city's volunteers) and long-lived (the audit keeps every one), so they are
slotted dataclasses, and organisation ids taken from event data are interned: one copy each."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from uuid import UUID

from . import organisation_facts as facts


class Fact(Protocol):
    """What a projector reads from an event, signed or only drafted."""

    @property
    def type(self) -> str: ...

    @property
    def org(self) -> str: ...

    @property
    def occurred_at(self) -> str: ...


@dataclass(slots=True)
class AggregateState:
    kind: ClassVar[str] = ""
    aggregate_id: UUID
    version: int = 0

    @property
    def exists(self) -> bool:
        return self.version > 0

    def apply(self, fact: Fact, data: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + fact.type, None)
        if handler is not None:
            handler(fact, data)
        self.version += 1


@dataclass(slots=True)
class Transfer:
    transfer_id: str
    from_org: str
    to_org: str
    status: str = "requested"
    reason: str = ""


@dataclass(slots=True)
class Honour:
    honour_id: str
    honour: str
    granted_by: str
    granted_on: str
    revoked: bool = False


@dataclass(slots=True)
class Agreement:
    """An organisation's request to act for a volunteer, and their home organisation's answer."""

    agreement_id: str
    org: str
    rights: tuple[str, ...]
    status: str = "requested"  # granted, declined, withdrawn
    reason: str = ""


@dataclass(slots=True)
class Organisation(AggregateState):
    kind: ClassVar[str] = "organisation"
    org_id: str = ""
    name: str = ""
    org_kind: str = ""
    region: str = ""
    parent: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # key_id -> purpose
    revoked: set[str] = field(default_factory=set)
    honours: dict[str, Any] = field(default_factory=dict)

    def on_LedgerCreated(self, fact: Fact, data: dict[str, Any]) -> None:
        genesis = facts.ledger_created(data)
        self._take(genesis.root)
        self.keys[genesis.root_key.key_id] = genesis.root_key.purpose

    def on_OrganisationRegistered(self, fact: Fact, data: dict[str, Any]) -> None:
        self._take(facts.organisation_registered(data))

    def on_KeyRegistered(self, fact: Fact, data: dict[str, Any]) -> None:
        key = facts.key_registered(data)
        self.keys.setdefault(key.key_id, key.purpose)  # the first registration stands

    def on_KeyRevoked(self, fact: Fact, data: dict[str, Any]) -> None:
        owner = self.org_id if data["key_id"] in self.keys else None
        revocation = facts.key_revoked(data, owner)
        if revocation is not None:
            self.revoked.add(revocation.key_id)

    def _take(self, organisation: facts.RegisteredOrganisation) -> None:
        self.org_id, self.name, self.org_kind = (
            organisation.org_id,
            organisation.name,
            organisation.kind,
        )
        self.region, self.parent = organisation.region, organisation.parent

    def on_OrganisationHonourGranted(self, fact: Fact, data: dict[str, Any]) -> None:
        self.honours[data["honour_id"]] = Honour(
            data["honour_id"], data["honour"], fact.org, data["granted_on"]
        )

    def on_OrganisationHonourRevoked(self, fact: Fact, data: dict[str, Any]) -> None:
        self.honours[data["honour_id"]].revoked = True


@dataclass(slots=True)
class Volunteer(AggregateState):
    kind: ClassVar[str] = "volunteer"
    number: str = ""
    registered_by: str = ""
    registered_at: str = ""
    members_of: set[str] = field(default_factory=set)
    consents: dict[str, bool] = field(default_factory=dict)
    transfers: dict[str, Transfer] = field(default_factory=dict)
    personal_data_erased: bool = False
    home: str = ""
    agreements: dict[str, Agreement] = field(default_factory=dict)

    def holds(self, org: str, right: str) -> bool:
        """Whether the home organisation granted ``org`` the ``right`` and it still stands."""
        return any(
            a.org == org and a.status == "granted" and right in a.rights
            for a in self.agreements.values()
        )

    def on_VolunteerRegistered(self, fact: Fact, data: dict[str, Any]) -> None:
        self.number, self.registered_by = data["number"], fact.org
        self.registered_at = fact.occurred_at
        self.members_of.add(fact.org)
        self.home = fact.org

    def on_AgreementRequested(self, fact: Fact, data: dict[str, Any]) -> None:
        self.agreements[data["agreement_id"]] = Agreement(
            data["agreement_id"], sys.intern(data["org_id"]), tuple(data["rights"])
        )

    def on_AgreementGranted(self, fact: Fact, data: dict[str, Any]) -> None:
        self.agreements[data["agreement_id"]].status = "granted"

    def on_AgreementDeclined(self, fact: Fact, data: dict[str, Any]) -> None:
        agreement = self.agreements[data["agreement_id"]]
        agreement.status, agreement.reason = "declined", data["reason"]

    def on_AgreementWithdrawn(self, fact: Fact, data: dict[str, Any]) -> None:
        agreement = self.agreements[data["agreement_id"]]
        agreement.status, agreement.reason = "withdrawn", data["reason"]

    def on_ConsentGiven(self, fact: Fact, data: dict[str, Any]) -> None:
        self.consents[data["purpose"]] = True

    def on_ConsentWithdrawn(self, fact: Fact, data: dict[str, Any]) -> None:
        self.consents[data["purpose"]] = False

    def on_MembershipJoined(self, fact: Fact, data: dict[str, Any]) -> None:
        self.members_of.add(sys.intern(data["org_id"]))

    def on_MembershipLeft(self, fact: Fact, data: dict[str, Any]) -> None:
        self.members_of.discard(data["org_id"])

    def on_TransferRequested(self, fact: Fact, data: dict[str, Any]) -> None:
        self.transfers[data["transfer_id"]] = Transfer(
            data["transfer_id"], data["from_org"], data["to_org"]
        )

    def on_TransferAccepted(self, fact: Fact, data: dict[str, Any]) -> None:
        transfer = self.transfers[data["transfer_id"]]
        transfer.status = "accepted"
        self.members_of.discard(transfer.from_org)
        self.members_of.add(transfer.to_org)
        if transfer.from_org == self.home:
            self.home = transfer.to_org

    def on_TransferDeclined(self, fact: Fact, data: dict[str, Any]) -> None:
        transfer = self.transfers[data["transfer_id"]]
        transfer.status, transfer.reason = "declined", data["reason"]

    def on_PersonalDataErased(self, fact: Fact, data: dict[str, Any]) -> None:
        self.personal_data_erased = True


AGGREGATE_KINDS: dict[str, type[AggregateState]] = {
    cls.kind: cls for cls in (Organisation, Volunteer)
}


def register_aggregate(cls: type[AggregateState]) -> type[AggregateState]:
    AGGREGATE_KINDS[cls.kind] = cls
    return cls
