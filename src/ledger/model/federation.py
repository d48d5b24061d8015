"""Federation of ledgers: the peers a ledger pins, and a volunteer's move between two ledgers.

* ``PeerPinned`` / ``PeerRetired`` (root authority only): the trust anchors of another city's
  ledger (its origin, root key, log verifier keys, witness keys and quorum), so that anyone
  reading this log sees which peers were trusted and since when.
* ``VolunteerTransferredOut`` (the volunteer's home organisation, sending ledger): the volunteer
  moves to a pinned peer. It commits to a summary of the volunteer's approved service (the
  SHA-256 of its canonical JSON, see :mod:`ledger.federation.summary`) and closes their service
  account here: no record, review or correction follows it.
* ``InboundTransferAccepted`` and ``ServiceCarriedIn`` (a receiving organisation, receiving
  ledger): stored together by ``Ledger.transfer_in`` once the peer's package verified. The first
  lives in an aggregate named by the peer's origin and the transfer-out's leaf, so a package is
  accepted once; the second carries the proven minutes into the volunteer's new account (under
  a new pseudonymous number) and references the peer's checkpoint and leaf.

No event here holds personal data; the volunteer's numbers are pseudonymous and differ between
ledgers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import Field, StringConstraints

from ..errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import AggregateState, Fact, Volunteer, register_aggregate
from .authority import require_home
from .awards import stars_follow_the_balance
from .ids import Base64Key, LongText, OrgId, ShortText, UUIDText, url_uuid, volunteer_aggregate_id
from .policies import reacts_to
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .service import RecordId, ServiceAccount, carried_key, service_account_id

Origin = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z0-9.-]+(/[!-~]*)?$")]
VerifierKey = Annotated[
    str, StringConstraints(pattern=r"^[!-*,-~]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$")
]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Base64Hash = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
Count = Annotated[int, Field(ge=0, le=10**12)]
WholeMinutes = Annotated[int, Field(ge=0, le=10**9)]


def peer_aggregate_id(origin: str) -> UUID:
    return url_uuid(f"/federation/peers/{origin}")


def inbound_transfer_aggregate_id(origin: str, transfer_out_leaf: int) -> UUID:
    return url_uuid(f"/federation/inbound/{origin}/{transfer_out_leaf}")


@register_aggregate
@dataclass
class Peer(AggregateState):
    """A pinned peer ledger, as its ``PeerPinned`` event gave it."""

    kind: ClassVar[str] = "federation-peer"
    origin: str = ""
    anchors: dict[str, Any] = field(default_factory=dict)
    pinned_at: str = ""
    retired: bool = False

    def on_PeerPinned(self, fact: Fact, data: dict[str, Any]) -> None:
        self.origin, self.anchors, self.pinned_at = data["origin"], dict(data), fact.occurred_at
        self.retired = False

    def on_PeerRetired(self, fact: Fact, data: dict[str, Any]) -> None:
        self.retired = True


@register_aggregate
@dataclass
class InboundTransfer(AggregateState):
    """One peer's transfer-out, accepted here (at most once)."""

    kind: ClassVar[str] = "federation-inbound"
    number: str = ""

    def on_InboundTransferAccepted(self, fact: Fact, data: dict[str, Any]) -> None:
        self.number = data["number"]


class PeerPinned(EventData):
    origin: Origin
    ledger: ShortText
    root_org: OrgId
    root_key: Base64Key
    log_verifiers: Annotated[list[VerifierKey], Field(min_length=1, max_length=8)]
    witnesses: Annotated[list[VerifierKey], Field(max_length=32)]
    quorum: Annotated[int, Field(ge=0, le=32)]


class PeerRetired(EventData):
    origin: Origin
    reason: LongText


class VolunteerTransferredOut(EventData):
    number: Annotated[str, StringConstraints(pattern=r"^V[A-Z2-7]{13}$")]
    transfer_id: UUIDText
    to_origin: Origin
    covers_version: Count
    records: Count
    approved_minutes: WholeMinutes
    summary_sha256: Sha256Hex


class InboundTransferAccepted(EventData):
    number: Annotated[str, StringConstraints(pattern=r"^V[A-Z2-7]{13}$")]
    peer_origin: Origin
    transfer_id: UUIDText
    transfer_out_leaf: Count


class ServiceCarriedIn(EventData):
    number: Annotated[str, StringConstraints(pattern=r"^V[A-Z2-7]{13}$")]
    record_id: RecordId
    peer_origin: Origin
    transfer_id: UUIDText
    transfer_out_leaf: Count
    checkpoint_size: Count
    checkpoint_root: Base64Hash
    package_sha256: Sha256Hex
    records: Count
    minutes: Annotated[int, Field(ge=1, le=10**9)]


def _require_root(ctx: CommandPort, draft: Draft, action: str) -> str:
    root = ctx.directory.require_ledger().root_org
    if draft.org != root:
        raise KeyNotAuthorisedError(f"only the root authority {root!r} may {action}")
    return root


def active_peer(ctx: CommandPort, origin: str) -> Peer:
    peer = ctx.state(Peer, peer_aggregate_id(origin))
    if not peer.exists:
        raise NotFoundError(f"{origin} is not a pinned peer of this ledger")
    if peer.retired:
        raise RuleViolationError(f"peer {origin} was retired; pin it again to trust it")
    return peer


