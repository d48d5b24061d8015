"""Dashboards: organisation figures, leaderboards and city statistics, from the views."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ..deps import QueriesDep

router = APIRouter(tags=["figures"])
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


@router.get("/orgs/{org_id}/figures")
def organisation_figures(org_id: str, queries: QueriesDep) -> dict[str, Any]:
    """The organisation's own figures and the same rolled up its subtree."""
    return queries.organisation(org_id)


@router.get("/leaderboards/volunteers")
def top_volunteers(
    queries: QueriesDep,
    year: str | None = Query(None, pattern=r"^\d{4}$"),
    under_org: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$"),
    limit: int = Query(20, ge=1, le=500),
    cursor: str | None = Query(None, max_length=500),
) -> dict[str, Any]:
    """Volunteers by approved minutes (pseudonymous numbers only), most first."""
    return queries.top_volunteers(limit=limit, cursor=cursor, year=year, under_org=under_org)


@router.get("/leaderboards/organisations")
def top_organisations(
    queries: QueriesDep,
    kind: str | None = Query(None, pattern="^(federation|organisation|team|station)$"),
    limit: int = Query(20, ge=1, le=500),
    cursor: str | None = Query(None, max_length=500),
) -> dict[str, Any]:
    """Organisations by approved minutes rolled up their subtree, most first."""
    return queries.organisations_by_minutes(limit=limit, cursor=cursor, kind=kind)


@router.get("/stats/city")
def city_statistics(
    queries: QueriesDep,
    start: str = Query("0001-01", alias="from", pattern=MONTH),
    end: str = Query("9999-12", alias="to", pattern=MONTH),
) -> dict[str, Any]:
    """The figures a city reports, for a period of months (YYYY-MM, inclusive)."""
    return queries.city_statistics(start, end)
