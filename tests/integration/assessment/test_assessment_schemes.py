"""Assessment schemes: signed, versioned reference data; bad schemes refused, nothing stored."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from assessment_support import ORG_SCHEME, PROJECT_SCHEME, key, refused
from ledger_testing import create_city

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.model.assessments import assessment_scheme_aggregate_id

City = tuple[Ledger, dict[str, str]]


@pytest.fixture
def ledger(open_ledger: Callable[..., Ledger]) -> Ledger:
    made = open_ledger("memory://")
    create_city(made)
    return made


def scheme(**changes: Any) -> dict[str, Any]:
    made = copy.deepcopy(ORG_SCHEME)
    made.update(changes)
    return made


def test_a_scheme_is_a_signed_event_of_its_owner_on_every_store(city: City) -> None:
    ledger, _ = city
    result = ledger.publish_assessment_scheme("city", scheme=ORG_SCHEME, idempotency_key="s1")
    stored = ledger.event(result.events[0].aggregate_id, 1)
    assert stored.type == "AssessmentSchemePublished" and stored.org == "city"
    assert stored.data["version"] == 1 and stored.data["indicators"] == ORG_SCHEME["indicators"]
    assert result.events[0].aggregate_id == str(assessment_scheme_aggregate_id("district-2025"))
    assert ledger.assessment_scheme("district-2025")["owner"] == "city"


def test_a_revision_is_the_next_version_by_the_owner_only(ledger: Ledger) -> None:
    ledger.publish_assessment_scheme("city", scheme=ORG_SCHEME, idempotency_key="s1")
    revised = scheme(name="District assessment, revised")
    with refused(ledger, KeyNotAuthorisedError, "owner only"):
        ledger.revise_assessment_scheme("org-a", scheme=revised, idempotency_key="r0")
    first = ledger.revise_assessment_scheme("city", scheme=revised, idempotency_key="r1")
    again = ledger.revise_assessment_scheme("city", scheme=revised, idempotency_key="r1")
    assert again.replayed and again.events == first.events
    assert ledger.assessment_scheme("district-2025")["version"] == 2
    with refused(ledger, RuleViolationError, "exists; revise it"):
        ledger.publish_assessment_scheme("city", scheme=ORG_SCHEME, idempotency_key="s2")


@pytest.mark.parametrize(
    ("indicators", "message"),
    [
        (
            [{"indicator": "hours-per-sunspot", "weight": 1000, "target": 1}],
            "unknown indicator 'hours-per-sunspot'",
        ),
        (
            [
                {"indicator": "registered-volunteers", "weight": 500, "target": 5},
                {"indicator": "activities-held", "weight": 400, "target": 5},
            ],
            "weights sum to 900 per-mille; they must sum to exactly 1000",
        ),
        (
            [
                {"indicator": "registered-volunteers", "weight": 600, "target": 5},
                {"indicator": "activities-held", "weight": 600, "target": 5},
            ],
            "weights sum to 1200",
        ),
        (
            [{"indicator": "volunteer-age-average", "weight": 1000, "target": 30}],
            r"formula over personal data \(age\)",
        ),
        (
            [{"indicator": "phone-numbers-verified", "weight": 1000, "target": 30}],
            r"personal data \(phone\)",
        ),
        (
            [{"indicator": "share-by-gender", "weight": 1000, "target": 30}],
            r"personal data \(gender\)",
        ),
        (
            [{"indicator": "people-served", "weight": 1000, "target": 30}],
            "does not apply to a organisation",
        ),
        (
            [
                {"indicator": "activities-held", "weight": 500, "target": 5},
                {"indicator": "activities-held", "weight": 500, "target": 5},
            ],
            "listed twice",
        ),
    ],
)
def test_a_bad_scheme_is_refused_and_nothing_is_stored(
    ledger: Ledger, indicators: list[dict[str, Any]], message: str
) -> None:
    with refused(ledger, RuleViolationError, message):
        ledger.publish_assessment_scheme(
            "city", scheme=scheme(indicators=indicators), idempotency_key=key("bad")
        )


def test_formulas_cannot_be_smuggled_in_as_extra_fields(ledger: Ledger) -> None:
    indicators = [
        {"indicator": "activities-held", "weight": 1000, "target": 5, "formula": "count(name)"}
    ]
    with refused(ledger, InvalidInputError, "formula"):
        ledger.publish_assessment_scheme(
            "city", scheme=scheme(indicators=indicators), idempotency_key="smuggle"
        )
    with refused(ledger, InvalidInputError, "target"):
        ledger.publish_assessment_scheme(
            "city",
            scheme=scheme(
                indicators=[{"indicator": "activities-held", "weight": 1000, "target": 2.5}]
            ),
            idempotency_key="float",
        )


def test_bands_and_checklists_must_be_distinct(ledger: Ledger) -> None:
    bands = [{"band": "gold", "min_score": 10}, {"band": "silver", "min_score": 10}]
    with refused(ledger, RuleViolationError, "distinct"):
        ledger.publish_assessment_scheme("city", scheme=scheme(bands=bands), idempotency_key="b")
    with refused(ledger, RuleViolationError, "needs the scheme's checklist"):
        ledger.publish_assessment_scheme("city", scheme=scheme(checklist=[]), idempotency_key="c")


def test_a_project_scheme_takes_project_indicators(ledger: Ledger) -> None:
    ledger.publish_assessment_scheme("city", scheme=PROJECT_SCHEME, idempotency_key="p")
    assert ledger.assessment_scheme("brand-projects-2025")["unit_kind"] == "project"
    with refused(ledger, NotFoundError):
        ledger.revise_assessment_scheme(
            "city", scheme=scheme(scheme_id="nope-2025"), idempotency_key="x"
        )
