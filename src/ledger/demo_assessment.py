"""The demo city's assessment: a scheme for the townships and counties, a station standard with
attested checklist items, a brand project across stations, and a run of each scheme for 2025.

The demo registers its volunteers when it is built, after 2025, so the membership indicators
(registered volunteers, growth, active share, minutes per member) would all read 0 for 2025:
the demo's organisation scheme weighs only indicators the 2025 records decide.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from .ledger import Ledger

YEAR = "2025"
STATION_ITEMS = [
    ("premises", "有固定场所 A fixed place"),
    ("sign", "有统一标识 A common sign"),
    ("team", "有服务队伍 A service team"),
    ("rules", "有管理制度 Written rules"),
    ("projects", "有服务项目 Service projects"),
    ("records", "有服务记录 Service recorded in the ledger"),
    ("training", "有培训 Training"),
    ("support", "有保障 Support and insurance"),
    ("publicity", "有宣传 Publicity"),
    ("evaluation", "有评价 Evaluation"),
    ("regular-service", "坚持常态化服务 Regular service"),
    ("improvement", "完善激励机制 Incentives improved"),
]
UNIT_SCHEME: dict[str, Any] = {
    "scheme_id": "changzhi-units-2025",
    "name": "长治市志愿服务单位测评 Changzhi unit assessment",
    "unit_kind": "organisation",
    "indicators": [
        {"indicator": "activities-held", "weight": 300, "target": 12},
        {"indicator": "weeks-with-service", "weight": 300, "target": 20},
        {"indicator": "late-recording-rate", "weight": 150, "target": 300},
        {"indicator": "station-checklist-met", "weight": 250, "target": 1000},
    ],
    "bands": [
        {"band": "standard", "min_score": 400},
        {"band": "city-level", "min_score": 600},
        {"band": "province-level", "min_score": 800},
    ],
    "checklist": [{"item": item, "title": title} for item, title in STATION_ITEMS],
}
STATION_SCHEME: dict[str, Any] = {
    **UNIT_SCHEME,
    "scheme_id": "changzhi-stations-2025",
    "name": "志愿服务站点建设标准 Station standard",
    "unit_kind": "station",
    "indicators": [
        {"indicator": "station-checklist-met", "weight": 600, "target": 1000},
        {"indicator": "activities-held", "weight": 200, "target": 4},
        {"indicator": "weeks-with-service", "weight": 200, "target": 4},
    ],
}
PROJECT_SCHEME: dict[str, Any] = {
    "scheme_id": "changzhi-brand-projects-2025",
    "name": "志愿服务品牌项目 Brand projects",
    "unit_kind": "project",
    "indicators": [
        {"indicator": "project-approved-minutes", "weight": 400, "target": 6000},
        {"indicator": "project-volunteers", "weight": 200, "target": 20},
        {"indicator": "people-served", "weight": 200, "target": 1000},
        {"indicator": "activities-held", "weight": 200, "target": 5},
    ],
    "bands": [{"band": "commended", "min_score": 500}],
}
PROJECT = "changzhi-care-for-the-young-and-old"


def build_assessment_demo(ledger: Ledger, root: str, stations: list[str]) -> dict[str, int]:
    """Publish the schemes, attest items, run a project and assess; counts of what was made."""
    counts = {"assessment schemes": 0, "station items attested": 0, "project activities": 0}
    for scheme in (UNIT_SCHEME, STATION_SCHEME, PROJECT_SCHEME):
        ledger.publish_assessment_scheme(
            root, scheme=scheme, idempotency_key=f"assessment-scheme-{scheme['scheme_id']}"
        )
        counts["assessment schemes"] += 1
    for i, station in enumerate(sorted(stations)):
        parent = ledger.organisation(station)["parent"]
        assert parent is not None
        items = [
            {
                "item": item,
                "evidence": [
                    {
                        "sha256": _evidence_hash(station, item),
                        "url": f"https://evidence.changzhi.example/{station}/{item}.pdf",
                    }
                ],
            }
            for item, _ in STATION_ITEMS[: 12 - 3 * (i % 4)]
        ]
        ledger.attest_station_items(
            parent,
            station=station,
            scheme_id=STATION_SCHEME["scheme_id"],
            items=items,
            attested_on=date(2025, 11, 20),
            idempotency_key=f"attest-{station}",
        )
        counts["station items attested"] += len(items)
    counts["project activities"] = _project(ledger, root)
    for scheme in (UNIT_SCHEME, STATION_SCHEME, PROJECT_SCHEME):
        ledger.assess(
            root,
            scheme_id=scheme["scheme_id"],
            period=YEAR,
            idempotency_key=f"assess-{scheme['scheme_id']}",
        )
    return counts


def _project(ledger: Ledger, root: str) -> int:
    ledger.register_project(
        root,
        project_id=PROJECT,
        name="一老一小关爱行动 Care for the young and old",
        field="care-for-elderly-and-children",
        description="Stations and teams across the city caring for elderly people and children",
        idempotency_key="project",
    )
    linked = 0
    for event in ledger.events_of_types("ActivityPublished"):
        if event.data["field"] in ("care-for-elderly-and-children", "medical-and-health"):
            ledger.link_project_activity(
                event.org,
                project_id=PROJECT,
                activity_id=event.data["activity_id"],
                idempotency_key=f"project-link-{event.data['activity_id']}",
            )
            linked += 1
    ledger.nominate_project(
        root,
        project_id=PROJECT,
        nomination="Shanxi volunteer service project competition 2025",
        nominated_on=date(2025, 12, 1),
        idempotency_key="project-nomination",
    )
    ledger.commend_project(
        root,
        project_id=PROJECT,
        honour="Brand volunteer service project 2025",
        citation=f"Project {PROJECT}: care for elderly people and children across the city",
        granted_on=date(2025, 12, 5),
        idempotency_key="project-commendation",
    )
    return linked


def _evidence_hash(station: str, item: str) -> str:
    return hashlib.sha256(f"demo evidence {station} {item}".encode()).hexdigest()
