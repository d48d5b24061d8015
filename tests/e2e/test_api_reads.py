"""Reads for dashboards (figures, leaderboards, statistics, accounts) with cursor pagination, and
the operations endpoints (health, readiness, Prometheus metrics)."""

from __future__ import annotations

import re
import uuid

from api_support import Api, assert_problem, walk_pages

from ledger.projections import ViewDatabase
from ledger.storage.url import parse_store_url


def approve_roster(api: Api, numbers: list[str], minutes: list[int], key: str = "a") -> int:
    """Record and approve; return the newest notification id written."""
    activity_id = api.publish_activity(key=key, max_minutes=6 * 60)  # more than its 2 h span
    recorded = api.ok(
        api.post(
            f"/activities/{activity_id}/roster",
            {
                "entries": [
                    {"number": n, "minutes": m} for n, m in zip(numbers, minutes, strict=True)
                ]
            },
            key=key,
        )
    )
    approved = api.ok(
        api.post(
            "/records/approvals",
            {"approvals": [{"record_id": r} for r in recorded["value"]["record_ids"]]},
            key=key,
        )
    )
    return max(e["notification_id"] for e in approved["events"])


def test_leaderboard_pages_cover_everyone_once_in_order(api: Api) -> None:
    numbers = api.take_volunteers(12)
    api.wait_for_views(approve_roster(api, numbers, [100 + 7 * i for i in range(12)]))

    everyone = api.ok(api.client.get("/leaderboards/volunteers", params={"limit": 500}), 200)
    assert everyone["next_cursor"] is None
    pages = list(walk_pages(api, "/leaderboards/volunteers", 5))
    assert all(len(p["items"]) <= 5 for p in pages)
    items = [item for page in pages for item in page["items"]]
    assert items == everyone["items"]
    keys = [(-i["approved_minutes"], i["number"]) for i in items]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {n for n in numbers} <= {i["number"] for i in items}

    under_b = api.ok(
        api.client.get("/leaderboards/volunteers", params={"under_org": api.city.org_b}), 200
    )
    assert not {n for n in numbers} & {i["number"] for i in under_b["items"]}
    year = api.ok(api.client.get("/leaderboards/volunteers", params={"year": "1999"}), 200)
    assert year["items"] == [] and year["next_cursor"] is None


def test_organisation_leaderboard_figures_and_city_statistics(api: Api) -> None:
    numbers = api.take_volunteers(2)
    api.wait_for_views(approve_roster(api, numbers, [61, 62]))
    pages = list(walk_pages(api, "/leaderboards/organisations", 1))
    orgs = [i["org_id"] for p in pages for i in p["items"]]
    assert len(orgs) == len(set(orgs))
    assert {api.city.root, api.city.org_a, api.city.org_b} <= set(orgs)
    root_minutes = next(i for p in pages for i in p["items"] if i["org_id"] == api.city.root)
    stations = api.ok(
        api.client.get("/leaderboards/organisations", params={"kind": "station"}), 200
    )
    assert [i["org_id"] for i in stations["items"]] == [api.city.station]

    figures = api.ok(api.client.get(f"/orgs/{api.city.org_a}/figures"), 200)
    assert figures["organisation"]["org_id"] == api.city.org_a
    assert figures["rolled_up"]["approved_minutes"] >= figures["organisation"]["approved_minutes"]
    city = api.ok(api.client.get("/stats/city"), 200)
    assert city["approved_minutes"] == root_minutes["approved_minutes"]
    assert city["organisations_by_kind"]["station"] == 1
    month = api.ok(api.client.get("/stats/city", params={"from": "1999-01", "to": "1999-12"}), 200)
    assert month["period"] == {"from": "1999-01", "to": "1999-12"}


_BANKS_OF_B: dict[str, str] = {}


def bank_of_b(api: Api) -> str:
    """Organisation b's time bank on this server (an organisation runs one at most), opened by
    the first test that needs it."""
    if api.base_url not in _BANKS_OF_B:
        bank = "e2e-bank-" + uuid.uuid4().hex[:8]
        api.ok(api.post("/time-banks", {"bank_id": bank}, key="b"))
        _BANKS_OF_B[api.base_url] = bank
    return _BANKS_OF_B[api.base_url]


