"""The fixed, documented catalogue of indicators an assessment scheme may weigh.

A scheme chooses indicators by id; it cannot bring formulas of its own. Every formula counts
signed records only (pseudonymous volunteer numbers, organisations, activities, minutes, dates);
the ledger holds no personal data, so an indicator over names, ages or phone numbers cannot be
computed and a scheme asking for one is refused. ``docs/assessment.md`` states each formula.
"""

from __future__ import annotations

from dataclasses import dataclass

ORGANISATION_KINDS = ("organisation", "team", "station")
UNIT_KINDS = (*ORGANISATION_KINDS, "project")
PERSONAL_DATA_TERMS = (
    "name",
    "id-number",
    "identity",
    "phone",
    "mobile",
    "address",
    "birth",
    "age",
    "gender",
    "sex",
    "ethnic",
    "email",
)


@dataclass(frozen=True)
class Indicator:
    indicator: str
    title_en: str
    title_zh: str
    formula: str
    unit: str
    unit_kinds: tuple[str, ...]
    lower_is_better: bool = False


# "Made by the unit or below it": an activity held at a station (and its records) counts for
# the station and everything above it; otherwise for the organisation that signed it.
_ORGS = ORGANISATION_KINDS
_ALL = UNIT_KINDS
CATALOGUE: dict[str, Indicator] = {
    i.indicator: i
    for i in (
        Indicator(
            "registered-volunteers",
            "Registered volunteers",
            "注册志愿者人数",
            "volunteers who are members of the unit or an organisation below it at the period's "
            "end (memberships by registration, joining, leaving and accepted transfers)",
            "volunteers",
            _ORGS,
        ),
        Indicator(
            "volunteer-growth",
            "Growth of registered volunteers",
            "志愿者人数增长率",
            "(members at the period's end - members at its start) x 1000 / max(members at its "
            "start, 1), rounded towards minus infinity",
            "per-mille",
            _ORGS,
        ),
        Indicator(
            "active-member-share",
            "Share of members active in the period",
            "志愿者参与率",
            "members at the period's end with approved minutes in the period recorded by the "
            "unit or below it, x 1000 / max(members, 1)",
            "per-mille",
            _ORGS,
        ),
        Indicator(
            "activities-held",
            "Activities held",
            "开展活动次数",
            "activities published by the unit or below it (for a project: linked to it) that "
            "start in the period and were not cancelled",
            "activities",
            _ALL,
        ),
        Indicator(
            "approved-minutes-per-member",
            "Approved service per member",
            "人均志愿服务时长",
            "approved minutes (net of corrections; voided and rejected records count 0) of "
            "records in the period made by the unit or below it, // max(members, 1)",
            "minutes",
            _ORGS,
        ),
        Indicator(
            "weeks-with-service",
            "Regularity: weeks with service",
            "常态化服务周数",
            "distinct ISO weeks of the period's service dates with at least one record that "
            "counts approved minutes",
            "weeks",
            _ALL,
        ),
        Indicator(
            "late-recording-rate",
            "Late recording rate",
            "逾期记录率",
            "records of the period made later than 10 working days after the activity ended, "
            "x 1000 / max(records of the period, 1); voided and rejected records excluded",
            "per-mille",
            _ORGS,
            lower_is_better=True,
        ),
        Indicator(
            "station-checklist-met",
            "Station checklist items met",
            "站点建设标准达标率",
            "checklist items of the scheme attested (and not withdrawn) for the stations among "
            "the unit and below it, x 1000 / max(stations x items, 1)",
            "per-mille",
            _ORGS,
        ),
        Indicator(
            "project-approved-minutes",
            "Project service time",
            "项目服务时长",
            "approved minutes of the period's records of activities linked to the project",
            "minutes",
            ("project",),
        ),
        Indicator(
            "project-volunteers",
            "Project volunteers",
            "项目参与志愿者人数",
            "distinct volunteers with approved minutes in the period on the project's activities",
            "volunteers",
            ("project",),
        ),
        Indicator(
            "people-served",
            "People served",
            "服务群众人数",
            "sum of people_served recorded by the project's activities that start in the period "
            "and were not cancelled",
            "people",
            ("project",),
        ),
    )
}


def personal_data_term(indicator: str) -> str | None:
    """The personal-data word an indicator id names, if any."""
    words = indicator.lower().replace("_", "-").split("-")
    joined = "-".join(words)
    for term in PERSONAL_DATA_TERMS:
        if term in words or (("-" in term) and term in joined):
            return term
    return None


def indicator_score(indicator: Indicator, value: int, target: int) -> int:
    """0..1000: the share of full marks a value earns (clamped; integers only). ``target`` is
    the value that earns full marks; for a lower-is-better indicator, the value that earns none."""
    if indicator.lower_is_better:
        return max(0, target - max(value, 0)) * 1000 // target
    return max(0, min(value, target)) * 1000 // target


def total_score(weighted: list[tuple[int, int]]) -> int:
    """0..1000 from (weight per-mille, score) pairs whose weights sum to 1000."""
    return sum(weight * score for weight, score in weighted) // 1000


def rating_for(score: int, bands: list[dict[str, object]]) -> str:
    """The band with the highest minimum the score reaches, or ``unrated``."""
    reached = [b for b in bands if score >= int(str(b["min_score"]))]
    if not reached:
        return "unrated"
    return str(max(reached, key=lambda b: int(str(b["min_score"])))["band"])
