"""Activities: what volunteers serve in. An organisation publishes them and may cancel them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from ..envelope import parse_time
from ..errors import KeyNotAuthorisedError, RuleViolationError
from .aggregates import AggregateState, Fact, register_aggregate
from .ids import LongText, OrgId, ShortText, UUIDText, url_uuid
from .port import CommandPort
from .registry import Draft, EventData, event_type

LeaderRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9:._-]{1,63}$")]
TimeText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]


@lru_cache(maxsize=65536)
def activity_aggregate_id(activity_id: str) -> UUID:
    return url_uuid(f"/activities/{activity_id}")


@register_aggregate
@dataclass(slots=True)
class Activity(AggregateState):
    kind = "activity"
    activity_id: str = ""
    org: str = ""
    title: str = ""
    field: str = ""
    starts_at: str = ""
    ends_at: str = ""
    max_minutes: int | None = None
    allow_repeats: bool = False
    people_served: int | None = None
    cancelled: bool = False

    @property
    def minutes_limit(self) -> int:
        """The most minutes one record may give: the activity's span, unless it sets its own
        ``max_minutes`` (a multi-day camp, preparation before the start)."""
        if self.max_minutes is not None:
            return self.max_minutes
        span = parse_time(self.ends_at) - parse_time(self.starts_at)
        return int(span.total_seconds()) // 60

    def on_ActivityPublished(self, fact: Fact, data: dict[str, Any]) -> None:
        self.activity_id, self.org, self.title = data["activity_id"], fact.org, data["title"]
        self.field, self.starts_at, self.ends_at = data["field"], data["starts_at"], data["ends_at"]
        self.max_minutes, self.allow_repeats = data["max_minutes"], data["allow_repeats"]
        self.people_served = data["people_served"]

    def on_ActivityCancelled(self, fact: Fact, data: dict[str, Any]) -> None:
        self.cancelled = True


class ActivityPublished(EventData):
    activity_id: UUIDText
    title: ShortText
    field: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{2,60}$")]
    place: ShortText
    station: OrgId | None = None
    starts_at: TimeText
    ends_at: TimeText
    leader: LeaderRef
    content: LongText
    max_minutes: Annotated[int, Field(ge=1, le=24 * 60 * 31)] | None = None
    allow_repeats: bool = False
    people_served: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class ActivityCancelled(EventData):
    activity_id: UUIDText
    reason: LongText


@event_type("ActivityPublished", "activity", ActivityPublished)
def check_activity_published(ctx: CommandPort, draft: Draft, data: ActivityPublished) -> None:
    if draft.aggregate_id != activity_aggregate_id(data.activity_id):
        raise RuleViolationError("the event's aggregate is not this activity's")
    if ctx.state(Activity, draft.aggregate_id).exists:
        raise RuleViolationError(f"activity {data.activity_id} is already published")
    ctx.directory.organisation(draft.org)
    if data.field not in ctx.directory.reference.service_fields:
        raise RuleViolationError(
            f"unknown service field {data.field!r}; known: "
            f"{sorted(ctx.directory.reference.service_fields)}"
        )
    if parse_time(data.ends_at) <= parse_time(data.starts_at):
        raise RuleViolationError("an activity ends after it starts")
    if data.station is not None and not ctx.directory.is_at_or_above(draft.org, data.station):
        raise RuleViolationError(f"station {data.station!r} is not under {draft.org!r}")


@event_type("ActivityCancelled", "activity", ActivityCancelled)
def check_activity_cancelled(ctx: CommandPort, draft: Draft, data: ActivityCancelled) -> None:
    activity = ctx.existing(Activity, draft.aggregate_id, f"activity {data.activity_id}")
    if not ctx.directory.is_at_or_above(draft.org, activity.org):
        raise KeyNotAuthorisedError(f"only {activity.org!r} or an organisation above it may cancel")
    if activity.cancelled:
        raise RuleViolationError(f"activity {data.activity_id} is already cancelled")
