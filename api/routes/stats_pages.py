"""``/stats``: the public city dashboard (HTML, no JavaScript) and its figures as JSON."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from ledger.projections.dashboard import as_json, city_dashboard

from ..deps import QueriesDep
from ..pages.stats import render_dashboard

router = APIRouter(tags=["figures"])


@router.get("/stats", response_class=HTMLResponse)
def dashboard_page(queries: QueriesDep, lang: Literal["zh", "en"] = Query("zh")) -> HTMLResponse:
    """The city's figures for the public, in Chinese or English, with SVG charts."""
    return HTMLResponse(render_dashboard(city_dashboard(queries.db), lang))


@router.get("/stats/dashboard")
def dashboard_figures(queries: QueriesDep) -> dict[str, Any]:
    """The dashboard's figures as JSON: minutes, counts, and each chart's bars."""
    return as_json(city_dashboard(queries.db))
