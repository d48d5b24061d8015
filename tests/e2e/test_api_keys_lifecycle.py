"""API keys with a life, through a real server: listed with their last use, revoked, expired,
limited per key; failed authentications slowed down per address; signed bodies need the scope
of the events they carry."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from api_support import (
    LEDGER_CLI,
    Api,
    OutsideKey,
    assert_problem,
    build_city,
    create_views,
    idem,
    new_number,
    start_ledger_serve,
    start_uvicorn_factory,
    volunteer_registered_body,
)

FAILURES_PER_MINUTE = 5


@pytest.fixture(scope="module")
def keys_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    cwd = tmp_path_factory.mktemp("keys-server")
    db_url = f"sqlite:///{cwd / 'ledger.db'}"
    city = build_city(db_url, cwd, volunteers=2, fillers=0)
    server = start_uvicorn_factory(
        db_url, cwd, {"LEDGER_AUTH_FAILURES_PER_MINUTE": str(FAILURES_PER_MINUTE)}
    )
    client = httpx.Client(base_url=server.base_url, timeout=30.0)
    try:
        yield Api(server, city, client, "sqlite", db_url)
    finally:
        client.close()
        server.stop()


def _new_key(api: Api, org: str, scopes: list[str], **options: object) -> str:
    from ledger import Ledger
    from ledger.apikeys import create_api_key

    with Ledger(api.db_url) as ledger:
        return create_api_key(ledger, org, scopes, **options)  # type: ignore[arg-type]


def _cli(api: Api, *args: str) -> str:
    done = subprocess.run(
        [*LEDGER_CLI, "apikey", *args, "--db", api.db_url],
        cwd=api.server.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_admin_lists_creates_and_revokes_keys_over_http(keys_api: Api) -> None:
    api = keys_api
    admin = _new_key(api, api.city.org_a, ["admin", "read", "register"])
    listed = api.ok(api.get("/api-keys", key=admin), 200)["items"]
    orgs = {k["org"] for k in listed}
    assert orgs <= {api.city.org_a, api.city.station} and api.city.org_a in orgs
    assert all("secret" not in k and "hash" not in k for k in listed)
    mine = [k for k in listed if "admin" in k["scopes"]]
    assert mine and mine[0]["last_used"] is not None  # this very request used it

    wider = api.post("/api-keys", {"scopes": ["private"]}, key=admin)
    assert_problem(wider, 403, "scope-missing")
    made = api.ok(api.post("/api-keys", {"scopes": ["read"]}, key=admin, idempotency="new-reader"))
    reader = made["secret"]
    retried = api.post("/api-keys", {"scopes": ["read"]}, key=admin, idempotency="new-reader")
    again = api.ok(retried)
    assert again["replayed"] and again["secret"] is None and again["key_id"] == made["key_id"]
    assert retried.headers["Idempotent-Replayed"] == "true"
    # the same Idempotency-Key asking for other scopes is not answered with the reader's key
    other = api.post("/api-keys", {"scopes": ["register"]}, key=admin, idempotency="new-reader")
    assert_problem(other, 409, "idempotency-conflict")
    assert api.get(f"/volunteers/{api.city.volunteers[0]}", key=reader).status_code == 200
    key_id = next(
        k["key_id"]
        for k in api.ok(api.get("/api-keys", key=admin), 200)["items"]
        if k["scopes"] == ["read"] and k["revoked"] is None and k["last_used"]
    )
    # another organisation's administrator cannot revoke it
    other_admin = _new_key(api, api.city.org_b, ["admin"])
    assert_problem(api.post(f"/api-keys/{key_id}/revoke", key=other_admin), 404)
    revoked = api.ok(api.post(f"/api-keys/{key_id}/revoke", key=admin), 200)
    assert revoked["revoked"]
    refused = assert_problem(api.get(f"/volunteers/{api.city.volunteers[0]}", key=reader), 401)
    assert "revoked" in refused["detail"]
    # a key without the admin scope manages nothing
    assert_problem(api.get("/api-keys", key=api.city.keys["a"]), 403, "scope-missing")


def test_the_command_line_creates_lists_and_revokes(keys_api: Api) -> None:
    api = keys_api
    secret = _cli(api, "create", "--org", api.city.org_b, "--scopes", "read", "--rate", "1000")
    secret = secret.strip()
    assert api.get(f"/volunteers/{api.city.volunteers[0]}", key=secret).status_code == 200
    lines = [line for line in _cli(api, "list", "--org", api.city.org_b).splitlines() if line]
    import json

    records = [json.loads(line) for line in lines]
    created = [r for r in records if r["rate_per_minute"] == 1000]
    assert len(created) == 1 and created[0]["org"] == api.city.org_b
    assert _cli(api, "revoke", created[0]["key_id"]).startswith("revoked")
    assert_problem(api.get(f"/volunteers/{api.city.volunteers[0]}", key=secret), 401)


def test_an_expired_key_is_refused(keys_api: Api) -> None:
    api = keys_api
    soon = _new_key(
        api, api.city.org_a, ["read"], expires=datetime.now(UTC) + timedelta(seconds=1.5)
    )
    path = f"/volunteers/{api.city.volunteers[0]}"
    assert api.get(path, key=soon).status_code == 200
    time.sleep(2)
    assert "expired" in assert_problem(api.get(path, key=soon), 401)["detail"]


def test_a_key_with_a_rate_gets_429_with_retry_after(keys_api: Api) -> None:
    api = keys_api
    limited = _new_key(api, api.city.org_a, ["read"], rate_per_minute=3)
    path = f"/volunteers/{api.city.volunteers[0]}"
    assert [api.get(path, key=limited).status_code for _ in range(3)] == [200] * 3
    response = api.get(path, key=limited)
    assert_problem(response, 429, "too-many-requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert api.get(path, key="a").status_code == 200  # other keys are not slowed


def test_a_signed_body_needs_the_scope_of_its_event_type(keys_api: Api) -> None:
    api = keys_api
    outside = OutsideKey()
    public = base64.b64encode(outside.public_raw).decode()
    api.ok(api.post(f"/orgs/{api.city.org_a}/keys", {"public_key": public}, key="a"))
    body = volunteer_registered_body(api.city.org_a, outside.key_id, new_number(), idem())
    signed = outside.sign(body)
    payload = {"events": [{"body": signed[0], "signature": signed[1]}]}
    refused = api.client.post("/events", json=payload, headers=api.headers("a_read"))
    assert "'register' scope" in assert_problem(refused, 403, "scope-missing")["detail"]
    api.ok(api.client.post("/events", json=payload, headers=api.headers("a")))


def _away_from_a_window_edge() -> None:
    """Failures are counted in minutes of the clock: start a burst early in one."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)


