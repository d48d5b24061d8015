"""Helpers for the provincial view tests (imported by name; not a test module).

A city here is a real ledger (memory, SQLite or PostgreSQL) with real keys and signatures; the
province reads it through :class:`LedgerTransport`, an ``httpx`` transport that answers the
tlog-tiles paths from the ledger's own log exactly as ``api/routes/log.py`` does, without a
socket. The end-to-end tests use a real ``ledger serve`` instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ledger import Ledger
from ledger.federation.province_file import CitySpec
from ledger.federation.province_reader import TileReader
from ledger.log.tiles import parse_tile_path

Tamper = Callable[[str, bytes], bytes]


class LedgerTransport(httpx.BaseTransport):
    """Serve ``/log/checkpoint`` and ``/log/tile/...`` from ``ledger``; count the requests.

    ``tamper(path, body)`` may change a body on its way out (an operator or a network in the
    middle); ``checkpoint`` may replace the checkpoint note served (a rollback or a fork).
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.paths: list[str] = []
        self.tamper: Tamper | None = None
        self.checkpoint: str | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.paths.append(path)
        log = self.ledger.log
        if path == "/log/checkpoint":
            note = self.checkpoint if self.checkpoint is not None else log.newest_note()
            body = note.encode("utf-8")
        elif path.startswith("/log/tile/"):
            tile = parse_tile_path(path.removeprefix("/log/"))
            if tile.entries:
                body = log.entry_tile(tile.index, tile.width)
            else:
                body = log.hash_tile(tile.level, tile.index, tile.width)
        else:
            return httpx.Response(404)
        if self.tamper is not None:
            body = self.tamper(path, body)
        return httpx.Response(200, content=body)


def reader_for(transports: dict[str, LedgerTransport]) -> Callable[[CitySpec], TileReader]:
    def make(spec: CitySpec) -> TileReader:
        client = httpx.Client(transport=transports[spec.name], base_url=spec.url)
        return TileReader(spec.url, client)

    return make


def write_province(path: Path, cities: dict[str, tuple[str, dict[str, Any]]]) -> Path:
    """A province file of ``name -> (url, trust anchors)``, the anchors embedded."""
    document = {
        "cities": [
            {"name": name, "url": url, "trust": anchors} for name, (url, anchors) in cities.items()
        ]
    }
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def own_figures(ledger: Ledger) -> dict[str, Any]:
    """The city's own figures, as its ``/stats/dashboard`` and ``/stats/city`` report them,
    from its own views (brought up to date first)."""
    from ledger.projections.dashboard import as_json, city_dashboard
    from ledger.projections.queries import ViewQueries

    projections = ledger.projections()
    try:
        projections.catch_up()
        dashboard = as_json(city_dashboard(projections.database))
        city = ViewQueries(projections.database).city_statistics()
    finally:
        projections.close()
    return figures_from_pages(dashboard, city)


def figures_from_pages(dashboard: dict[str, Any], city: dict[str, Any]) -> dict[str, Any]:
    """The figures the province reports, read off a city's two public statistics pages."""
    return {
        "registered_volunteers": dashboard["registered_volunteers"],
        "organisations": sum(city["organisations_by_kind"].values()),
        "records_approved": sum(city["approved_records_by_field"].values()),
        "approved_minutes": dashboard["approved_minutes"],
        "activities": dashboard["activities"],
        "people_served": dashboard["people_served"],
        "organisations_by_kind": city["organisations_by_kind"],
        "minutes_by_field": {b["key"]: b["value"] for b in dashboard["by_field"]},
        "approved_records_by_field": city["approved_records_by_field"],
        "minutes_by_month": {b["key"]: b["value"] for b in dashboard["by_month"]},
        "stars": {
            s: {b["key"]: b["value"] for b in bars} for s, bars in dashboard["stars"].items()
        },
    }


def more_service(ledger: Ledger, recorder: str, tag: str, volunteers: int = 3) -> None:
    """New volunteers of ``recorder``, an activity, their hours recorded and approved, one
    record corrected and one voided from above: what a city writes between two runs."""
    numbers = [
        ledger.register_volunteer(recorder, idempotency_key=f"{tag}-volunteer-{i}").value.number
        for i in range(volunteers)
    ]
    start = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    activity_id = str(uuid.uuid4())
    ledger.publish_activity(
        recorder,
        title=f"River clean-up {tag}",
        field="community-governance",
        place="the river bank",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        leader=f"leader-{recorder}",
        content="community service",
        activity_id=activity_id,
        people_served=40,
        idempotency_key=f"{tag}-activity",
        occurred_at=start - timedelta(days=1),
    )
    result = ledger.record_roster(
        recorder,
        activity_id=activity_id,
        idempotency_key=f"{tag}-roster",
        entries=[{"number": n, "minutes": 120 + 10 * (i % 7)} for i, n in enumerate(numbers)],
    )
    records = list(result.value.record_ids)
    ledger.approve_records(
        recorder, approvals=[{"record_id": r} for r in records], idempotency_key=f"{tag}-approve"
    )
    ledger.correct_record(
        recorder,
        record_id=records[0],
        delta_minutes=-30,
        reason="left early",
        idempotency_key=f"{tag}-correct",
    )
    parent = ledger._directory.organisation(recorder).parent
    assert parent is not None
    ledger.void_record(
        parent,
        record_id=records[-1],
        grounds="no service was given",
        idempotency_key=f"{tag}-void",
    )
