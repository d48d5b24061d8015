"""Events an organisation signs itself (its private key never reaches the server), submitted
through ``POST /events``: stored exactly as signed, with the same checks as every other write."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import (
    Api,
    OutsideKey,
    assert_problem,
    idem,
    new_number,
    utc,
    verify_leaf_evidence,
    volunteer_registered_body,
)


@pytest.fixture
def outside_key(api: Api) -> OutsideKey:
    """A key of org-a that only this test holds, registered by org-a through the API."""
    key = OutsideKey()
    public = base64.b64encode(key.public_raw).decode()
    api.ok(api.post(f"/orgs/{api.city.org_a}/keys", {"public_key": public}, key="a"))
    return key


def submit(api: Api, items: list[tuple[str, str]], key: str = "a") -> Any:
    return api.client.post(
        "/events",
        json={"events": [{"body": body, "signature": sig} for body, sig in items]},
        headers=api.headers(key),
    )


def test_a_pre_signed_event_is_stored_exactly_as_signed(api: Api, outside_key: OutsideKey) -> None:
    number = new_number()
    body = volunteer_registered_body(api.city.org_a, outside_key.key_id, number, idem())
    signed = outside_key.sign(body)
    response = submit(api, [signed])
    made = api.ok(response)
    assert "idempotent-replayed" not in response.headers
    ref = made["events"][0]
    assert ref["type"] == "VolunteerRegistered"
    assert ref["aggregate_id"] == body["aggregate_id"] and ref["version"] == 1

    evidence = verify_leaf_evidence(api, ref["leaf_index"])
    envelope = json.loads(evidence["envelope"])
    assert envelope["signature"] == signed[1]
    assert f'"body":{signed[0]},' in evidence["envelope"]
    assert evidence["key"]["key_id"] == outside_key.key_id
    volunteer = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    assert volunteer["members_of"] == [api.city.org_a]

    again = submit(api, [signed])
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == made

    other = volunteer_registered_body(
        api.city.org_a, outside_key.key_id, new_number(), body["idempotency_key"]
    )
    assert_problem(submit(api, [outside_key.sign(other)]), 409, "idempotency-conflict")


def test_an_authority_above_may_submit_and_versions_must_follow(api: Api) -> None:
    """org-b, with org-a's agreement, signs a MembershipJoined for org-a's volunteer at the
    aggregate's next version; the root's API key (above org-b) submits it."""
    key_b = OutsideKey()
    api.ok(
        api.post(
            f"/orgs/{api.city.org_b}/keys",
            {"public_key": base64.b64encode(key_b.public_raw).decode()},
            key="b",
        )
    )
    number = api.take_volunteers(1)[0]
    asked = api.ok(
        api.post(f"/volunteers/{number}/agreements", {"rights": ["membership"]}, key="b")
    )
    agreement = asked["value"]["agreement_id"]
    api.ok(api.post(f"/volunteers/{number}/agreements/{agreement}/grant", None, key="a"))
    volunteer = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    body = {
        "type": "MembershipJoined",
        "org": api.city.org_b,
        "key_id": key_b.key_id,
        "aggregate_id": volunteer_registered_body("x", "y", number, "z")["aggregate_id"],
        "aggregate_version": volunteer["version"] + 5,
        "occurred_at": utc(datetime.now(UTC)),
        "idempotency_key": idem(),
        "data": {"number": number, "org_id": api.city.org_b},
    }
    stale = submit(api, [key_b.sign(body)], key="root")
    assert stale.status_code in (400, 409, 422)
    assert_problem(stale, stale.status_code)

    body["aggregate_version"] = volunteer["version"] + 1
    body["idempotency_key"] = idem()
    api.ok(submit(api, [key_b.sign(body)], key="root"))
    after = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    assert sorted(after["members_of"]) == sorted([api.city.org_a, api.city.org_b])


def _tamper(signed: tuple[str, str]) -> tuple[str, str]:
    return signed[0].replace('"aggregate_version":1', '"aggregate_version":2'), signed[1]


def test_invalid_signatures_are_refused_and_nothing_is_stored(
    api: Api, outside_key: OutsideKey
) -> None:
    size = api.client.get("/readyz").json()["log_size"]

    def body() -> dict[str, Any]:
        return volunteer_registered_body(api.city.org_a, outside_key.key_id, new_number(), idem())

    impostor = OutsideKey()
    forged = (outside_key.sign(body())[0], impostor.sign(body())[1])
    assert_problem(submit(api, [forged]), 400, "signature-invalid")

    changed = outside_key.sign(body())
    changed = (changed[0].replace(changed[0][-40:-30], "V" + "A" * 9), changed[1])
    response = submit(api, [changed])
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)

    assert_problem(submit(api, [_tamper(outside_key.sign(body()))]), 400)

    other_signature = outside_key.sign(body())[1]
    assert_problem(
        submit(api, [(outside_key.sign(body())[0], other_signature)]), 400, "signature-invalid"
    )

    pretty = body()
    text, signature = outside_key.sign(pretty)
    assert_problem(submit(api, [(json.dumps(pretty, indent=1), signature)]), 400, "invalid-input")
    assert_problem(submit(api, [(text, signature[:-8])]), 400)
    assert_problem(submit(api, [(text, "not base64 at all!")]), 400)
    assert_problem(submit(api, [(text, base64.b64encode(b"\0" * 63).decode())]), 400)

    unregistered = OutsideKey()
    own = volunteer_registered_body(api.city.org_a, unregistered.key_id, new_number(), idem())
    response = submit(api, [unregistered.sign(own)])
    assert response.status_code in (400, 403)
    assert_problem(response, response.status_code)

    future = body()
    future["occurred_at"] = utc(datetime.now(UTC) + timedelta(hours=2))
    assert_problem(submit(api, [outside_key.sign(future)]), 400, "invalid-input")

    assert api.client.get("/readyz").json()["log_size"] == size


def test_submitting_another_organisations_events_is_403(api: Api, outside_key: OutsideKey) -> None:
    body = volunteer_registered_body(api.city.org_a, outside_key.key_id, new_number(), idem())
    problem = assert_problem(
        submit(api, [outside_key.sign(body)], key="b"), 403, "not-your-organisation"
    )
    assert "organisation" in problem["detail"]
    # a key of a revoked org key signs nothing new
    api.ok(
        api.post(
            f"/orgs/{api.city.org_a}/keys/{outside_key.key_id}/revoke",
            {"reason": "lost laptop"},
            key="a",
        )
    )
    again = volunteer_registered_body(api.city.org_a, outside_key.key_id, new_number(), idem())
    assert_problem(submit(api, [outside_key.sign(again)]), 403, "key-not-authorised")


def test_malformed_submissions_are_problems(sqlite_api: Api) -> None:
    api = sqlite_api
    for payload in [
        {"events": []},
        {"events": [{"body": "{}"}]},
        {"events": [{"body": "{}", "signature": "x", "extra": 1}]},
        {"events": [{"body": 5, "signature": "x"}]},
        {"events": [{"body": "{}", "signature": "x"}] * 101},
        {},
    ]:
        response = api.client.post("/events", json=payload, headers=api.headers("a"))
        assert_problem(response, 422, "invalid-request")
    for text in ["not json", "{}", '{"org":"org-a"}', '{"org":"org-a",', '{"org":1e400}', "[1, 2]"]:
        response = api.client.post(
            "/events",
            json={"events": [{"body": text, "signature": "A" * 88}]},
            headers=api.headers("a"),
        )
        assert 400 <= response.status_code < 500, response.text
        assert_problem(response, response.status_code)
    assert_problem(api.client.post("/events", json={"events": []}), 401, "unauthenticated")
