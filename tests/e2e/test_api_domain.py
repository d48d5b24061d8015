"""The other writes, once each through the real server: organisations, membership, transfers,
attendance, cancellation, star schemes and honours. Each write's events are verifiable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from api_support import (
    Api,
    activity_body,
    assert_problem,
    build_city,
    idem,
    start_ledger_serve,
    utc,
    verify_leaf_evidence,
)


def short() -> str:
    return uuid.uuid4().hex[:8]


def test_register_an_organisation_below_your_own(api: Api) -> None:
    org_id = f"team-{short()}"
    made = api.ok(
        api.post(
            "/orgs", {"org_id": org_id, "name": "Youth team", "kind": "team", "region": "140402"}
        )
    )
    assert made["events"][0]["type"] == "OrganisationRegistered"
    organisation = api.ok(api.client.get(f"/orgs/{org_id}"), 200)
    assert organisation["parent"] == api.city.org_a
    assert verify_leaf_evidence(api, made["events"][0]["leaf_index"])["event"]["body"]["org"] == (
        api.city.org_a
    )
    assert_problem(
        api.post("/orgs", {"org_id": org_id, "name": "Again", "kind": "team", "region": "140402"}),
        422,
    )


def test_membership_and_transfer_between_organisations(api: Api) -> None:
    number = api.register_volunteer(key="a")
    asked = api.ok(
        api.post(f"/volunteers/{number}/agreements", {"rights": ["membership"]}, key="b")
    )
    agreement_id = asked["value"]["agreement_id"]
    api.ok(api.post(f"/volunteers/{number}/agreements/{agreement_id}/grant", None, key="a"))
    api.ok(api.post(f"/volunteers/{number}/memberships", None, key="b"))
    both = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    assert sorted(both["members_of"]) == sorted([api.city.org_a, api.city.org_b])
    api.ok(api.post(f"/volunteers/{number}/memberships", None, key="b", method="DELETE"))
    assert api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)["members_of"] == [
        api.city.org_a
    ]

    asked = api.ok(api.post(f"/volunteers/{number}/transfers", {"to_org": api.city.org_b}))
    transfer_id = asked["value"]["transfer_id"]
    assert_problem(
        api.post(f"/volunteers/{number}/transfers/{transfer_id}/accept", None, key="a_read"),
        403,
        "scope-missing",
    )
    api.ok(api.post(f"/volunteers/{number}/transfers/{transfer_id}/accept", None, key="b"))
    moved = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    assert moved["members_of"] == [api.city.org_b]

    back = api.ok(api.post(f"/volunteers/{number}/transfers", {"to_org": api.city.org_a}, key="b"))
    api.ok(
        api.post(
            f"/volunteers/{number}/transfers/{back['value']['transfer_id']}/decline",
            {"reason": "no capacity this season"},
            key="a",
        )
    )
    assert api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)["members_of"] == [
        api.city.org_b
    ]


def test_attendance_becomes_a_record(api: Api) -> None:
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity()
    now = datetime.now(UTC)
    api.ok(
        api.post(
            f"/activities/{activity_id}/check-ins",
            {"number": number, "method": "qr", "at": utc(now - timedelta(hours=3))},
        )
    )
    assert_problem(
        api.post(
            f"/activities/{activity_id}/check-ins",
            {"number": number, "method": "qr", "at": utc(now - timedelta(hours=2))},
        ),
        422,
        "rule-violation",
    )
    api.ok(
        api.post(
            f"/activities/{activity_id}/check-outs",
            {"number": number, "method": "kiosk", "at": utc(now - timedelta(hours=1, minutes=15))},
        )
    )
    made = api.ok(
        api.post(f"/activities/{activity_id}/records-from-attendance", {"number": number})
    )
    record = api.ok(api.get(f"/records/{made['value']['record_id']}"), 200)
    assert record["minutes"] == 105 and record["status"] == "recorded"


def test_a_cancelled_activity_takes_no_records(api: Api) -> None:
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity()
    api.ok(api.post(f"/activities/{activity_id}/cancel", {"reason": "storm warning"}))
    assert api.ok(api.client.get(f"/activities/{activity_id}"), 200)["cancelled"] is True
    problem = assert_problem(
        api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 30}),
        422,
        "rule-violation",
    )
    assert "cancelled" in problem["detail"]


def test_star_schemes_and_honours(api: Api) -> None:
    scheme_id = f"stars-{short()}"
    api.ok(
        api.post(
            "/star-schemes",
            {"scheme_id": scheme_id, "name": "Test stars", "thresholds_hours": [1, 2, 3]},
            key="root",
        )
    )
    api.ok(
        api.post(
            f"/star-schemes/{scheme_id}/revisions",
            {"name": "Test stars, revised", "thresholds_hours": [1, 5, 10]},
            key="root",
        )
    )
    assert_problem(
        api.post("/star-schemes", {"scheme_id": scheme_id, "name": "Twice"}, key="root"), 422
    )
    number = api.take_volunteers(1)[0]
    granted = api.ok(
        api.post(
            "/honours",
            {
                "recipient_kind": "volunteer",
                "recipient": number,
                "honour": "Volunteer of the month",
                "citation": "for steady service",
                "granted_on": datetime.now(UTC).date().isoformat(),
            },
        )
    )
    honour_id = granted["value"]["honour_id"]
    assert verify_leaf_evidence(api, granted["events"][0]["leaf_index"])
    api.ok(
        api.post(
            f"/honours/{honour_id}/revoke",
            {
                "recipient_kind": "volunteer",
                "recipient": number,
                "reason": "granted in error",
            },
        )
    )
    assert_problem(
        api.post(
            f"/honours/{honour_id}/revoke",
            {
                "recipient_kind": "volunteer",
                "recipient": number,
                "reason": "again",
            },
        ),
        422,
    )


@pytest.mark.slow
def test_a_star_scheme_cannot_stop_every_approval(tmp_path: Path) -> None:
    """org-a (whose automatic-awards key the server does not hold) publishes a star scheme.
    Either that is refused, or approvals elsewhere in the city still work; a scheme must not
    turn every approval into a 403. (A server of its own: the scheme applies city-wide.)"""
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    city = build_city(db_url, tmp_path, volunteers=1, fillers=0)
    server = start_ledger_serve(db_url, tmp_path)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:

            def post(path: str, body: object, key: str) -> httpx.Response:
                return client.post(
                    path,
                    json=body,
                    headers={
                        "Authorization": f"Bearer {city.keys[key]}",
                        "Idempotency-Key": idem(),
                    },
                )

            activity = post("/activities", activity_body(), "b").json()["value"]["activity_id"]
            record = post(
                f"/activities/{activity}/records",
                {"number": city.b_volunteers[0], "minutes": 90},
                "b",
            )
            assert record.status_code == 201, record.text
            scheme = post(
                "/star-schemes",
                {"scheme_id": "org-a-stars", "name": "A stars", "thresholds_hours": [1, 2]},
                "a",
            )
            if scheme.status_code == 201:
                approved = post(f"/records/{record.json()['value']['record_id']}/approve", {}, "b")
                assert approved.status_code == 201, approved.text
            else:
                assert_problem(scheme, scheme.status_code)
    finally:
        server.stop()
