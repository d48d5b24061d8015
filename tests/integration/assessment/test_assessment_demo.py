"""The demo city publishes schemes, attests stations, runs a brand project and an assessment,
and the audit recomputes every result it published."""

from __future__ import annotations

from ledger import Ledger, MemoryKeystore
from ledger.audit import StoreSource, audit
from ledger.demo import build_demo
from ledger.demo_assessment import PROJECT, STATION_ITEMS


def test_the_demo_city_is_assessed_and_its_results_recompute() -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        made = build_demo(ledger, volunteers=40)
        assert made["counts"]["assessment schemes"] == 3
        units = ledger.assessment_ranking("changzhi-units-2025", "2025")
        assert {r["unit"] for r in units} >= {"luzhou", "shangdang", "tunliu", "luzhou-town1"}
        stations = ledger.assessment_ranking("changzhi-stations-2025", "2025")
        assert len(stations) == 12
        complete = ledger.station_standard("luzhou-town1-station1", "changzhi-stations-2025")
        assert complete["met"] == complete["of"] == len(STATION_ITEMS)
        project = ledger.project(PROJECT)
        assert project["activities"] and project["commendations"] and project["nominations"]
        assert (
            ledger.assessment_ranking("changzhi-brand-projects-2025", "2025")[0]["unit"] == PROJECT
        )
        report = audit(StoreSource(ledger), compare_views=False, progress=False, workers=1)
        assert report.clean, [f.line() for f in report.findings]
        assert report.assessments_recomputed == len(units) + len(stations) + 1
