"""Volunteers under pseudonymous numbers: registration, consent, membership, transfers and the
agreements by which their home organisation lets another organisation act for them.

No event here holds a name, an ID number or a phone number: those live in the personal-data
store, keyed by the volunteer number, and can be erased while these events stay verifiable.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ..errors import InvalidInputError, KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import Agreement, Volunteer
from .authority import require_home, require_right
from .ids import LongText, OrgId, UUIDText, VolunteerNumber, volunteer_aggregate_id
from .port import CommandPort
from .registry import Draft, EventData, event_type

ConsentPurpose = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{2,40}$")]


class VolunteerRegistered(EventData):
    number: VolunteerNumber


class ConsentChanged(EventData):
    number: VolunteerNumber
    purpose: ConsentPurpose


class MembershipChanged(EventData):
    number: VolunteerNumber
    org_id: OrgId


class TransferRequested(EventData):
    number: VolunteerNumber
    transfer_id: UUIDText
    from_org: OrgId
    to_org: OrgId


Right = Literal["membership", "consent", "personal-data", "credit"]


class AgreementRequested(EventData):
    number: VolunteerNumber
    agreement_id: UUIDText
    org_id: OrgId
    rights: Annotated[list[Right], Field(min_length=1, max_length=4)]


class AgreementAnswered(EventData):
    number: VolunteerNumber
    agreement_id: UUIDText


class AgreementClosed(EventData):
    number: VolunteerNumber
    agreement_id: UUIDText
    reason: LongText


class TransferAccepted(EventData):
    number: VolunteerNumber
    transfer_id: UUIDText


class TransferDeclined(EventData):
    number: VolunteerNumber
    transfer_id: UUIDText
    reason: LongText


def registered_volunteer(ctx: CommandPort, number: str) -> Volunteer:
    return ctx.existing(Volunteer, volunteer_aggregate_id(number), f"volunteer {number}")


def _same_aggregate(draft: Draft, number: str) -> None:
    if draft.aggregate_id != volunteer_aggregate_id(number):
        raise RuleViolationError(f"the event's aggregate is not volunteer {number}'s")


def _require_member(volunteer: Volunteer, org: str) -> None:
    if org not in volunteer.members_of:
        raise KeyNotAuthorisedError(
            f"{org!r} is not an organisation of volunteer {volunteer.number}; "
            f"their organisations are {sorted(volunteer.members_of)}"
        )


@event_type("VolunteerRegistered", "volunteer", VolunteerRegistered)
def check_volunteer_registered(ctx: CommandPort, draft: Draft, data: VolunteerRegistered) -> None:
    _same_aggregate(draft, data.number)
    if ctx.state(Volunteer, draft.aggregate_id).exists:
        raise RuleViolationError(f"volunteer number {data.number} is already registered")
    ctx.directory.organisation(draft.org)


@event_type("ConsentGiven", "volunteer", ConsentChanged)
@event_type("ConsentWithdrawn", "volunteer", ConsentChanged)
def check_consent(ctx: CommandPort, draft: Draft, data: ConsentChanged) -> None:
    _same_aggregate(draft, data.number)
    require_right(registered_volunteer(ctx, data.number), draft.org, "consent")


@event_type("MembershipJoined", "volunteer", MembershipChanged)
def check_membership_joined(ctx: CommandPort, draft: Draft, data: MembershipChanged) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org != data.org_id:
        raise KeyNotAuthorisedError(f"only {data.org_id!r} itself may admit a member to it")
    ctx.directory.organisation(data.org_id)
    if data.org_id in volunteer.members_of:
        raise RuleViolationError(f"volunteer {data.number} is already a member of {data.org_id!r}")
    require_right(volunteer, data.org_id, "membership")


@event_type("MembershipLeft", "volunteer", MembershipChanged)
def check_membership_left(ctx: CommandPort, draft: Draft, data: MembershipChanged) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org not in (data.org_id, volunteer.home):
        raise KeyNotAuthorisedError(
            f"only {data.org_id!r} itself or the volunteer's home organisation "
            f"{volunteer.home!r} records a member leaving {data.org_id!r}"
        )
    _require_member(volunteer, data.org_id)
    if data.org_id == volunteer.home:
        raise RuleViolationError(
            f"{data.org_id!r} is volunteer {data.number}'s home organisation; a volunteer always "
            "has one: transfer them to another organisation instead"
        )


@event_type("TransferRequested", "volunteer", TransferRequested)
def check_transfer_requested(ctx: CommandPort, draft: Draft, data: TransferRequested) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org != data.from_org:
        raise KeyNotAuthorisedError(
            "a transfer is requested by the volunteer's current organisation"
        )
    require_home(volunteer, data.from_org, "request their transfer")
    ctx.directory.organisation(data.to_org)
    if data.to_org == data.from_org or data.to_org in volunteer.members_of:
        raise RuleViolationError(f"volunteer {data.number} already belongs to {data.to_org!r}")
    if data.transfer_id in volunteer.transfers:
        raise RuleViolationError(f"transfer {data.transfer_id} already exists")
    if any(
        t.status == "requested" and t.to_org == data.to_org and t.from_org == volunteer.home
        for t in volunteer.transfers.values()
    ):
        raise RuleViolationError(f"a transfer to {data.to_org!r} is already waiting for an answer")


def _pending_transfer_for(ctx: CommandPort, draft: Draft, number: str, transfer_id: str) -> None:
    _same_aggregate(draft, number)
    volunteer = registered_volunteer(ctx, number)
    transfer = volunteer.transfers.get(transfer_id)
    if transfer is None:
        raise NotFoundError(f"transfer {transfer_id} of volunteer {number} does not exist")
    if draft.org != transfer.to_org:
        raise KeyNotAuthorisedError(
            f"only the receiving organisation {transfer.to_org!r} answers transfer {transfer_id}"
        )
    if transfer.status != "requested":
        raise RuleViolationError(f"transfer {transfer_id} was already {transfer.status}")


@event_type("TransferAccepted", "volunteer", TransferAccepted)
def check_transfer_accepted(ctx: CommandPort, draft: Draft, data: TransferAccepted) -> None:
    _pending_transfer_for(ctx, draft, data.number, data.transfer_id)
    volunteer = registered_volunteer(ctx, data.number)
    transfer = volunteer.transfers[data.transfer_id]
    if transfer.from_org != volunteer.home:
        # the request was the agreement of a home organisation the volunteer has since left:
        # accepting it now would act on the current home's volunteer without its agreement
        raise KeyNotAuthorisedError(
            f"transfer {data.transfer_id} was requested by {transfer.from_org!r}, no longer "
            f"volunteer {data.number}'s home organisation; only {volunteer.home!r} may request "
            "their transfer now (this request can only be declined)"
        )


@event_type("TransferDeclined", "volunteer", TransferDeclined)
def check_transfer_declined(ctx: CommandPort, draft: Draft, data: TransferDeclined) -> None:
    _pending_transfer_for(ctx, draft, data.number, data.transfer_id)


@event_type("AgreementRequested", "volunteer", AgreementRequested)
def check_agreement_requested(ctx: CommandPort, draft: Draft, data: AgreementRequested) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org != data.org_id:
        raise KeyNotAuthorisedError(f"only {data.org_id!r} itself asks for an agreement for it")
    ctx.directory.organisation(data.org_id)
    if data.org_id == volunteer.home:
        raise RuleViolationError(
            f"{data.org_id!r} is volunteer {data.number}'s home organisation; it needs no agreement"
        )
    if len(set(data.rights)) != len(data.rights):
        raise InvalidInputError("each right is asked for once")
    if data.agreement_id in volunteer.agreements:
        raise RuleViolationError(f"agreement {data.agreement_id} already exists")


def _answerable(ctx: CommandPort, draft: Draft, number: str, agreement_id: str) -> Agreement:
    _same_aggregate(draft, number)
    volunteer = registered_volunteer(ctx, number)
    agreement = volunteer.agreements.get(agreement_id)
    if agreement is None:
        raise NotFoundError(f"agreement {agreement_id} of volunteer {number} does not exist")
    require_home(volunteer, draft.org, f"answer agreement {agreement_id}")
    return agreement


def _pending(ctx: CommandPort, draft: Draft, number: str, agreement_id: str) -> None:
    agreement = _answerable(ctx, draft, number, agreement_id)
    if agreement.status != "requested":
        raise RuleViolationError(f"agreement {agreement_id} was already {agreement.status}")


@event_type("AgreementGranted", "volunteer", AgreementAnswered)
def check_agreement_granted(ctx: CommandPort, draft: Draft, data: AgreementAnswered) -> None:
    _pending(ctx, draft, data.number, data.agreement_id)


@event_type("AgreementDeclined", "volunteer", AgreementClosed)
def check_agreement_declined(ctx: CommandPort, draft: Draft, data: AgreementClosed) -> None:
    _pending(ctx, draft, data.number, data.agreement_id)


@event_type("AgreementWithdrawn", "volunteer", AgreementClosed)
def check_agreement_withdrawn(ctx: CommandPort, draft: Draft, data: AgreementClosed) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    agreement = volunteer.agreements.get(data.agreement_id)
    if agreement is None:
        raise NotFoundError(f"agreement {data.agreement_id} of volunteer {data.number} is unknown")
    if draft.org not in (volunteer.home, agreement.org):
        raise KeyNotAuthorisedError(
            f"agreement {data.agreement_id} is withdrawn by the volunteer's home organisation "
            f"{volunteer.home!r} or by {agreement.org!r}, which holds it"
        )
    if agreement.status != "granted":
        raise RuleViolationError(f"agreement {data.agreement_id} is {agreement.status}")