def test_failed_authentications_are_slowed_down(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    city = build_city(db_url, tmp_path, volunteers=1, fillers=0)
    server = start_uvicorn_factory(db_url, tmp_path, {"LEDGER_AUTH_FAILURES_PER_MINUTE": "5"})
    try:
        with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
            path = f"/volunteers/{city.volunteers[0]}"
            _away_from_a_window_edge()
            wrong = [
                client.get(path, headers={"Authorization": f"Bearer slk_wrong{i}"}).status_code
                for i in range(5)
            ]
            assert wrong == [401] * 5
            blocked = client.get(path, headers={"Authorization": f"Bearer {city.keys['a']}"})
            assert_problem(blocked, 429, "too-many-requests")
            assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_failure_limit_holds_across_the_workers_of_a_server(
    kind: str, tmp_path: Path, store_url_for: Callable[[str], str]
) -> None:
    """``ledger serve --workers 3``: each request on a new connection (so the workers share
    them); after exactly the limit of wrong keys, every worker answers 429, even to a right key.
    Counted per worker, a fresh connection would mostly find a worker still under the limit."""
    db_url = store_url_for(kind)
    city = build_city(db_url, tmp_path, volunteers=1, fillers=0)
    if kind == "postgresql":
        create_views(db_url)
    limit = 6
    server = start_ledger_serve(
        db_url, tmp_path, workers=3, env={"LEDGER_AUTH_FAILURES_PER_MINUTE": str(limit)}
    )
    path = f"{server.base_url}/volunteers/{city.volunteers[0]}"
    try:
        _away_from_a_window_edge()
        wrong = [
            httpx.get(path, headers={"Authorization": f"Bearer slk_wrong{i}"}).status_code
            for i in range(limit)
        ]
        assert wrong == [401] * limit
        later = [
            httpx.get(path, headers={"Authorization": f"Bearer {key}"})
            for key in ["slk_wrong-again", city.keys["a"]] * 10
        ]
        assert [r.status_code for r in later] == [429] * 20
        assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in later)
    finally:
        server.stop()


@pytest.mark.slow
def test_a_keys_rate_is_counted_by_each_worker(tmp_path: Path) -> None:
    """What docs/api.md says of a key's rate under ``--workers 3``: each worker counts for
    itself, so a key gets at least its rate and at most three times it in a minute."""
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    city = build_city(db_url, tmp_path, volunteers=1, fillers=0)
    rate = 2
    with_rate = _new_key_at(db_url, city.org_a, rate)
    server = start_ledger_serve(db_url, tmp_path, workers=3)
    path = f"{server.base_url}/volunteers/{city.volunteers[0]}"
    try:
        answers = [
            httpx.get(path, headers={"Authorization": f"Bearer {with_rate}"}).status_code
            for _ in range(12)
        ]
        assert set(answers) == {200, 429}
        assert rate <= answers.count(200) <= 3 * rate
    finally:
        server.stop()


def _new_key_at(db_url: str, org: str, rate: int) -> str:
    from ledger import Ledger
    from ledger.apikeys import create_api_key

    with Ledger(db_url) as ledger:
        return create_api_key(ledger, org, ["read"], rate_per_minute=rate)
