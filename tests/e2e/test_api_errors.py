"""Every error is an RFC 9457 problem (``application/problem+json`` with type, title, status and
a detail a person can act on), and no input makes the server answer 5xx."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from api_support import Api, activity_body, assert_problem, idem, new_number
from e2e_environment import SMALL_BODY_LIMIT


def raw_post(
    api: Api, path: str, content: bytes, content_type: str = "application/json", key: str = "a"
):  # type: ignore[no-untyped-def]
    headers = {**api.headers(key, idempotency=idem()), "Content-Type": content_type}
    return api.client.post(path, content=content, headers=headers)


@pytest.mark.parametrize(
    "content",
    [b"{bad", b'{"personal": }', b"\xff\xfe{}", b"", b"{" * 5 + b"}" * 4, b"[" * 100_000],
    ids=["truncated", "missing-value", "not-utf8", "empty", "unbalanced", "deeply-nested"],
)
def test_malformed_json_is_a_problem(sqlite_api: Api, content: bytes) -> None:
    response = raw_post(sqlite_api, "/volunteers", content)
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("content", [b"[]", b"null", b'"text"', b"42", b"true"])
def test_a_body_that_is_not_an_object_is_a_problem(sqlite_api: Api, content: bytes) -> None:
    assert_problem(raw_post(sqlite_api, "/activities", content), 422, "invalid-request")


def test_a_body_sent_as_text_is_a_problem(sqlite_api: Api) -> None:
    response = raw_post(sqlite_api, "/volunteers", b"{}", content_type="text/plain")
    assert_problem(response, 422, "invalid-request")


def test_wrong_types_name_each_field(api: Api) -> None:
    response = api.post("/orgs", {"org_id": 5, "name": [], "kind": "club", "region": 1})
    problem = assert_problem(response, 422, "invalid-request")
    locations = {e["location"] for e in problem["errors"]}
    assert {"body.org_id", "body.name", "body.kind", "body.region"} <= locations

    activity_id = api.publish_activity()
    for bad in [
        {"number": api.city.volunteers[0], "minutes": "sixty"},
        {"number": api.city.volunteers[0], "minutes": 0},
        {"number": api.city.volunteers[0], "minutes": 10**30},
        {"number": api.city.volunteers[0], "minutes": 1.5},
        {"number": "not-a-number", "minutes": 30},
        {"number": api.city.volunteers[0], "minutes": 30, "extra": True},
        {"number": api.city.volunteers[0]},
        {"number": api.city.volunteers[0], "minutes": 30, "service_date": "yesterday"},
    ]:
        assert_problem(api.post(f"/activities/{activity_id}/records", bad), 422, "invalid-request")
    for changes in [
        {"starts_at": "2025-01-01T10:00:00"},
        {"field": "Not A Field"},
        {"leader": "Zhang San, a real name with spaces"},
    ]:
        assert_problem(api.post("/activities", activity_body(**changes)), 422, "invalid-request")


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"],
)
def test_times_at_the_edge_of_the_calendar_are_problems_not_500(
    sqlite_api: Api, moment: str
) -> None:
    """A valid RFC 3339 time whose UTC form is outside Python's calendar."""
    body = activity_body(starts_at="2025-01-01T00:00:00Z", ends_at=moment)
    if moment.startswith("0001"):
        body = activity_body(starts_at=moment)
    response = sqlite_api.post("/activities", body)
    assert response.status_code < 500, response.text
    assert_problem(response, response.status_code)
    check_in = sqlite_api.post(
        f"/activities/{sqlite_api.publish_activity()}/check-ins",
        {"number": sqlite_api.city.volunteers[-1], "method": "qr", "at": moment},
    )
    assert check_in.status_code < 500, check_in.text
    assert_problem(check_in, check_in.status_code)


def test_rule_violations_are_422_problems(api: Api) -> None:
    assert_problem(
        api.post(
            "/activities",
            activity_body(starts_at="2025-02-01T10:00:00Z", ends_at="2025-02-01T09:00:00Z"),
        ),
        422,
        "rule-violation",
    )
    assert_problem(
        api.post("/activities", activity_body(field="knitting-for-fun")), 422, "rule-violation"
    )
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity()
    path = f"/activities/{activity_id}/records"
    record_id = api.ok(api.post(path, {"number": number, "minutes": 30}))["value"]["record_id"]
    problem = assert_problem(
        api.post(path, {"number": number, "minutes": 30}), 422, "rule-violation"
    )
    assert number in problem["detail"]
    assert_problem(
        api.post(path, {"number": number, "minutes": 30, "service_date": "2001-01-01"}),
        422,
        "rule-violation",
    )
    api.ok(api.post(f"/records/{record_id}/approve", {}))
    assert_problem(api.post(f"/records/{record_id}/approve", {}), 422, "rule-violation")
    assert_problem(
        api.post(f"/records/{record_id}/correct", {"delta_minutes": -100, "reason": "typo"}),
        422,
        "rule-violation",
    )


