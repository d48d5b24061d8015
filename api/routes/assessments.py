"""Assessment schemes, station standards, brand projects, assessment runs and their results.

Writes need the ``award`` scope. Reads are public, like verification: a result, the ranking of
a scheme and period, and a unit's page (``/assessment-pages/...``) that shows each indicator,
its formula, its value and how to recompute it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import Field

from ledger.assessment.catalogue import CATALOGUE
from ledger.commands.typed import (
    Assess,
    AttestStationItem,
    CommendProject,
    LinkProjectActivity,
    NominateProject,
    PublishAssessmentScheme,
    RegisterProject,
    ReviseAssessmentScheme,
    WithdrawStationItem,
)

from ..deps import AwardingOrg, LedgerDep
from ..pages.assessment import render_ranking_page, render_unit_page
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["assessment"])
SLUG = r"^[a-z0-9][a-z0-9-]{1,63}$"
YEAR = r"^[0-9]{4}$"


class SchemeIn(Strict):
    """Checked in full by the ledger (catalogue, weights, bands); see docs/assessment.md."""

    scheme_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    unit_kind: str
    indicators: list[dict[str, Any]] = Field(min_length=1, max_length=20)
    bands: list[dict[str, Any]] = Field(min_length=1, max_length=10)
    checklist: list[dict[str, Any]] = Field(default_factory=list, max_length=50)


class AttestIn(Strict):
    scheme_id: str = Field(pattern=SLUG)
    item: str = Field(pattern=SLUG)
    evidence: list[dict[str, Any]] = Field(min_length=1, max_length=10)
    attested_on: date


class WithdrawIn(Strict):
    scheme_id: str = Field(pattern=SLUG)
    reason: str = Field(min_length=1, max_length=2000)


class ProjectIn(Strict):
    project_id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    field: str = Field(min_length=3, max_length=61)
    description: str = Field(min_length=1, max_length=2000)


class LinkIn(Strict):
    activity_id: str = Field(min_length=36, max_length=36)


class NominationIn(Strict):
    nomination: str = Field(min_length=1, max_length=200)
    nominated_on: date


class CommendationIn(Strict):
    honour: str = Field(min_length=1, max_length=200)
    citation: str = Field(min_length=1, max_length=2000)
    granted_on: date


class RunIn(Strict):
    period: str = Field(pattern=YEAR)


@router.post("/assessment-schemes", status_code=201, response_model=CommandOut)
def publish_scheme(
    body: SchemeIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Publish an assessment scheme (version 1) owned by the acting organisation."""
    result = ledger.run(
        PublishAssessmentScheme(org, scheme=body.model_dump()), idempotency_key=idempotency_key
    )
    return command_out(result, response)


