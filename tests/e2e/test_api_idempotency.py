"""Idempotent retries: the same ``Idempotency-Key`` with the same content returns the first
response (marked ``Idempotent-Replayed: true``) and stores nothing; with other content it is a
409 problem. Retries may land on any worker."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from api_support import Api, assert_problem, idem


def log_size(api: Api) -> int:
    return int(api.client.get("/readyz").json()["log_size"])


def fresh_post(api: Api, path: str, body: object, key: str, idempotency: str) -> httpx.Response:
    """A request on a new connection, so that with several workers any of them may answer."""
    with httpx.Client(base_url=api.base_url, timeout=60.0) as client:
        return client.post(
            path,
            json=body,
            headers={**api.headers("a", idempotency=idempotency), "Connection": "close"},
        )


def test_a_retry_returns_the_first_response(api: Api) -> None:
    numbers = api.take_volunteers(3)
    activity_id = api.publish_activity()
    body = {"entries": [{"number": n, "minutes": 40} for n in numbers]}
    key = idem()
    first = fresh_post(api, f"/activities/{activity_id}/roster", body, "a", key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    size = log_size(api)
    for _ in range(4):
        again = fresh_post(api, f"/activities/{activity_id}/roster", body, "a", key)
        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert log_size(api) == size
    records = api.ok(api.get(f"/volunteers/{numbers[0]}/records", key="a"), 200)["items"]
    assert len(records) == 1


def test_the_same_key_with_other_content_is_409(api: Api) -> None:
    key = idem()
    api.ok(api.post("/volunteers", {}, idempotency=key))
    size = log_size(api)
    problem = assert_problem(
        api.post("/volunteers", {"personal": {"name": "Someone Else"}}, idempotency=key),
        409,
        "idempotency-conflict",
    )
    assert key in problem["detail"]
    activity = api.post("/activities", {"title": "x"}, idempotency=key)
    assert activity.status_code in (409, 422)
    assert log_size(api) == size

    activity_id = api.publish_activity()
    number_1, number_2 = api.take_volunteers(2)
    key = idem()
    path = f"/activities/{activity_id}/records"
    api.ok(api.post(path, {"number": number_1, "minutes": 30}, idempotency=key))
    assert_problem(
        api.post(path, {"number": number_1, "minutes": 31}, idempotency=key),
        409,
        "idempotency-conflict",
    )
    assert_problem(
        api.post(path, {"number": number_2, "minutes": 30}, idempotency=key),
        409,
        "idempotency-conflict",
    )


def test_idempotency_keys_belong_to_each_organisation(api: Api) -> None:
    """Two organisations choosing the same key do not collide."""
    key = idem()
    made_a = api.ok(api.post("/volunteers", {}, key="a", idempotency=key))
    made_b = api.post("/volunteers", {}, key="b", idempotency=key)
    assert made_b.status_code == 201, made_b.text
    assert "idempotent-replayed" not in made_b.headers
    assert made_b.json()["value"]["number"] != made_a["value"]["number"]


def test_concurrent_retries_store_one_command(api: Api) -> None:
    """A client that retries before the first answer arrives still stores the command once,
    and every attempt gets the first response (three rounds of six simultaneous attempts)."""
    for _ in range(3):
        numbers = api.take_volunteers(5)
        activity_id = api.publish_activity()
        body = {"entries": [{"number": n, "minutes": 25} for n in numbers]}
        key = idem()
        size = log_size(api)
        with ThreadPoolExecutor(6) as pool:
            responses = list(
                pool.map(
                    lambda _, a=activity_id, b=body, k=key: fresh_post(
                        api, f"/activities/{a}/roster", b, "a", k
                    ),
                    range(6),
                )
            )
        assert [r.status_code for r in responses] == [201] * 6, [r.text for r in responses]
        assert all(r.json() == responses[0].json() for r in responses)
        assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
        assert log_size(api) == size + 5


def test_idempotency_key_header_is_required_and_checked(api: Api) -> None:
    no_key = api.client.post("/volunteers", json={}, headers=api.headers("a"))
    problem = assert_problem(no_key, 422, "invalid-request")
    assert "Idempotency-Key" in problem["detail"]
    for bad in ["x" * 129, "has space", "tab\tkey"]:
        response = api.client.post(
            "/volunteers", json={}, headers={**api.headers("a"), "Idempotency-Key": bad}
        )
        assert_problem(response, 422, "invalid-request")
