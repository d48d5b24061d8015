"""Awards: star schemes as versioned data, star levels issued automatically, and honours."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from ..errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import AggregateState, Fact, Organisation, Volunteer, register_aggregate
from .ids import (
    LongText,
    ShortText,
    Slug,
    VolunteerNumber,
    organisation_aggregate_id,
    url_uuid,
    volunteer_aggregate_id,
)
from .policies import reacts_to
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .service import BALANCE_CHANGES, RecordId, ServiceAccount, service_account_id
from .signing_authority import revises_scheme

DEFAULT_THRESHOLDS_HOURS = (100, 300, 600, 1000, 1500)
Thresholds = Annotated[
    list[Annotated[int, Field(ge=1, le=1_000_000)]], Field(min_length=1, max_length=10)
]
HonourId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{1,80}-H[1-9][0-9]{0,6}$")
]
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


@lru_cache(maxsize=65536)
def star_scheme_aggregate_id(scheme_id: str) -> UUID:
    return url_uuid(f"/star-schemes/{scheme_id}")


def scheme_minutes(directory: Any, account: ServiceAccount, owner: str) -> int:
    """The approved minutes a scheme counts: records made by its owner or any organisation
    below it (a city's scheme counts every record; a district's, its district's)."""
    return sum(
        minutes
        for org, minutes in account.credited_by_org.items()
        if minutes and directory.is_at_or_above(owner, org)
    )


def star_level(minutes: int, thresholds_hours: list[int]) -> int:
    """How many thresholds ``minutes`` of approved service reach."""
    return sum(1 for hours in thresholds_hours if minutes >= hours * 60)


@register_aggregate
@dataclass(slots=True)
class StarScheme(AggregateState):
    kind = "star-scheme"
    owner: str = ""
    scheme_version: int = 0

    def on_StarSchemePublished(self, fact: Fact, data: dict[str, Any]) -> None:
        self.owner, self.scheme_version = fact.org, data["version"]

    def on_StarSchemeRevised(self, fact: Fact, data: dict[str, Any]) -> None:
        self.scheme_version = data["version"]


class StarSchemeData(EventData):
    scheme_id: Slug
    name: ShortText
    version: Annotated[int, Field(ge=1)]
    thresholds_hours: Thresholds


class StarChanged(EventData):
    number: VolunteerNumber
    scheme_id: Slug
    scheme_version: Annotated[int, Field(ge=1)]
    level: Annotated[int, Field(ge=1, le=10)]
    record_id: RecordId
    approved_minutes: Annotated[int, Field(ge=0)]


class HonourGranted(EventData):
    honour_id: HonourId
    honour: ShortText
    recipient_kind: Literal["volunteer", "organisation"]
    recipient: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    citation: LongText
    granted_on: DateText


class HonourRevoked(EventData):
    honour_id: HonourId
    recipient: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    reason: LongText


def _check_scheme(ctx: CommandPort, draft: Draft, data: StarSchemeData, first: bool) -> None:
    if draft.aggregate_id != star_scheme_aggregate_id(data.scheme_id):
        raise RuleViolationError("the event's aggregate is not this star scheme's")
    scheme = ctx.state(StarScheme, draft.aggregate_id)
    if first and scheme.exists:
        raise RuleViolationError(f"star scheme {data.scheme_id} exists; revise it instead")
    if not first and not scheme.exists:
        raise NotFoundError(f"star scheme {data.scheme_id} is not in this ledger")
    if not first and not revises_scheme(draft.org, scheme.owner):
        raise KeyNotAuthorisedError(f"star scheme {data.scheme_id} is revised by its owner only")
    if data.version != scheme.scheme_version + 1:
        raise RuleViolationError(
            f"the next version of {data.scheme_id} is {scheme.scheme_version + 1}"
        )
    if any(b <= a for a, b in zip(data.thresholds_hours, data.thresholds_hours[1:], strict=False)):
        raise RuleViolationError("star thresholds must rise strictly")
    ctx.directory.organisation(draft.org)


@event_type("StarSchemePublished", "star-scheme", StarSchemeData)
def check_scheme_published(ctx: CommandPort, draft: Draft, data: StarSchemeData) -> None:
    _check_scheme(ctx, draft, data, first=True)
    require_automatic_key(ctx, draft.org, "star scheme")


def require_automatic_key(ctx: CommandPort, org: str, what: str) -> None:
    """Stars and credit are issued with the owner's automatic-awards key: it must exist first,
    or every approval that calls for one would be refused."""
    if not ctx.directory.active_keys(org, "automatic-awards"):
        raise RuleViolationError(
            f"{org!r} owns no active automatic-awards key; register one before opening a {what}"
        )


@event_type("StarSchemeRevised", "star-scheme", StarSchemeData)
def check_scheme_revised(ctx: CommandPort, draft: Draft, data: StarSchemeData) -> None:
    _check_scheme(ctx, draft, data, first=False)


def _star_context(
    ctx: CommandPort, draft: Draft, data: StarChanged
) -> tuple[ServiceAccount, list[int]]:
    scheme = ctx.directory.reference.star_schemes.get(data.scheme_id)
    if scheme is None:
        raise NotFoundError(f"star scheme {data.scheme_id} is not in this ledger")
    if draft.org != scheme.owner or data.scheme_version != scheme.version:
        raise KeyNotAuthorisedError(
            "stars are issued by the scheme owner under its current version"
        )
    if draft.aggregate_id != service_account_id(data.number):
        raise RuleViolationError("a star belongs to the volunteer's service account")
    account = ctx.state(ServiceAccount, draft.aggregate_id)
    minutes = scheme_minutes(ctx.directory, account, scheme.owner)
    if data.record_id not in account.records or data.approved_minutes != minutes:
        raise RuleViolationError(
            "a star names a record of the volunteer and the minutes its scheme counts"
        )
    return account, scheme.thresholds_hours


@event_type("StarAttained", "service", StarChanged, key_purpose="automatic-awards")
def check_star_attained(ctx: CommandPort, draft: Draft, data: StarChanged) -> None:
    account, thresholds = _star_context(ctx, draft, data)
    if data.level != account.stars.get(data.scheme_id, 0) + 1 or data.level > len(thresholds):
        raise RuleViolationError("stars are attained one level at a time")
    if data.approved_minutes < thresholds[data.level - 1] * 60:
        raise RuleViolationError(f"{data.approved_minutes} minutes do not reach star {data.level}")


@event_type("StarWithdrawn", "service", StarChanged, key_purpose="automatic-awards")
def check_star_withdrawn(ctx: CommandPort, draft: Draft, data: StarChanged) -> None:
    account, thresholds = _star_context(ctx, draft, data)
    if data.level != account.stars.get(data.scheme_id, 0):
        raise RuleViolationError("only the volunteer's current star level can be withdrawn")
    # a level above those of a revised scheme no longer exists: it goes whatever the minutes
    if data.level <= len(thresholds) and data.approved_minutes >= thresholds[data.level - 1] * 60:
        raise RuleViolationError(f"{data.approved_minutes} minutes still reach star {data.level}")


@reacts_to(*BALANCE_CHANGES, order=10)
def stars_follow_the_balance(ctx: CommandPort, draft: Draft, data: Any) -> None:
    """After a change of balance: grant or revoke the stars it crosses."""
    number, record_id = data.number, data.record_id
    ctx.after(("stars", number), lambda c: reconcile_stars(c, number, record_id))


def reconcile_stars(ctx: CommandPort, number: str, record_id: str) -> None:
    """Stage the star events that the volunteer's approved minutes now call for, under each
    scheme that counts the changed record."""
    account = ctx.state(ServiceAccount, service_account_id(number))
    changed = account.records[record_id]
    for scheme in sorted(ctx.directory.reference.star_schemes.values(), key=lambda s: s.scheme_id):
        if not ctx.directory.is_at_or_above(scheme.owner, changed.recording_org):
            continue
        minutes = scheme_minutes(ctx.directory, account, scheme.owner)
        target = star_level(minutes, scheme.thresholds_hours)
        current = account.stars.get(scheme.scheme_id, 0)
        while current != target:
            attained = current < target
            level = current + 1 if attained else current
            ctx.emit(
                "StarAttained" if attained else "StarWithdrawn",
                account.aggregate_id,
                {
                    "number": number,
                    "scheme_id": scheme.scheme_id,
                    "scheme_version": scheme.version,
                    "level": level,
                    "record_id": record_id,
                    "approved_minutes": minutes,
                },
                as_org=scheme.owner,
            )
            current = account.stars.get(scheme.scheme_id, 0)


def _check_honour_authority(ctx: CommandPort, draft: Draft, recipient_orgs: set[str]) -> None:
    if not any(ctx.directory.is_at_or_above(draft.org, org) for org in recipient_orgs):
        raise KeyNotAuthorisedError(
            f"{draft.org!r} grants honours only to those in its part of the organisation tree"
        )


def _honour_target(
    ctx: CommandPort, draft: Draft, kind: str, recipient: str, *, granting: bool = True
) -> dict[str, Any]:
    """The recipient's honours; ``granting``: the signer must be in the recipient's part of the
    tree (a revocation asks only that the signer be the granter or above it)."""
    if kind == "volunteer":
        volunteer = ctx.existing(
            Volunteer, volunteer_aggregate_id(recipient), f"volunteer {recipient}"
        )
        if draft.aggregate_id != service_account_id(recipient):
            raise RuleViolationError("a volunteer's honour belongs to their service account")
        if granting:
            _check_honour_authority(ctx, draft, volunteer.members_of)
        return ctx.state(ServiceAccount, draft.aggregate_id).honours
    ctx.directory.organisation(recipient)
    if draft.aggregate_id != organisation_aggregate_id(recipient):
        raise RuleViolationError("an organisation's honour belongs to the organisation")
    if granting:
        _check_honour_authority(ctx, draft, {recipient})
    return ctx.state(Organisation, draft.aggregate_id).honours


@event_type("HonourGranted", "service", HonourGranted)
@event_type("OrganisationHonourGranted", "organisation", HonourGranted)
def check_honour_granted(ctx: CommandPort, draft: Draft, data: HonourGranted) -> None:
    expected = "volunteer" if draft.type == "HonourGranted" else "organisation"
    if data.recipient_kind != expected:
        raise RuleViolationError(f"{draft.type} honours a {expected}")
    honours = _honour_target(ctx, draft, data.recipient_kind, data.recipient)
    if data.honour_id != f"{data.recipient}-H{len(honours) + 1}":
        raise RuleViolationError(f"the next honour id is {data.recipient}-H{len(honours) + 1}")


@event_type("HonourRevoked", "service", HonourRevoked)
@event_type("OrganisationHonourRevoked", "organisation", HonourRevoked)
def check_honour_revoked(ctx: CommandPort, draft: Draft, data: HonourRevoked) -> None:
    kind = "volunteer" if draft.type == "HonourRevoked" else "organisation"
    honours = _honour_target(ctx, draft, kind, data.recipient, granting=False)
    honour = honours.get(data.honour_id)
    if honour is None:
        raise NotFoundError(f"honour {data.honour_id} is not in this ledger")
    if honour.revoked:
        raise RuleViolationError(f"honour {data.honour_id} is already revoked")
    if not ctx.directory.is_at_or_above(draft.org, honour.granted_by):
        raise KeyNotAuthorisedError(f"only {honour.granted_by!r} or above revokes this honour")