@router.post(
    "/assessment-schemes/{scheme_id}/revisions", status_code=201, response_model=CommandOut
)
def revise_scheme(
    scheme_id: str,
    body: SchemeIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    scheme = {**body.model_dump(), "scheme_id": scheme_id}
    result = ledger.run(ReviseAssessmentScheme(org, scheme=scheme), idempotency_key=idempotency_key)
    return command_out(result, response)


@router.get("/assessment-schemes/{scheme_id}")
def get_scheme(scheme_id: str, ledger: LedgerDep) -> dict[str, Any]:
    """The scheme's current version, with each indicator's formula from the catalogue."""
    scheme = ledger.assessment_scheme(scheme_id)
    formulas = {i["indicator"]: CATALOGUE[i["indicator"]].formula for i in scheme["indicators"]}
    return {**scheme, "formulas": formulas}


@router.post("/assessment-schemes/{scheme_id}/runs", status_code=201, response_model=CommandOut)
def run_assessment(
    scheme_id: str,
    body: RunIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Compute every unit's figures now and publish them signed by the scheme's owner."""
    result = ledger.run(
        Assess(org, scheme_id=scheme_id, period=body.period), idempotency_key=idempotency_key
    )
    return command_out(result, response)


@router.post("/stations/{station}/standard-items", status_code=201, response_model=CommandOut)
def attest_item(
    station: str,
    body: AttestIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Attest one checklist item of a scheme for a station below the acting organisation."""
    result = ledger.run(
        AttestStationItem(org, station=station, **body.model_dump()),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post(
    "/stations/{station}/standard-items/{item}/withdrawal",
    status_code=201,
    response_model=CommandOut,
)
def withdraw_item(
    station: str,
    item: str,
    body: WithdrawIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    result = ledger.run(
        WithdrawStationItem(org, station=station, item=item, **body.model_dump()),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.get("/stations/{station}/standards/{scheme_id}")
def station_standard(station: str, scheme_id: str, ledger: LedgerDep) -> dict[str, Any]:
    return ledger.station_standard(station, scheme_id)


@router.post("/projects", status_code=201, response_model=CommandOut)
def register_project(
    body: ProjectIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    result = ledger.run(RegisterProject(org, **body.model_dump()), idempotency_key=idempotency_key)
    return command_out(result, response)


@router.post("/projects/{project_id}/activities", status_code=201, response_model=CommandOut)
def link_activity(
    project_id: str,
    body: LinkIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    result = ledger.run(
        LinkProjectActivity(org, project_id=project_id, activity_id=body.activity_id),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post("/projects/{project_id}/nominations", status_code=201, response_model=CommandOut)
def nominate(
    project_id: str,
    body: NominationIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    result = ledger.run(
        NominateProject(org, project_id=project_id, **body.model_dump()),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.post("/projects/{project_id}/commendations", status_code=201, response_model=CommandOut)
def commend(
    project_id: str,
    body: CommendationIn,
    ledger: LedgerDep,
    org: AwardingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    result = ledger.run(
        CommendProject(org, project_id=project_id, **body.model_dump()),
        idempotency_key=idempotency_key,
    )
    return command_out(result, response)


@router.get("/projects/{project_id}")
def get_project(
    project_id: str, ledger: LedgerDep, period: str | None = Query(None, pattern=YEAR)
) -> dict[str, Any]:
    """The project; with ``period``, its own figures for that year."""
    project = ledger.project(project_id)
    if period is not None:
        project["figures"] = ledger.project_figures(project_id, period)
    return project


@router.get("/assessments/{scheme_id}/{period}")
def ranking(scheme_id: str, period: str, ledger: LedgerDep) -> dict[str, Any]:
    """Each unit's newest result, best score first."""
    return {
        "scheme_id": scheme_id,
        "period": period,
        "ranking": ledger.assessment_ranking(scheme_id, period),
    }


@router.get("/assessments/{scheme_id}/{period}/{unit}")
def result(scheme_id: str, period: str, unit: str, ledger: LedgerDep) -> dict[str, Any]:
    """A unit's newest result with each indicator's formula and how to recompute it."""
    published = ledger.assessment_result(scheme_id, period, unit)
    return {**published, **_explained(published)}


@router.get("/assessments/{scheme_id}/{period}/{unit}/badge")
def badge(scheme_id: str, period: str, unit: str, ledger: LedgerDep) -> JSONResponse:
    """An Open Badges 3.0 credential for the unit's rating, signed by the scheme's owner."""
    credential = ledger.assessment_badge(scheme_id, period, unit)
    return JSONResponse(credential, media_type="application/vc")


def _explained(published: dict[str, Any]) -> dict[str, Any]:
    return {
        "formulas": {
            f["indicator"]: CATALOGUE[f["indicator"]].formula for f in published["figures"]
        },
        "recompute": {
            "event": f"/leaves/{published['leaf_index']}",
            "commands": [
                "ledger export --out bundle",
                "ledger audit --bundle bundle   # recomputes every published result",
            ],
            "log_size": published["log_size"],
        },
        "badge": f"/assessments/{published['scheme_id']}/{published['period']}/"
        f"{published['unit']}/badge"
        if published["rating"] != "unrated"
        else None,
    }


@router.get("/assessment-pages/{scheme_id}/{period}", response_class=HTMLResponse)
def ranking_page(
    scheme_id: str, period: str, ledger: LedgerDep, lang: str = Query("zh", pattern="^(zh|en)$")
) -> HTMLResponse:
    """The ranking as a page (zh/en, no JavaScript)."""
    scheme = ledger.assessment_scheme(scheme_id)
    rows = ledger.assessment_ranking(scheme_id, period)
    return HTMLResponse(render_ranking_page(scheme, period, rows, english_first=lang == "en"))


@router.get("/assessment-pages/{scheme_id}/{period}/{unit}", response_class=HTMLResponse)
def unit_page(
    scheme_id: str,
    period: str,
    unit: str,
    ledger: LedgerDep,
    lang: str = Query("zh", pattern="^(zh|en)$"),
) -> HTMLResponse:
    """A unit's result as a page: each indicator, its formula, value, score (an SVG chart)
    and how to recompute it."""
    scheme = ledger.assessment_scheme(scheme_id)
    published = ledger.assessment_result(scheme_id, period, unit)
    page = render_unit_page(scheme, published, english_first=lang == "en")
    return HTMLResponse(page)
