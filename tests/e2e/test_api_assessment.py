"""Assessment over HTTP: schemes, station attestations, runs, results, rankings and the public
pages (zh/en, SVG charts, no JavaScript), through a real server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from api_support import Api, assert_problem

from ledger.credentials import verify_proof

YEAR = str(datetime.now(UTC).year)


def scheme_body(scheme_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scheme_id": scheme_id,
        "name": "城市志愿服务测评 <b>2025</b>",
        "unit_kind": "organisation",
        "indicators": [
            {"indicator": "registered-volunteers", "weight": 400, "target": 50},
            {"indicator": "activities-held", "weight": 300, "target": 10},
            {"indicator": "station-checklist-met", "weight": 300, "target": 1000},
        ],
        "bands": [{"band": "standard", "min_score": 100}, {"band": "city-level", "min_score": 700}],
        "checklist": [{"item": "premises", "title": "A fixed place"}],
    }
    body.update(changes)
    return body


def test_a_scheme_run_and_its_public_pages(api: Api) -> None:
    scheme_id = "e2e-" + uuid.uuid4().hex[:12]
    api.ok(api.post("/assessment-schemes", scheme_body(scheme_id), key="root"))
    scheme = api.ok(api.get(f"/assessment-schemes/{scheme_id}"), 200)
    assert scheme["owner"] == "city" and "activities-held" in scheme["formulas"]

    attested = api.post(
        "/stations/org-a-station/standard-items",
        {
            "scheme_id": scheme_id,
            "item": "premises",
            "evidence": [{"sha256": "ef" * 32, "url": "https://evidence.example/sign.jpg"}],
            "attested_on": f"{YEAR}-01-15",
        },
        key="a",
    )
    api.ok(attested)
    standard = api.ok(api.get(f"/stations/org-a-station/standards/{scheme_id}"), 200)
    assert standard["met"] == 1

    key = "run-" + uuid.uuid4().hex
    run = api.ok(
        api.post(
            f"/assessment-schemes/{scheme_id}/runs", {"period": YEAR}, key="root", idempotency=key
        )
    )
    assert set(run["value"]["units"]) == {"org-a", "org-b"}
    again = api.post(
        f"/assessment-schemes/{scheme_id}/runs", {"period": YEAR}, key="root", idempotency=key
    )
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"

    result = api.ok(api.get(f"/assessments/{scheme_id}/{YEAR}/org-a"), 200)
    assert result["figures"][2] == {
        "indicator": "station-checklist-met",
        "value": 1000,
        "score": 1000,
    }
    assert result["recompute"]["event"] == f"/leaves/{result['leaf_index']}"
    assert "members" in result["formulas"]["registered-volunteers"]
    leaf = api.ok(api.get(result["recompute"]["event"]), 200)
    assert leaf["event"]["body"]["type"] == "AssessmentPublished"

    assert result["rating"] == "city-level"
    badge = api.get(f"/assessments/{scheme_id}/{YEAR}/org-a/badge")
    assert badge.status_code == 200 and badge.headers["content-type"] == "application/vc"
    verify_proof(badge.json())
    assert badge.json()["credentialSubject"]["identifier"][0]["identityHash"] == "org-a"

    ranking = api.ok(api.get(f"/assessments/{scheme_id}/{YEAR}"), 200)["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2]
    assert ranking[0]["score"] >= ranking[1]["score"]

    page = api.get(f"/assessment-pages/{scheme_id}/{YEAR}/org-a")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html.lower() and "<svg" in html and 'lang="zh-CN"' in html
    assert "&lt;b&gt;2025&lt;/b&gt;" in html and "<b>2025</b>" not in html
    assert (
        "ledger audit --bundle bundle" in html and f'href="/leaves/{result["leaf_index"]}"' in html
    )
    english = api.get(f"/assessment-pages/{scheme_id}/{YEAR}/org-a", params={"lang": "en"}).text
    assert english.index("Volunteer service assessment") < english.index("志愿服务测评")
    ranking_page = api.get(f"/assessment-pages/{scheme_id}/{YEAR}").text
    assert f"/assessment-pages/{scheme_id}/{YEAR}/org-a" in ranking_page and "<svg" in ranking_page


def test_bad_schemes_and_other_organisations_are_refused_with_problems(api: Api) -> None:
    scheme_id = "e2e-" + uuid.uuid4().hex[:12]
    weights = scheme_body(
        scheme_id, indicators=[{"indicator": "activities-held", "weight": 999, "target": 5}]
    )
    problem = assert_problem(api.post("/assessment-schemes", weights, key="root"), 422)
    assert "sum to exactly 1000" in problem["detail"]
    personal = scheme_body(
        scheme_id, indicators=[{"indicator": "volunteer-age", "weight": 1000, "target": 5}]
    )
    problem = assert_problem(api.post("/assessment-schemes", personal, key="root"), 422)
    assert "personal data" in problem["detail"]
    assert_problem(api.get(f"/assessment-schemes/{scheme_id}"), 404)

    api.ok(api.post("/assessment-schemes", scheme_body(scheme_id), key="root"))
    stolen = api.post(f"/assessment-schemes/{scheme_id}/runs", {"period": YEAR}, key="a")
    assert_problem(stolen, 403)
    self_attest = api.post(
        "/stations/org-a-station/standard-items",
        {
            "scheme_id": scheme_id,
            "item": "premises",
            "evidence": [{"sha256": "ef" * 32}],
            "attested_on": f"{YEAR}-01-15",
        },
        key="station",
    )
    assert_problem(self_attest, 403)
    assert_problem(api.get(f"/assessments/{scheme_id}/{YEAR}/org-a"), 404)
    assert api.ok(api.get(f"/assessments/{scheme_id}/{YEAR}"), 200)["ranking"] == []
