"""Integrity failures at read time: data the server stored fails verification.

That is never the client's fault: the answer is a 500-class problem, and the operator is told
twice, by a log line at ERROR on the ``ledger.integrity`` logger (to alarm on) and by the
``ledger_integrity_failures_total`` counter on ``/metrics``.
"""

from __future__ import annotations

import logging
from collections import Counter

from fastapi import FastAPI, Request

from ledger.errors import LedgerError

LOGGER = logging.getLogger("ledger.integrity")


def failures(app: FastAPI) -> Counter[str]:
    counter: Counter[str] | None = getattr(app.state, "integrity_failures", None)
    if counter is None:
        counter = app.state.integrity_failures = Counter()
    return counter


def report(request: Request, error: LedgerError) -> None:
    failures(request.app)[error.code] += 1
    LOGGER.error(
        "integrity failure serving %s %s: %s: %s",
        request.method,
        request.url.path,
        error.code,
        error.message,
    )


def metric_lines(app: FastAPI) -> list[str]:
    lines = [
        "# HELP ledger_integrity_failures_total Stored data that failed verification on read.",
        "# TYPE ledger_integrity_failures_total counter",
    ]
    counts = failures(app)
    for code in sorted(counts) or ["tampered-event"]:
        lines.append(f'ledger_integrity_failures_total{{code="{code}"}} {counts.get(code, 0)}')
    return lines
