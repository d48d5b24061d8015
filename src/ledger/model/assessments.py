"""Assessment schemes as signed, versioned reference data, and the results published under them.

A scheme is published by an organisation for the organisations, teams, stations or brand
projects below it. It picks indicators from the fixed catalogue (``ledger.assessment.catalogue``)
with integer weights in per-mille that sum to exactly 1000, a target per indicator, and rating
bands. A result (``AssessmentPublished``) commits to every figure, the score and band the scheme
derives from them, and the log size the figures were computed at; the audit recomputes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from ..assessment.catalogue import (
    CATALOGUE,
    indicator_score,
    personal_data_term,
    rating_for,
    total_score,
)
from ..errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .aggregates import AggregateState, Fact, register_aggregate
from .ids import ShortText, Slug, url_uuid
from .port import CommandPort
from .projects import BrandProject, project_aggregate_id
from .registry import Draft, EventData, event_type

UnitKind = Literal["organisation", "team", "station", "project"]
PeriodText = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
IndicatorId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{1,63}$")]
UnitId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$")]
TOTAL_WEIGHT = 1000


@lru_cache(maxsize=4096)
def assessment_scheme_aggregate_id(scheme_id: str) -> UUID:
    return url_uuid(f"/assessment-schemes/{scheme_id}")


@lru_cache(maxsize=65536)
def assessment_aggregate_id(scheme_id: str, period: str, unit: str) -> UUID:
    return url_uuid(f"/assessments/{scheme_id}/{period}/{unit}")


class WeightedIndicator(EventData):
    indicator: IndicatorId
    weight: Annotated[int, Field(ge=1, le=TOTAL_WEIGHT)]
    target: Annotated[int, Field(ge=1, le=1_000_000_000)]


class RatingBand(EventData):
    band: Slug
    min_score: Annotated[int, Field(ge=0, le=1000)]


class ChecklistItem(EventData):
    item: Slug
    title: ShortText


class AssessmentSchemeData(EventData):
    scheme_id: Slug
    name: ShortText
    version: Annotated[int, Field(ge=1)]
    unit_kind: UnitKind
    indicators: Annotated[list[WeightedIndicator], Field(min_length=1, max_length=20)]
    bands: Annotated[list[RatingBand], Field(min_length=1, max_length=10)]
    checklist: Annotated[list[ChecklistItem], Field(default_factory=list, max_length=50)]


class Figure(EventData):
    indicator: IndicatorId
    value: Annotated[int, Field(ge=-(10**12), le=10**12)]
    score: Annotated[int, Field(ge=0, le=1000)]


class AssessmentPublished(EventData):
    scheme_id: Slug
    scheme_version: Annotated[int, Field(ge=1)]
    period: PeriodText
    unit_kind: UnitKind
    unit: UnitId
    log_size: Annotated[int, Field(ge=1)]
    figures: Annotated[list[Figure], Field(min_length=1, max_length=20)]
    score: Annotated[int, Field(ge=0, le=1000)]
    rating: Slug


@register_aggregate
@dataclass(slots=True)
class AssessmentScheme(AggregateState):
    kind = "assessment-scheme"
    owner: str = ""
    scheme_version: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def on_AssessmentSchemePublished(self, fact: Fact, data: dict[str, Any]) -> None:
        self.owner = fact.org
        self.on_AssessmentSchemeRevised(fact, data)

    def on_AssessmentSchemeRevised(self, fact: Fact, data: dict[str, Any]) -> None:
        self.scheme_version, self.data = data["version"], data


@register_aggregate
@dataclass(slots=True)
class Assessment(AggregateState):
    kind = "assessment"
    results: list[dict[str, Any]] = field(default_factory=list)

    def on_AssessmentPublished(self, fact: Fact, data: dict[str, Any]) -> None:
        self.results.append(data)


def check_scheme_content(data: AssessmentSchemeData) -> None:
    """The rules every scheme version obeys, before anything is signed."""
    seen: set[str] = set()
    for entry in data.indicators:
        term = personal_data_term(entry.indicator)
        if term is not None:
            raise RuleViolationError(
                f"indicator {entry.indicator!r} would be a formula over personal data ({term}); "
                "the ledger holds none and no assessment may count it"
            )
        known = CATALOGUE.get(entry.indicator)
        if known is None:
            raise RuleViolationError(
                f"unknown indicator {entry.indicator!r}; the catalogue has {sorted(CATALOGUE)}"
            )
        if data.unit_kind not in known.unit_kinds:
            raise RuleViolationError(
                f"indicator {entry.indicator!r} does not apply to a {data.unit_kind}"
            )
        if entry.indicator in seen:
            raise RuleViolationError(f"indicator {entry.indicator!r} is listed twice")
        seen.add(entry.indicator)
    weights = sum(entry.weight for entry in data.indicators)
    if weights != TOTAL_WEIGHT:
        raise RuleViolationError(
            f"the weights sum to {weights} per-mille; they must sum to exactly {TOTAL_WEIGHT}"
        )
    if len({b.band for b in data.bands}) != len(data.bands) or len(
        {b.min_score for b in data.bands}
    ) != len(data.bands):
        raise RuleViolationError("rating bands need distinct names and distinct minimum scores")
    if len({c.item for c in data.checklist}) != len(data.checklist):
        raise RuleViolationError("checklist items need distinct ids")
    if "station-checklist-met" in seen and not data.checklist:
        raise RuleViolationError("station-checklist-met needs the scheme's checklist items")


def _check_scheme(ctx: CommandPort, draft: Draft, data: AssessmentSchemeData, first: bool) -> None:
    if draft.aggregate_id != assessment_scheme_aggregate_id(data.scheme_id):
        raise RuleViolationError("the event's aggregate is not this assessment scheme's")
    scheme = ctx.state(AssessmentScheme, draft.aggregate_id)
    if first and scheme.exists:
        raise RuleViolationError(f"assessment scheme {data.scheme_id} exists; revise it instead")
    if not first and not scheme.exists:
        raise NotFoundError(f"assessment scheme {data.scheme_id} is not in this ledger")
    if not first and scheme.owner != draft.org:
        raise KeyNotAuthorisedError(
            f"assessment scheme {data.scheme_id} is revised by its owner only"
        )
    if data.version != scheme.scheme_version + 1:
        raise RuleViolationError(
            f"the next version of {data.scheme_id} is {scheme.scheme_version + 1}"
        )
    ctx.directory.organisation(draft.org)
    check_scheme_content(data)


@event_type("AssessmentSchemePublished", "assessment-scheme", AssessmentSchemeData)
def check_scheme_published(ctx: CommandPort, draft: Draft, data: AssessmentSchemeData) -> None:
    _check_scheme(ctx, draft, data, first=True)


@event_type("AssessmentSchemeRevised", "assessment-scheme", AssessmentSchemeData)
def check_scheme_revised(ctx: CommandPort, draft: Draft, data: AssessmentSchemeData) -> None:
    _check_scheme(ctx, draft, data, first=False)


def score_figures(scheme: dict[str, Any], values: dict[str, int]) -> dict[str, Any]:
    """The figures, score and rating a scheme derives from indicator values (shared by the
    write path, the rule below and the audit)."""
    figures = []
    for entry in scheme["indicators"]:
        value = values[entry["indicator"]]
        score = indicator_score(CATALOGUE[entry["indicator"]], value, entry["target"])
        figures.append({"indicator": entry["indicator"], "value": value, "score": score})
    total = total_score(
        [(e["weight"], f["score"]) for e, f in zip(scheme["indicators"], figures, strict=True)]
    )
    return {"figures": figures, "score": total, "rating": rating_for(total, scheme["bands"])}


def scheme_for(ctx: CommandPort, scheme_id: str) -> AssessmentScheme:
    return ctx.existing(
        AssessmentScheme,
        assessment_scheme_aggregate_id(scheme_id),
        f"assessment scheme {scheme_id}",
    )


def check_unit_in_scope(ctx: CommandPort, owner: str, unit_kind: str, unit: str) -> None:
    if unit_kind == "project":
        project = ctx.existing(BrandProject, project_aggregate_id(unit), f"project {unit}")
        if not ctx.directory.is_at_or_above(owner, project.owner):
            raise KeyNotAuthorisedError(f"project {unit} is not run below {owner!r}")
        return
    info = ctx.directory.organisation(unit)
    if info.kind != unit_kind or unit == owner or not ctx.directory.is_at_or_above(owner, unit):
        raise KeyNotAuthorisedError(f"{unit!r} is not a {unit_kind} below {owner!r}")


@event_type("AssessmentPublished", "assessment", AssessmentPublished)
def check_assessment_published(ctx: CommandPort, draft: Draft, data: AssessmentPublished) -> None:
    if draft.aggregate_id != assessment_aggregate_id(data.scheme_id, data.period, data.unit):
        raise RuleViolationError("the event's aggregate is not this unit's assessment")
    scheme = scheme_for(ctx, data.scheme_id)
    if draft.org != scheme.owner or data.scheme_version != scheme.scheme_version:
        raise KeyNotAuthorisedError(
            "results are published by the scheme's owner under its current version"
        )
    if data.unit_kind != scheme.data["unit_kind"]:
        raise RuleViolationError(f"scheme {data.scheme_id} assesses {scheme.data['unit_kind']}s")
    check_unit_in_scope(ctx, scheme.owner, data.unit_kind, data.unit)
    wanted = [e["indicator"] for e in scheme.data["indicators"]]
    if [f.indicator for f in data.figures] != wanted:
        raise RuleViolationError(f"a result lists the scheme's indicators in order: {wanted}")
    derived = score_figures(scheme.data, {f.indicator: f.value for f in data.figures})
    given = {
        "figures": [f.model_dump() for f in data.figures],
        "score": data.score,
        "rating": data.rating,
    }
    if given != derived:
        raise RuleViolationError(
            "the scores and rating are not those the scheme derives from the values "
            f"(score {derived['score']}, rating {derived['rating']})"
        )
