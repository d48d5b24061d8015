"""Health, readiness and metrics (Prometheus text format)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from ledger.errors import StoreIntegrityError
from ledger.integrity import check_log_against_checkpoint

from .. import integrity
from ..deps import LedgerDep, ViewsDep
from ..problems import Problem

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def ready(request: Request, ledger: LedgerDep, views: ViewsDep) -> dict[str, Any]:
    """The store answers, the ledger exists, and the stored log still matches the newest signed
    checkpoint (not shorter, same root at its size)."""
    try:
        size = ledger.log_size()
        ledger.trust_anchors()  # the ledger exists
    except Exception as error:
        raise Problem(
            503, "not-ready", "Not ready", f"the store does not answer: {error}"
        ) from None
    try:
        check_log_against_checkpoint(ledger.log)
    except StoreIntegrityError as error:
        integrity.report(request, error)
        raise Problem(503, error.code, "Not ready: integrity failure", error.message) from None
    ready = {"status": "ready", "log_size": size, "views_position": views.position()}
    failing = views.failing  # read once: the runner's thread replaces it
    if failing is not None:  # writes and log reads still work; the views stand still
        ready["views_failing"] = {"batches": failing[0], "error": failing[1]}
    return ready


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, ledger: LedgerDep, views: ViewsDep) -> PlainTextResponse:
    counters: dict[tuple[str, str, int], int] = request.app.state.request_counts
    lines = [
        "# HELP ledger_log_size Leaves in the Merkle log.",
        "# TYPE ledger_log_size gauge",
        f"ledger_log_size {ledger.log_size()}",
        "# HELP ledger_checkpoint_size Size of the newest signed checkpoint.",
        "# TYPE ledger_checkpoint_size gauge",
        f"ledger_checkpoint_size {ledger.log.latest_size()}",
        "# HELP ledger_views_position Notification id every view has applied.",
        "# TYPE ledger_views_position gauge",
        f"ledger_views_position {views.position()}",
        "# HELP ledger_views_failed_batches Batches the views have failed in a row (0: none).",
        "# TYPE ledger_views_failed_batches gauge",
        f"ledger_views_failed_batches {(views.failing or (0, ''))[0]}",
        "# HELP ledger_http_requests_total Requests served by this worker.",
        "# TYPE ledger_http_requests_total counter",
    ]
    for (method, route, status), count in sorted(counters.items()):
        lines.append(
            f'ledger_http_requests_total{{method="{method}",route="{route}",status="{status}"}} '
            f"{count}"
        )
    lines.extend(integrity.metric_lines(request.app))
    return PlainTextResponse(
        "\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8"
    )