@event_type("PeerPinned", "federation-peer", PeerPinned)
def check_peer_pinned(ctx: CommandPort, draft: Draft, data: PeerPinned) -> None:
    _require_root(ctx, draft, "pin a peer ledger")
    if draft.aggregate_id != peer_aggregate_id(data.origin):
        raise RuleViolationError("the event's aggregate is not the peer's")
    if data.origin == ctx.directory.require_ledger().origin:
        raise RuleViolationError(f"{data.origin} is this ledger's own origin, not a peer")
    peer = ctx.state(Peer, draft.aggregate_id)
    if peer.exists and not peer.retired:
        raise RuleViolationError(f"peer {data.origin} is already pinned")
    if len(set(data.witnesses)) != len(data.witnesses):
        raise RuleViolationError("a witness is listed twice")
    if data.quorum > len(data.witnesses):
        raise RuleViolationError(f"a quorum of {data.quorum} needs as many witnesses")


@event_type("PeerRetired", "federation-peer", PeerRetired)
def check_peer_retired(ctx: CommandPort, draft: Draft, data: PeerRetired) -> None:
    _require_root(ctx, draft, "retire a peer ledger")
    if draft.aggregate_id != peer_aggregate_id(data.origin):
        raise RuleViolationError("the event's aggregate is not the peer's")
    active_peer(ctx, data.origin)


@event_type("VolunteerTransferredOut", "service", VolunteerTransferredOut)
def check_transferred_out(ctx: CommandPort, draft: Draft, data: VolunteerTransferredOut) -> None:
    if draft.aggregate_id != service_account_id(data.number):
        raise RuleViolationError(
            f"the event's aggregate is not volunteer {data.number}'s service account"
        )
    volunteer = ctx.existing(
        Volunteer, volunteer_aggregate_id(data.number), f"volunteer {data.number}"
    )
    require_home(volunteer, draft.org, "transfer them to another ledger")
    active_peer(ctx, data.to_origin)
    account = ctx.state(ServiceAccount, draft.aggregate_id)
    if account.transferred_to:
        raise RuleViolationError(
            f"volunteer {data.number} already moved to {account.transferred_to}"
        )
    waiting = sorted(r.record_id for r in account.records.values() if r.status == "recorded")
    if waiting:
        raise RuleViolationError(
            f"records {waiting} await review; approve or reject them before the volunteer moves "
            "(the account closes with the transfer-out)"
        )
    if data.covers_version != account.version:
        raise RuleViolationError(
            f"the summary covers version {data.covers_version} of the service account, "
            f"which is at version {account.version}"
        )
    credited = [r for r in account.records.values() if r.credited_minutes]
    if data.records != len(credited) or data.approved_minutes != account.approved_minutes:
        raise RuleViolationError(
            f"the summary claims {data.records} records and {data.approved_minutes} minutes; "
            f"the account holds {len(credited)} approved records and "
            f"{account.approved_minutes} minutes"
        )


@event_type("InboundTransferAccepted", "federation-inbound", InboundTransferAccepted)
def check_inbound_accepted(ctx: CommandPort, draft: Draft, data: InboundTransferAccepted) -> None:
    if draft.aggregate_id != inbound_transfer_aggregate_id(
        data.peer_origin, data.transfer_out_leaf
    ):
        raise RuleViolationError("the event's aggregate is not this transfer-out's")
    active_peer(ctx, data.peer_origin)
    if ctx.state(InboundTransfer, draft.aggregate_id).exists:
        raise RuleViolationError(
            f"the transfer-out at leaf {data.transfer_out_leaf} of {data.peer_origin} was "
            "already accepted here; a package is accepted once"
        )
    volunteer = ctx.existing(
        Volunteer, volunteer_aggregate_id(data.number), f"volunteer {data.number}"
    )
    require_home(volunteer, draft.org, "receive them from another ledger")


@event_type("ServiceCarriedIn", "service", ServiceCarriedIn)
def check_carried_in(ctx: CommandPort, draft: Draft, data: ServiceCarriedIn) -> None:
    if draft.aggregate_id != service_account_id(data.number):
        raise RuleViolationError(
            f"the event's aggregate is not volunteer {data.number}'s service account"
        )
    inbound = ctx.state(
        InboundTransfer, inbound_transfer_aggregate_id(data.peer_origin, data.transfer_out_leaf)
    )
    if not inbound.exists or inbound.number != data.number:
        raise RuleViolationError(
            "minutes are carried in only with the acceptance of the peer's transfer-out "
            "(InboundTransferAccepted for the same number, in the same command)"
        )
    volunteer = ctx.existing(
        Volunteer, volunteer_aggregate_id(data.number), f"volunteer {data.number}"
    )
    require_home(volunteer, draft.org, "carry their service in")
    account = ctx.state(ServiceAccount, draft.aggregate_id)
    account.number = data.number
    if account.transferred_to:
        raise RuleViolationError(f"volunteer {data.number} moved to {account.transferred_to}")
    if carried_key(data.peer_origin, data.transfer_out_leaf) in account.carried_from:
        raise RuleViolationError(
            f"the minutes of {data.peer_origin}'s transfer-out at leaf {data.transfer_out_leaf} "
            "were carried in already: once per transfer-out"
        )
    if data.record_id != account.next_record_id():
        raise RuleViolationError(
            f"the next record id of {data.number} is {account.next_record_id()}"
        )


# Carried minutes count towards this ledger's star schemes like any approved record of the
# receiving organisation.
reacts_to("ServiceCarriedIn", order=10)(stars_follow_the_balance)