def test_time_bank_account_pages_and_transfers(api: Api) -> None:
    bank = bank_of_b(api)
    number = api.register_volunteer(key="b")
    activity_id = api.publish_activity(key="b", allow_repeats=True)
    for minutes in (30, 40, 50):
        made = api.ok(
            api.post(
                f"/activities/{activity_id}/records",
                {"number": number, "minutes": minutes},
                key="b",
            )
        )
        last = api.ok(api.post(f"/records/{made['value']['record_id']}/approve", {}, key="b"))
    account = f"{bank}:vol:{number}"
    api.wait_for_views(max(e["notification_id"] for e in last["events"]))
    pages = list(walk_pages(api, f"/time-banks/accounts/{account}", 1, key="b"))
    movements = [m for p in pages for m in p["items"]]
    assert len(movements) == 3
    whole = api.ok(api.get(f"/time-banks/accounts/{account}", key="b"), 200)
    assert whole["balance"] == 120

    moved = api.ok(
        api.post(
            f"/time-banks/{bank}/transfers",
            {
                "from_account": account,
                "to_account": f"{bank}:org:{api.city.org_b}",
                "amount": 20,
                "kind": "donation",
            },
            key="b",
        )
    )
    transfer_id = moved["value"]["transfer_id"]
    assert_problem(
        api.post(
            f"/time-banks/{bank}/transfers",
            {
                "from_account": account,
                "to_account": f"{bank}:org:{api.city.org_b}",
                "amount": 10**6,
            },
            key="b",
        ),
        422,
    )
    assert_problem(
        api.post(
            f"/time-banks/{bank}/transfers",
            {"from_account": account, "to_account": f"{bank}:org:{api.city.org_b}", "amount": 5},
            key="a",
        ),
        403,
    )
    reverse = f"/time-banks/{bank}/transfers/{transfer_id}/reverse"
    assert_problem(api.post(f"{reverse}?account={bank}:org:nobody", None, key="b"), 404)
    assert_problem(api.post(f"{reverse}?account=not-an-account", None, key="b"), 422)
    reversed_ = api.ok(api.post(f"{reverse}?account={account}", None, key="b"))  # the sender's
    api.wait_for_views(max(e["notification_id"] for e in reversed_["events"]))
    assert api.ok(api.get(f"/time-banks/accounts/{account}", key="b"), 200)["balance"] == 120
    assert_problem(api.post(reverse, None, key="b"), 422)


def test_a_reversal_not_told_its_account_is_not_misdirected_by_the_views(api: Api) -> None:
    """Without ``?account=`` the server tries the accounts its views hold for the transfer; the
    ledger checks them against verified state, so view rows the operator changed cannot point a
    reversal elsewhere: it is searched for instead, and undoes exactly the transfer."""
    bank = bank_of_b(api)
    number = api.register_volunteer(key="b")
    activity_id = api.publish_activity(key="b", allow_repeats=True)
    made = api.ok(
        api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 60}, key="b")
    )
    api.ok(api.post(f"/records/{made['value']['record_id']}/approve", {}, key="b"))
    account, receiver = f"{bank}:vol:{number}", f"{bank}:org:{api.city.org_b}"
    transfers = []
    for _ in range(2):
        moved = api.ok(
            api.post(
                f"/time-banks/{bank}/transfers",
                {"from_account": account, "to_account": receiver, "amount": 5, "kind": "donation"},
                key="b",
            )
        )
        transfers.append(moved["value"]["transfer_id"])
    api.wait_for_views(max(e["notification_id"] for e in moved["events"]))
    before = api.ok(api.get(f"/time-banks/accounts/{account}", key="b"), 200)["balance"]
    honest, misdirected = transfers
    views = ViewDatabase(parse_store_url(api.db_url))
    rows = "FROM view_account_movements WHERE transfer_id = ?"
    saved = views.query(f"SELECT * {rows} ORDER BY account_id", [misdirected])
    assert {r[0] for r in saved} == {account, receiver}
    with views.transaction() as cursor:  # both sides now name the bank's issuing account
        cursor.execute(f"DELETE {rows} AND account_id = ?", [misdirected, account])
        cursor.execute(
            "UPDATE view_account_movements SET account_id = ? WHERE transfer_id = ?",
            [f"{bank}:issuing", misdirected],
        )
    try:
        for transfer_id in (honest, misdirected):
            undone = api.ok(
                api.post(f"/time-banks/{bank}/transfers/{transfer_id}/reverse", None, key="b")
            )
            api.wait_for_views(max(e["notification_id"] for e in undone["events"]))
        after = api.ok(api.get(f"/time-banks/accounts/{account}", key="b"), 200)
        assert after["balance"] == before + 10
        reversals = [m for m in after["items"] if m["kind"] == "reversal"]
        assert [m["amount"] for m in reversals] == [5, 5]
    finally:
        with views.transaction() as cursor:
            cursor.execute(f"DELETE {rows}", [misdirected])
            for row in saved:
                cursor.execute(
                    "INSERT INTO view_account_movements VALUES (?, ?, ?, ?, ?, ?)", list(row)
                )
        views.close()


def test_health_and_readiness(api: Api) -> None:
    assert api.ok(api.client.get("/healthz"), 200) == {"status": "ok"}
    ready = api.ok(api.client.get("/readyz"), 200)
    assert ready["status"] == "ready"
    assert ready["log_size"] > 256 and ready["views_position"] >= 0


METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\})? (-?[0-9.e+]+)$'
)


def test_metrics_are_prometheus_text(api: Api) -> None:
    api.client.get("/healthz")
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, list[str]] = {}
    types: dict[str, str] = {}
    for line in response.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line.startswith("# HELP ") or not line:
            continue
        else:
            match = METRIC_LINE.match(line)
            assert match, line
            assert match.group(1) in types, f"{line}: no TYPE line before it"
            samples.setdefault(match.group(1), []).append(line)
    assert types["ledger_log_size"] == "gauge"
    assert types["ledger_http_requests_total"] == "counter"
    log_size = int(samples["ledger_log_size"][0].split()[-1])
    assert log_size >= api.client.get("/readyz").json()["log_size"] - 50
    assert any(
        'route="/healthz"' in s and 'status="200"' in s
        for s in samples["ledger_http_requests_total"]
    )
