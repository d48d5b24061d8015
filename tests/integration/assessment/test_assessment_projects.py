"""Brand projects: activities of several organisations grouped under one project, with the
project's own figures; nominated, assessed and commended (with an honour to its owner)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from assessment_support import PROJECT_SCHEME, BuiltTown, key, refused

from ledger import KeyNotAuthorisedError, Ledger, NotFoundError, RuleViolationError
from ledger.audit import StoreSource, audit
from ledger.model.ids import organisation_aggregate_id
from ledger.results import UnitAssessment

PROJECT = "legal-aid-for-all"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltTown:
    return BuiltTown.build(tmp_path_factory.mktemp("projects"), PROJECT_SCHEME)


@pytest.fixture
def ledger(built: BuiltTown, tmp_path: Path, open_ledger: Callable[..., Ledger]) -> Ledger:
    made = built.copy(tmp_path, open_ledger)
    made.register_project(
        "city",
        project_id=PROJECT,
        name="Legal aid for all",
        field="legal-aid",
        description="Legal aid desks across the district",
        idempotency_key=key("project"),
    )
    return made


def link(ledger: Ledger, org: str, activity_id: str) -> None:
    ledger.link_project_activity(
        org, project_id=PROJECT, activity_id=activity_id, idempotency_key=key("link")
    )


def test_a_project_groups_activities_across_organisations_with_its_own_figures(
    ledger: Ledger, built: BuiltTown
) -> None:
    activities = built.town["activities"]
    link(ledger, "org-a", activities["org-a"][0])
    link(ledger, "city", activities["org-a"][1])
    link(ledger, "org-b", activities["org-b"][0])
    assert ledger.project(PROJECT)["activities"] == [
        activities["org-a"][0],
        activities["org-a"][1],
        activities["org-b"][0],
    ]
    assert ledger.project_figures(PROJECT, "2025") == {
        "project-approved-minutes": 90 + 0 + 240 + 90,
        "project-volunteers": 3,
        "weeks-with-service": 2,
        "activities-held": 3,
        "people-served": 80,
    }
    assert ledger.project_figures(PROJECT, "2024")["project-approved-minutes"] == 0


def test_only_the_organiser_or_above_links_an_activity_once(
    ledger: Ledger, built: BuiltTown
) -> None:
    desk = built.town["activities"]["org-a"][0]
    with refused(ledger, KeyNotAuthorisedError, "linked by its organiser 'org-a'"):
        link(ledger, "org-b", desk)
    link(ledger, "org-a", desk)
    with refused(ledger, RuleViolationError, "already in the project"):
        link(ledger, "org-a", desk)
    with refused(ledger, NotFoundError):
        ledger.link_project_activity(
            "org-a", project_id="no-such-project", activity_id=desk, idempotency_key=key("l")
        )


def test_a_project_takes_only_activities_organised_at_or_below_its_owner(
    ledger: Ledger, built: BuiltTown
) -> None:
    """org-b may not put its activities into org-a's project (its figures are org-a's), nor
    may the root, above both; org-a links its own."""
    ledger.register_project(
        "org-a",
        project_id="org-a-desks",
        name="Desks of org-a",
        field="legal-aid",
        description="org-a's own desks",
        idempotency_key=key("a-project"),
    )
    theirs = built.town["activities"]["org-b"][0]
    for org in ("org-b", "city"):
        with refused(ledger, KeyNotAuthorisedError, "groups activities of 'org-a'"):
            ledger.link_project_activity(
                org, project_id="org-a-desks", activity_id=theirs, idempotency_key=key("l")
            )
    ours = built.town["activities"]["org-a"][0]
    ledger.link_project_activity(
        "city", project_id="org-a-desks", activity_id=ours, idempotency_key=key("l")
    )
    assert ledger.project("org-a-desks")["activities"] == [ours]


def test_nominations_come_from_the_owner_or_above(ledger: Ledger) -> None:
    with refused(ledger, KeyNotAuthorisedError, "nominated by 'city'"):
        ledger.nominate_project(
            "org-a",
            project_id=PROJECT,
            nomination="Best project 2025",
            nominated_on=date(2025, 12, 1),
            idempotency_key=key("n"),
        )
    ledger.nominate_project(
        "city",
        project_id=PROJECT,
        nomination="Province brand project competition 2025",
        nominated_on=date(2025, 12, 1),
        idempotency_key=key("n"),
    )
    assert ledger.project(PROJECT)["nominations"][0]["by"] == "city"


def test_a_commendation_is_an_honour_to_the_owner_naming_the_project(
    ledger: Ledger, built: BuiltTown
) -> None:
    ledger.register_project(
        "org-a",
        project_id="station-tea",
        name="Tea at the station",
        field="legal-aid",
        description="Evening legal aid at station A1",
        idempotency_key=key("project"),
    )
    with refused(ledger, KeyNotAuthorisedError, "part of the organisation tree"):
        ledger.commend_project(
            "org-b",
            project_id="station-tea",
            honour="Brand project",
            citation="Excellent",
            granted_on=date(2025, 12, 5),
            idempotency_key=key("c"),
        )
    result = ledger.commend_project(
        "city",
        project_id="station-tea",
        honour="Brand project of the year",
        citation="Project station-tea: weekly legal aid",
        granted_on=date(2025, 12, 5),
        idempotency_key=key("c"),
    )
    assert [e.type for e in result.events] == ["OrganisationHonourGranted", "ProjectCommended"]
    assert result.events[0].aggregate_id == str(organisation_aggregate_id("org-a"))
    assert ledger.project("station-tea")["commendations"] == [result.value.honour_id]


def test_projects_are_assessed_under_a_project_scheme(ledger: Ledger, built: BuiltTown) -> None:
    for org in ("org-a", "org-b"):
        for activity_id in built.town["activities"][org]:
            link(ledger, org, activity_id)
    result = ledger.assess(
        "city", scheme_id="brand-projects-2025", period="2025", idempotency_key="assess"
    )
    # 1,560 approved minutes of 6,000 (weight 400), 3 volunteers of 10 (200), 240 people
    # served of 500 (200), 9 activities of 6 (200): 104 + 60 + 96 + 200 = 460, under 500.
    assert result.value.units == {PROJECT: UnitAssessment(score=460, rating="unrated")}
    published = ledger.assessment_result("brand-projects-2025", "2025", PROJECT)
    assert published["figures"][0] == {
        "indicator": "project-approved-minutes",
        "value": 1560,
        "score": 260,
    }
    report = audit(StoreSource(ledger), compare_views=False, progress=False, workers=1)
    assert report.clean and report.assessments_recomputed == 1
    with refused(ledger, NotFoundError, "holds no rating"):
        ledger.assessment_badge("brand-projects-2025", "2025", PROJECT)
