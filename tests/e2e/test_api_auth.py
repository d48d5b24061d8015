"""Authentication and authorisation: API keys, scopes, and acting only for yourself and those
below you. Every refusal is a problem that says why."""

from __future__ import annotations

import base64

import pytest
from api_support import Api, OutsideKey, assert_problem, idem


def test_writes_without_a_key_are_401(api: Api) -> None:
    problem = assert_problem(api.post("/volunteers", {}, key=None), 401, "unauthenticated")
    assert "Authorization: Bearer" in problem["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer slk_not-a-key-anyone-made"},
        {"Authorization": "Bearer not-even-the-prefix"},
        {"Authorization": "Bearer " + "slk_" + "x" * 300},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "slk_unknown"},
        {"X-API-Key": ""},
    ],
    ids=["unknown", "no-prefix", "too-long", "empty-bearer", "basic", "x-api-key", "empty"],
)
def test_missing_or_unknown_keys_are_401(sqlite_api: Api, headers: dict[str, str]) -> None:
    response = sqlite_api.client.post(
        "/volunteers", json={}, headers={**headers, "Idempotency-Key": idem()}
    )
    assert_problem(response, 401, "unauthenticated")


def test_a_401_names_the_authentication_scheme(sqlite_api: Api) -> None:
    """RFC 9110 section 15.5.2: a 401 response must carry a WWW-Authenticate challenge."""
    response = sqlite_api.post("/volunteers", {}, key=None)
    assert response.status_code == 401
    assert "bearer" in response.headers.get("www-authenticate", "").lower()


def test_private_reads_need_a_key(api: Api) -> None:
    number = api.city.volunteers[0]
    for path in [
        f"/volunteers/{number}",
        f"/volunteers/{number}/records",
        f"/volunteers/{number}/balance",
        f"/volunteers/{number}/personal",
        "/time-banks/accounts/bank-x:vol:" + number,
    ]:
        assert_problem(api.client.get(path), 401, "unauthenticated")


def test_x_api_key_header_is_accepted(api: Api) -> None:
    response = api.client.post(
        "/volunteers",
        json={},
        headers={"X-API-Key": api.city.keys["a"], "Idempotency-Key": idem()},
    )
    assert response.status_code == 201, response.text


def test_a_missing_scope_is_403_naming_it(api: Api) -> None:
    problem = assert_problem(api.post("/volunteers", {}, key="a_read"), 403, "scope-missing")
    assert "'register'" in problem["detail"] and "read" in problem["detail"]
    problem = assert_problem(
        api.post("/star-schemes", {"scheme_id": "s-x", "name": "x"}, key="station"),
        403,
        "scope-missing",
    )
    assert "'award'" in problem["detail"]


def test_acting_for_another_organisation_is_403_saying_why(api: Api) -> None:
    problem = assert_problem(
        api.post("/volunteers", {}, key="a", org=api.city.org_b), 403, "not-your-organisation"
    )
    assert api.city.org_a in problem["detail"] and api.city.org_b in problem["detail"]
    # upwards is as forbidden as sideways
    problem = assert_problem(
        api.post(
            "/records/approvals",
            {"approvals": [{"record_id": "VAAAAAAAAAAAAA-R1"}]},
            key="station",
            org=api.city.org_a,
        ),
        403,
        "not-your-organisation",
    )
    assert api.city.station in problem["detail"]
    # an organisation that does not exist is not found, not forbidden
    assert_problem(api.post("/volunteers", {}, key="a", org="no-such-org"), 404, "not-found")


def test_cross_organisation_writes_on_others_things_are_403(api: Api) -> None:
    b_activity = api.publish_activity(key="b")
    b_number = api.city.b_volunteers[0]
    problem = assert_problem(
        api.post(f"/activities/{b_activity}/records", {"number": b_number, "minutes": 30}, key="a"),
        403,
        "key-not-authorised",
    )
    assert api.city.org_b in problem["detail"]

    record_id = api.ok(
        api.post(f"/activities/{b_activity}/records", {"number": b_number, "minutes": 30}, key="b")
    )["value"]["record_id"]
    problem = assert_problem(api.post(f"/records/{record_id}/approve", {}, key="a"), 403)
    assert api.city.org_b in problem["detail"]
    assert_problem(
        api.post(f"/activities/{b_activity}/cancel", {"reason": "not mine to cancel"}, key="a"),
        403,
    )
    # the root federation is above both and may void org-b's record
    api.ok(api.post(f"/records/{record_id}/approve", {}, key="b"))
    api.ok(api.post(f"/records/{record_id}/void", {"grounds": "spot check"}, key="root"))


def test_keys_are_registered_by_the_parent_or_the_organisation_itself(api: Api) -> None:
    key = OutsideKey()
    public = base64.b64encode(key.public_raw).decode()
    problem = assert_problem(
        api.post(f"/orgs/{api.city.org_a}/keys", {"public_key": public}, key="b"), 403
    )
    assert problem["type"].endswith(("key-not-authorised", "not-your-organisation"))
    made = api.ok(api.post(f"/orgs/{api.city.station}/keys", {"public_key": public}, key="a"))
    assert made["events"][0]["type"] == "KeyRegistered"
    registered = api.ok(api.client.get(f"/keys/{key.key_id}"), 200)
    assert registered["org"] == api.city.station and registered["revoked_at_leaf"] is None
    api.ok(
        api.post(
            f"/orgs/{api.city.station}/keys/{key.key_id}/revoke", {"reason": "rotated"}, key="a"
        )
    )
    revoked = api.ok(api.client.get(f"/keys/{key.key_id}"), 200)
    assert revoked["revoked_at_leaf"] is not None and revoked["revoked_reason"] == "rotated"
    assert_problem(
        api.post(f"/orgs/{api.city.station}/keys", {"public_key": "bm90IGEga2V5"}, key="a"), 400
    )


def test_personal_data_needs_scope_membership_and_consent(api: Api) -> None:
    made = api.ok(
        api.post("/volunteers", {"personal": {"name": "Test Person", "phone": "13800000000"}})
    )
    number = made["value"]["number"]
    assert "Test Person" not in str(
        api.ok(api.get(f"/leaves/{made['events'][0]['leaf_index']}"), 200)
    )
    assert_problem(api.get(f"/volunteers/{number}/personal", key="a_read"), 403, "scope-missing")
    assert_problem(api.get(f"/volunteers/{number}/personal", key="b"), 403, "not-your-volunteer")
    assert_problem(api.get(f"/volunteers/{number}/personal", key="a"), 403, "no-consent")
    api.ok(
        api.post(
            f"/volunteers/{number}/consents", {"purpose": "share-personal-data", "given": True}
        )
    )
    personal = api.ok(api.get(f"/volunteers/{number}/personal", key="a"), 200)
    assert personal["personal"]["name"] == "Test Person"
    assert api.ok(api.get(f"/volunteers/{number}/personal", key="root"), 200)["personal"]
    api.ok(
        api.post(
            f"/volunteers/{number}/consents", {"purpose": "share-personal-data", "given": False}
        )
    )
    assert_problem(api.get(f"/volunteers/{number}/personal", key="a"), 403, "no-consent")


def test_public_endpoints_need_no_key(api: Api) -> None:
    for path in [
        "/log/checkpoint",
        "/log/key",
        "/leaves/0",
        "/receipts/0",
        "/checkpoints",
        f"/orgs/{api.city.org_a}",
        f"/orgs/{api.city.org_a}/figures",
        "/stats/city",
        "/leaderboards/volunteers",
        "/leaderboards/organisations",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ]:
        response = api.client.get(path)
        assert response.status_code == 200, (path, response.text)