def test_unknown_ids_are_404_problems(api: Api) -> None:
    unknown_volunteer = new_number()
    for path in [
        "/records/VAAAAAAAAAAAAA-R1",
        "/activities/5b0c6d4e-0000-4000-8000-000000000000",
        "/orgs/no-such-org",
        "/orgs/no-such-org/figures",
        "/keys/no-such-key",
        "/nowhere",
    ]:
        assert_problem(api.client.get(path), 404, "not-found")
    for path in [
        f"/volunteers/{unknown_volunteer}",
        f"/volunteers/{unknown_volunteer}/records",
        f"/volunteers/{unknown_volunteer}/balance",
        "/time-banks/accounts/no-bank:vol:" + unknown_volunteer,
    ]:
        assert_problem(api.get(path, key="a_read"), 404, "not-found")
    activity_id = api.publish_activity()
    assert_problem(
        api.post(
            f"/activities/{activity_id}/records", {"number": unknown_volunteer, "minutes": 30}
        ),
        404,
        "not-found",
    )
    assert_problem(
        api.post(
            "/activities/5b0c6d4e-0000-4000-8000-000000000000/records",
            {"number": api.city.volunteers[0], "minutes": 30},
        ),
        404,
        "not-found",
    )
    assert_problem(api.post("/records/VAAAAAAAAAAAAA-R1/approve", {}), 404, "not-found")
    assert_problem(api.post(f"/volunteers/{unknown_volunteer}/memberships", {}), 404)
    assert_problem(
        api.post(
            f"/volunteers/{api.city.volunteers[0]}/transfers/"
            "5b0c6d4e-0000-4000-8000-000000000000/accept",
            {},
            key="b",
        ),
        404,
    )
    assert_problem(api.post("/records/not-a-record-id/approve", {}), 400, "invalid-input")


def test_wrong_methods_are_405_problems(sqlite_api: Api) -> None:
    assert_problem(sqlite_api.client.put("/healthz"), 405, "method-not-allowed")
    assert_problem(sqlite_api.client.delete("/log/checkpoint"), 405, "method-not-allowed")


def cursor_of(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage",
    "!!!",
    cursor_of({"a": 1}),
    cursor_of([1, 2, 3]),
    cursor_of(["x", 1]),
    cursor_of([True, "x"]),
    cursor_of([1.5, "x"]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


@pytest.mark.parametrize("path", ["/leaderboards/volunteers", "/leaderboards/organisations"])
def test_bad_cursors_are_400_problems(api: Api, path: str) -> None:
    for cursor in BAD_CURSORS:
        response = api.client.get(path, params={"cursor": cursor})
        assert_problem(response, 400, "invalid-input")
    assert_problem(api.client.get(path, params={"cursor": "x" * 501}), 422, "invalid-request")
    assert_problem(api.client.get(path, params={"limit": 0}), 422, "invalid-request")
    assert_problem(api.client.get(path, params={"limit": 501}), 422, "invalid-request")


def test_cursors_with_out_of_range_numbers_are_400_problems(api: Api) -> None:
    """A cursor is not one this API returned when its number is beyond any stored minutes
    (SQLite cannot even bind it; PostgreSQL quietly compares it)."""
    for path in ["/leaderboards/volunteers", "/leaderboards/organisations"]:
        for number in [10**30, -(10**30), 2**63]:
            response = api.client.get(path, params={"cursor": cursor_of([number, "x"])})
            assert_problem(response, 400, "invalid-input")


def test_bad_account_cursors_are_400_problems(sqlite_api: Api) -> None:
    for cursor in BAD_CURSORS:
        response = sqlite_api.get(
            "/time-banks/accounts/bank-x:vol:VAAAAAAAAAAAAA",
            key="a_read",
            params={"cursor": cursor},
        )
        assert response.status_code in (400, 404), response.text
        assert_problem(response, response.status_code)


def test_bad_query_parameters_are_422_problems(sqlite_api: Api) -> None:
    for path, params in [
        ("/stats/city", {"from": "2025-13"}),
        ("/stats/city", {"to": "soon"}),
        ("/leaderboards/volunteers", {"year": "20x5"}),
        ("/leaderboards/organisations", {"kind": "club"}),
        ("/checkpoints", {"limit": "many"}),
    ]:
        assert_problem(sqlite_api.client.get(path, params=params), 422, "invalid-request")


# --- body limits -----------------------------------------------------------------------------


def test_an_oversized_body_is_413(small_body_api: Api) -> None:
    big = {"personal": {"name": "x" * (SMALL_BODY_LIMIT + 10)}}
    problem = assert_problem(small_body_api.post("/volunteers", big), 413, "body-too-large")
    assert str(SMALL_BODY_LIMIT) in problem["detail"]
    # a body just under the limit is accepted (JSON allows the padding)
    fits = b'{"personal": {"name": "x"}}'.ljust(SMALL_BODY_LIMIT, b" ")
    assert raw_post(small_body_api, "/volunteers", fits).status_code == 201
    assert_problem(raw_post(small_body_api, "/volunteers", fits + b" "), 413, "body-too-large")


def test_an_oversized_chunked_body_is_413(small_body_api: Api) -> None:
    """Without a Content-Length the server still counts what arrives."""

    def chunks() -> Iterator[bytes]:
        yield b'{"personal": {"name": "'
        for _ in range(SMALL_BODY_LIMIT // 100 + 2):
            yield b"x" * 100
        yield b'"}}'

    response = small_body_api.client.post(
        "/volunteers",
        content=chunks(),
        headers={
            **small_body_api.headers("a", idempotency=idem()),
            "Content-Type": "application/json",
        },
    )
    assert_problem(response, 413, "body-too-large")


def test_an_oversized_signed_event_submission_is_413(small_body_api: Api) -> None:
    events = [{"body": "{" + "x" * 200 + "}", "signature": "A" * 88} for _ in range(20)]
    assert_problem(
        small_body_api.client.post(
            "/events", json={"events": events}, headers=small_body_api.headers("a")
        ),
        413,
        "body-too-large",
    )
