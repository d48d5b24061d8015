"""The five steps by which one organisation took over another's volunteer, over HTTP: each is
refused with a problem that names the missing agreement, and stores nothing; with the home
organisation's signed agreement the same requests succeed."""

from __future__ import annotations

import uuid
from typing import Any

from api_support import Api, assert_problem

ROOT_BANKS: dict[str, str] = {}


def _log_size(api: Api) -> int:
    return int(api.ok(api.client.get("/readyz"), 200)["log_size"])


def _root_bank(api: Api) -> str:
    """The root's time bank on this server (an organisation runs one bank), opened once."""
    if api.base_url not in ROOT_BANKS:
        bank = "root-bank-" + uuid.uuid4().hex[:8]
        api.ok(api.post("/time-banks", {"bank_id": bank}, key="root"))
        ROOT_BANKS[api.base_url] = bank
    return ROOT_BANKS[api.base_url]


def _refused(api: Api, response: Any, right: str, number: str) -> None:
    problem = assert_problem(response, 403, "agreement-missing")
    assert problem["missing_agreement"] == right, problem
    assert problem["home_organisation"] == api.city.org_a, problem
    assert problem["volunteer"] == number, problem
    assert right in problem["detail"] and "agreement" in problem["detail"], problem


def _volunteer_with_credit(api: Api) -> tuple[str, str, str]:
    """A volunteer of org-a with personal data and consent, and 45 minutes of credit in a
    bank of the root (org-a's records earn credit there)."""
    bank = _root_bank(api)
    made = api.ok(api.post("/volunteers", {"personal": {"name": "被保护人", "phone": "139"}}))
    number = made["value"]["number"]
    api.ok(
        api.post(
            f"/volunteers/{number}/consents", {"purpose": "share-personal-data", "given": True}
        )
    )
    activity_id = api.publish_activity(key="a")
    record = api.ok(
        api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 45})
    )
    api.ok(api.post(f"/records/{record['value']['record_id']}/approve", {}))
    return number, bank, f"{bank}:vol:{number}"


def test_the_five_takeover_steps_are_refused_and_store_nothing(api: Api) -> None:
    number, bank, account = _volunteer_with_credit(api)
    before = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    size = _log_size(api)

    _refused(api, api.get(f"/volunteers/{number}/personal", key="b"), "personal-data", number)
    _refused(
        api, api.post(f"/volunteers/{number}/memberships", None, key="b"), "membership", number
    )
    _refused(
        api,
        api.post(
            f"/volunteers/{number}/consents",
            {"purpose": "share-personal-data", "given": True},
            key="b",
        ),
        "consent",
        number,
    )
    _refused(api, api.get(f"/volunteers/{number}/personal", key="b"), "personal-data", number)
    theft = {"from_account": account, "to_account": f"{bank}:org:{api.city.org_b}", "amount": 45}
    _refused(api, api.post(f"/time-banks/{bank}/transfers", theft, key="b"), "credit", number)
    # not even the bank's own organisation moves a volunteer's credit as it likes
    _refused(api, api.post(f"/time-banks/{bank}/transfers", theft, key="root"), "credit", number)

    assert _log_size(api) == size
    assert api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200) == before
    assert api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)["balance"]


def test_with_the_home_organisations_agreement_the_same_requests_succeed(api: Api) -> None:
    number, bank, account = _volunteer_with_credit(api)
    asked = api.ok(
        api.post(
            f"/volunteers/{number}/agreements",
            {"rights": ["membership", "consent", "personal-data", "credit"]},
            key="b",
        )
    )
    agreement = asked["value"]["agreement_id"]
    assert asked["events"][0]["type"] == "AgreementRequested"
    # the requester cannot answer its own request
    assert_problem(
        api.post(f"/volunteers/{number}/agreements/{agreement}/grant", None, key="b"),
        403,
        "key-not-authorised",
    )
    api.ok(api.post(f"/volunteers/{number}/agreements/{agreement}/grant", None, key="a"))

    api.ok(api.post(f"/volunteers/{number}/memberships", None, key="b"))
    api.ok(
        api.post(f"/volunteers/{number}/consents", {"purpose": "photos", "given": True}, key="b")
    )
    personal = api.ok(api.get(f"/volunteers/{number}/personal", key="b"), 200)
    assert personal["personal"]["name"] == "被保护人"
    gift = {"from_account": account, "to_account": f"{bank}:org:{api.city.org_b}", "amount": 5}
    api.ok(api.post(f"/time-banks/{bank}/transfers", gift, key="b"))

    api.ok(
        api.post(
            f"/volunteers/{number}/agreements/{agreement}/withdraw",
            {"reason": "the volunteer asked"},
            key="a",
        )
    )
    _refused(api, api.get(f"/volunteers/{number}/personal", key="b"), "personal-data", number)
    _refused(api, api.post(f"/time-banks/{bank}/transfers", gift, key="b"), "credit", number)
    shown = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    assert shown["home"] == api.city.org_a
    assert shown["agreements"][agreement]["status"] == "withdrawn"
