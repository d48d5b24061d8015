"""Station standards: each checklist item of a scheme, attested for a station by the
organisation responsible for it (an organisation above the station), with evidence references.

Evidence is referenced, never embedded: the SHA-256 of a document kept elsewhere and, optionally,
an https URL without query or fragment (where names and numbers usually hide). No personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from ..errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import AggregateState, Fact, register_aggregate
from .assessments import scheme_for
from .ids import LongText, OrgId, Slug, url_uuid
from .port import CommandPort
from .registry import Draft, EventData, event_type

DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
EvidenceURL = Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(/[^\s?#]*)?$")]


@lru_cache(maxsize=65536)
def station_standard_aggregate_id(station: str, scheme_id: str) -> UUID:
    return url_uuid(f"/station-standards/{station}/{scheme_id}")


class Evidence(EventData):
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    url: Annotated[EvidenceURL, StringConstraints(max_length=400)] | None = None


class StationItemAttested(EventData):
    station: OrgId
    scheme_id: Slug
    item: Slug
    evidence: Annotated[list[Evidence], Field(min_length=1, max_length=10)]
    attested_on: DateText


class StationItemWithdrawn(EventData):
    station: OrgId
    scheme_id: Slug
    item: Slug
    reason: LongText


@register_aggregate
@dataclass(slots=True)
class StationStandard(AggregateState):
    kind = "station-standard"
    items: dict[str, str] = field(default_factory=dict)  # item -> attesting organisation

    def on_StationItemAttested(self, fact: Fact, data: dict[str, Any]) -> None:
        self.items[data["item"]] = fact.org

    def on_StationItemWithdrawn(self, fact: Fact, data: dict[str, Any]) -> None:
        self.items.pop(data["item"], None)


def _check_station(ctx: CommandPort, draft: Draft, station: str, scheme_id: str, item: str) -> None:
    if draft.aggregate_id != station_standard_aggregate_id(station, scheme_id):
        raise RuleViolationError("the event's aggregate is not this station's standard")
    info = ctx.directory.organisation(station)
    if info.kind != "station":
        raise RuleViolationError(f"{station!r} is a {info.kind}, not a station")
    if draft.org == station or not ctx.directory.is_at_or_above(draft.org, station):
        raise KeyNotAuthorisedError(
            f"a station's standard is attested by an organisation above {station!r}, "
            "not by the station itself"
        )
    scheme = scheme_for(ctx, scheme_id)
    if item not in {c["item"] for c in scheme.data.get("checklist", [])}:
        raise NotFoundError(f"{item!r} is not a checklist item of scheme {scheme_id}")


@event_type("StationItemAttested", "station-standard", StationItemAttested)
def check_item_attested(ctx: CommandPort, draft: Draft, data: StationItemAttested) -> None:
    _check_station(ctx, draft, data.station, data.scheme_id, data.item)
    if data.item in ctx.state(StationStandard, draft.aggregate_id).items:
        raise RuleViolationError(f"{data.item!r} is already attested for {data.station!r}")


@event_type("StationItemWithdrawn", "station-standard", StationItemWithdrawn)
def check_item_withdrawn(ctx: CommandPort, draft: Draft, data: StationItemWithdrawn) -> None:
    _check_station(ctx, draft, data.station, data.scheme_id, data.item)
    attested_by = ctx.state(StationStandard, draft.aggregate_id).items.get(data.item)
    if attested_by is None:
        raise NotFoundError(f"{data.item!r} is not attested for {data.station!r}")
    if not ctx.directory.is_at_or_above(draft.org, attested_by):
        raise KeyNotAuthorisedError(f"only {attested_by!r} or above withdraws this attestation")
