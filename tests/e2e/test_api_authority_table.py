"""A subset of the authority table, through HTTP: each organisation's API key (every scope)
tries each volunteer-side request on a volunteer of org-a, and the status must be the one the
table in docs/authority.md gives (the full table is checked through the library by
tests/property/authority/test_authority_oracle.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from api_support import ALL_SCOPES, Api

# The tree of the e2e city: city -> org-a -> org-a-station, city -> org-b.
ABOVE = {"city": set(), "org-a": {"city"}, "org-a-station": {"org-a", "city"}, "org-b": {"city"}}
HOME = "org-a"


def _expected(action: str, org: str) -> int:
    """The table, as data: (who may, status when allowed but refused by another rule)."""
    table: dict[str, tuple[Callable[[str], bool], int, int]] = {
        # action: (who may, status if allowed, status if not)
        "consent": (lambda o: o == HOME, 201, 403),
        "join": (lambda o: o == HOME, 422, 403),  # the home is a member already
        "personal": (lambda o: o == HOME or o in ABOVE[HOME], 200, 403),
        "transfer": (lambda o: o == HOME, 201, 403),
        "ask": (lambda o: o != HOME, 201, 422),  # the home needs no agreement
    }
    may, allowed, refused = table[action]
    return allowed if may(org) else refused


def _request(api: Api, action: str, number: str, key: str) -> httpx.Response:
    calls: dict[str, Callable[[], httpx.Response]] = {
        "consent": lambda: api.post(
            f"/volunteers/{number}/consents", {"purpose": "photos", "given": True}, key=key
        ),
        "join": lambda: api.post(f"/volunteers/{number}/memberships", None, key=key),
        "personal": lambda: api.get(f"/volunteers/{number}/personal", key=key),
        "transfer": lambda: api.post(
            f"/volunteers/{number}/transfers", {"to_org": "org-b"}, key=key
        ),
        "ask": lambda: api.post(
            f"/volunteers/{number}/agreements", {"rights": ["membership"]}, key=key
        ),
    }
    return calls[action]()


@pytest.fixture(scope="module")
def org_keys(sqlite_api: Api) -> dict[str, str]:
    from ledger import Ledger
    from ledger.apikeys import create_api_key

    with Ledger(sqlite_api.db_url) as ledger:
        station = create_api_key(ledger, "org-a-station", ALL_SCOPES)
    keys = sqlite_api.city.keys
    return {"city": keys["root"], "org-a": keys["a"], "org-b": keys["b"], "org-a-station": station}


@pytest.mark.parametrize("action", ["consent", "join", "personal", "transfer", "ask"])
def test_each_organisation_gets_the_answer_the_table_gives(
    sqlite_api: Api, org_keys: dict[str, str], action: str
) -> None:
    api = sqlite_api
    made = api.ok(api.post("/volunteers", {"personal": {"name": "表"}}, key=org_keys[HOME]))
    number = made["value"]["number"]
    api.ok(
        api.post(
            f"/volunteers/{number}/consents",
            {"purpose": "share-personal-data", "given": True},
            key=org_keys[HOME],
        )
    )
    answers: dict[str, Any] = {}
    for org in sorted(org_keys, key=lambda o: o == HOME):  # the home last: it changes state
        size = api.ok(api.client.get("/readyz"), 200)["log_size"]
        response = _request(api, action, number, org_keys[org])
        answers[org] = response.status_code
        if response.status_code >= 400:
            assert api.ok(api.client.get("/readyz"), 200)["log_size"] == size
            if response.status_code == 403:
                assert response.json()["type"] in (
                    "/problems/agreement-missing",
                    "/problems/key-not-authorised",
                )
    assert answers == {org: _expected(action, org) for org in org_keys}
