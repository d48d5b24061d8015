"""Brand projects: a named project that groups activities across organisations over time.

The organisation that registers a project owns it. An activity joins a project when its
organiser (or an organisation above it) links it: the organiser vouches for its own activity.
A project is nominated by its owner or an organisation above, assessed by schemes whose unit
kind is ``project``, and commended with an honour granted to its owner that names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import StringConstraints

from ..errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .activities import Activity, activity_aggregate_id
from .aggregates import AggregateState, Fact, Organisation, register_aggregate
from .awards import HonourId
from .ids import LongText, ShortText, Slug, UUIDText, organisation_aggregate_id, url_uuid
from .port import CommandPort
from .registry import Draft, EventData, event_type

DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{2,60}$")]


@lru_cache(maxsize=65536)
def project_aggregate_id(project_id: str) -> UUID:
    return url_uuid(f"/projects/{project_id}")


class ProjectRegistered(EventData):
    project_id: Slug
    name: ShortText
    field: FieldName
    description: LongText


class ProjectActivityLinked(EventData):
    project_id: Slug
    activity_id: UUIDText


class ProjectNominated(EventData):
    project_id: Slug
    nomination: ShortText
    nominated_on: DateText


class ProjectCommended(EventData):
    project_id: Slug
    honour_id: HonourId


@register_aggregate
@dataclass(slots=True)
class BrandProject(AggregateState):
    kind = "brand-project"
    project_id: str = ""
    owner: str = ""
    name: str = ""
    activities: list[str] = field(default_factory=list)
    nominations: list[dict[str, Any]] = field(default_factory=list)
    commendations: list[str] = field(default_factory=list)

    def on_ProjectRegistered(self, fact: Fact, data: dict[str, Any]) -> None:
        self.project_id, self.owner, self.name = data["project_id"], fact.org, data["name"]

    def on_ProjectActivityLinked(self, fact: Fact, data: dict[str, Any]) -> None:
        self.activities.append(data["activity_id"])

    def on_ProjectNominated(self, fact: Fact, data: dict[str, Any]) -> None:
        self.nominations.append({"by": fact.org, **data})

    def on_ProjectCommended(self, fact: Fact, data: dict[str, Any]) -> None:
        self.commendations.append(data["honour_id"])


def _project(ctx: CommandPort, draft: Draft, project_id: str) -> BrandProject:
    if draft.aggregate_id != project_aggregate_id(project_id):
        raise RuleViolationError("the event's aggregate is not this project's")
    return ctx.existing(BrandProject, draft.aggregate_id, f"project {project_id}")


@event_type("ProjectRegistered", "brand-project", ProjectRegistered)
def check_project_registered(ctx: CommandPort, draft: Draft, data: ProjectRegistered) -> None:
    if draft.aggregate_id != project_aggregate_id(data.project_id):
        raise RuleViolationError("the event's aggregate is not this project's")
    if ctx.state(BrandProject, draft.aggregate_id).exists:
        raise RuleViolationError(f"project {data.project_id} exists; ids are never reused")
    ctx.directory.organisation(draft.org)
    if data.field not in ctx.directory.reference.service_fields:
        raise RuleViolationError(f"unknown service field {data.field!r}")


@event_type("ProjectActivityLinked", "brand-project", ProjectActivityLinked)
def check_activity_linked(ctx: CommandPort, draft: Draft, data: ProjectActivityLinked) -> None:
    project = _project(ctx, draft, data.project_id)
    activity = ctx.existing(
        Activity, activity_aggregate_id(data.activity_id), f"activity {data.activity_id}"
    )
    if not ctx.directory.is_at_or_above(draft.org, activity.org):
        raise KeyNotAuthorisedError(
            f"activity {data.activity_id} is linked by its organiser {activity.org!r} or above"
        )
    if not ctx.directory.is_at_or_above(project.owner, activity.org):
        raise KeyNotAuthorisedError(
            f"project {data.project_id} of {project.owner!r} groups activities of "
            f"{project.owner!r} and the organisations below it, not of {activity.org!r}"
        )
    if activity.cancelled:
        raise RuleViolationError(f"activity {data.activity_id} was cancelled")
    if data.activity_id in project.activities:
        raise RuleViolationError(f"activity {data.activity_id} is already in the project")


@event_type("ProjectNominated", "brand-project", ProjectNominated)
def check_project_nominated(ctx: CommandPort, draft: Draft, data: ProjectNominated) -> None:
    project = _project(ctx, draft, data.project_id)
    if not ctx.directory.is_at_or_above(draft.org, project.owner):
        raise KeyNotAuthorisedError(
            f"project {data.project_id} is nominated by {project.owner!r} or an organisation above"
        )


@event_type("ProjectCommended", "brand-project", ProjectCommended)
def check_project_commended(ctx: CommandPort, draft: Draft, data: ProjectCommended) -> None:
    project = _project(ctx, draft, data.project_id)
    owner = ctx.state(Organisation, organisation_aggregate_id(project.owner))
    honour = owner.honours.get(data.honour_id)
    if honour is None or honour.granted_by != draft.org or honour.revoked:
        raise NotFoundError(
            f"honour {data.honour_id} granted by {draft.org!r} to {project.owner!r} "
            "is not in this ledger"
        )
    if data.honour_id in project.commendations:
        raise RuleViolationError(f"honour {data.honour_id} already commends the project")
