"""Volunteers under pseudonymous numbers: registration, consent, membership and transfers.

No event here holds a name, an ID number or a phone number: those live in the personal-data
store, keyed by the volunteer number, and can be erased while these events stay verifiable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ..context import Context
from ..errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import Volunteer
from .ids import LongText, OrgId, UUIDText, VolunteerNumber, volunteer_aggregate_id
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


class TransferAccepted(EventData):
    number: VolunteerNumber
    transfer_id: UUIDText


class TransferDeclined(EventData):
    number: VolunteerNumber
    transfer_id: UUIDText
    reason: LongText


def registered_volunteer(ctx: Context, number: str) -> Volunteer:
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
def check_volunteer_registered(ctx: Context, draft: Draft, data: VolunteerRegistered) -> None:
    _same_aggregate(draft, data.number)
    if ctx.state(Volunteer, draft.aggregate_id).exists:
        raise RuleViolationError(f"volunteer number {data.number} is already registered")
    ctx.directory.organisation(draft.org)


@event_type("ConsentGiven", "volunteer", ConsentChanged)
@event_type("ConsentWithdrawn", "volunteer", ConsentChanged)
def check_consent(ctx: Context, draft: Draft, data: ConsentChanged) -> None:
    _same_aggregate(draft, data.number)
    _require_member(registered_volunteer(ctx, data.number), draft.org)


@event_type("MembershipJoined", "volunteer", MembershipChanged)
def check_membership_joined(ctx: Context, draft: Draft, data: MembershipChanged) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org != data.org_id:
        raise KeyNotAuthorisedError(f"only {data.org_id!r} itself may admit a member to it")
    ctx.directory.organisation(data.org_id)
    if data.org_id in volunteer.members_of:
        raise RuleViolationError(f"volunteer {data.number} is already a member of {data.org_id!r}")


@event_type("MembershipLeft", "volunteer", MembershipChanged)
def check_membership_left(ctx: Context, draft: Draft, data: MembershipChanged) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org != data.org_id:
        raise KeyNotAuthorisedError(f"only {data.org_id!r} itself records a member leaving it")
    _require_member(volunteer, data.org_id)


@event_type("TransferRequested", "volunteer", TransferRequested)
def check_transfer_requested(ctx: Context, draft: Draft, data: TransferRequested) -> None:
    _same_aggregate(draft, data.number)
    volunteer = registered_volunteer(ctx, data.number)
    if draft.org != data.from_org:
        raise KeyNotAuthorisedError(
            "a transfer is requested by the volunteer's current organisation"
        )
    _require_member(volunteer, data.from_org)
    ctx.directory.organisation(data.to_org)
    if data.to_org == data.from_org or data.to_org in volunteer.members_of:
        raise RuleViolationError(f"volunteer {data.number} already belongs to {data.to_org!r}")
    if data.transfer_id in volunteer.transfers:
        raise RuleViolationError(f"transfer {data.transfer_id} already exists")
    if any(
        t.status == "requested" and t.to_org == data.to_org for t in volunteer.transfers.values()
    ):
        raise RuleViolationError(f"a transfer to {data.to_org!r} is already waiting for an answer")


def _pending_transfer_for(ctx: Context, draft: Draft, number: str, transfer_id: str) -> None:
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
def check_transfer_accepted(ctx: Context, draft: Draft, data: TransferAccepted) -> None:
    _pending_transfer_for(ctx, draft, data.number, data.transfer_id)


@event_type("TransferDeclined", "volunteer", TransferDeclined)
def check_transfer_declined(ctx: Context, draft: Draft, data: TransferDeclined) -> None:
    _pending_transfer_for(ctx, draft, data.number, data.transfer_id)
