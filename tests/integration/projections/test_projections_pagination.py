"""Queries over the views with keyset pagination: cursors page through the leaderboards and an
account's movements without duplicates or gaps, a cursor the API never returned is refused, and
the top volunteers of a county in a year are the ones the events say."""

from __future__ import annotations

import base64
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from projections_support import KINDS, Demo, Replay, all_pages, demo_ledgers

from ledger import InvalidInputError, Ledger, MemoryKeystore
from ledger.projections import ViewQueries
from ledger.projections.queries import MAX_PAGE, encode_cursor

__all__ = ["demo_ledgers"]  # fixture used here


@pytest.fixture(params=KINDS)
def queries(
    request: pytest.FixtureRequest, demo_ledgers: Callable[[str], Demo]
) -> Iterator[tuple[Demo, ViewQueries]]:
    """Queries over the demo's views, kept in the ledger's own database."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    demo = demo_ledgers(request.param)
    views = demo.views(None, verify=False)
    views.catch_up()
    yield demo, ViewQueries(views.database)
    views.close()


def assert_pages_are_the_whole(
    fetch: Callable[[int, str | None], dict[str, Any]], limit: int, key: str
) -> list[dict[str, Any]]:
    whole = fetch(MAX_PAGE, None)
    assert whole["next_cursor"] is None
    pages = all_pages(lambda cursor: fetch(limit, cursor))
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages[-1]) <= limit  # empty when the items fill the pages before it exactly
    flat = [item for page in pages for item in page]
    assert flat == whole["items"], "pages lost, repeated or reordered items"
    assert len({item[key] for item in flat}) == len(flat)
    return flat


def test_pages_of_top_volunteers_are_the_whole_ranking(
    queries: tuple[Demo, ViewQueries],
) -> None:
    _, q = queries
    for limit in (1, 3, 7):
        flat = assert_pages_are_the_whole(
            lambda n, c: q.top_volunteers(limit=n, cursor=c), limit, "number"
        )
    minutes = [item["approved_minutes"] for item in flat]
    assert minutes == sorted(minutes, reverse=True) and minutes[-1] > 0
    assert len(flat) > 20
    ties = [
        (a["number"], b["number"])
        for a, b in itertools.pairwise(flat)
        if a["approved_minutes"] == b["approved_minutes"]
    ]
    assert all(x < y for x, y in ties), "ties are not broken by volunteer number"


def test_pages_of_organisations_by_minutes_are_the_whole_ranking(
    queries: tuple[Demo, ViewQueries],
) -> None:
    demo, q = queries
    flat = assert_pages_are_the_whole(
        lambda n, c: q.organisations_by_minutes(limit=n, cursor=c), 4, "org_id"
    )
    assert {item["org_id"] for item in flat} == set(demo.replay.organisations)
    stations = assert_pages_are_the_whole(
        lambda n, c: q.organisations_by_minutes(limit=n, cursor=c, kind="station"), 5, "org_id"
    )
    assert [s for s in flat if s["org_id"] in {x["org_id"] for x in stations}] == stations


def test_pages_of_an_accounts_movements_are_its_whole_history(
    queries: tuple[Demo, ViewQueries],
) -> None:
    demo, q = queries
    bank = next(iter(demo.replay.minted))
    account = f"{bank}:issuing"
    flat = assert_pages_are_the_whole(
        lambda n, c: q.account(account, limit=n, cursor=c), 6, "transfer_id"
    )
    assert len(flat) == demo.replay.mint_movements[bank] > 12
    positions = [m["position"] for m in flat]
    assert positions == sorted(positions)
    assert sum(m["amount"] for m in flat) == q.account(account)["balance"]


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "not a cursor!",
    "%%%%",
    _cursor({"minutes": 10}),
    _cursor([10]),
    _cursor([10, "V", 3]),
    _cursor(["V", 10]),
    _cursor([True, "V"]),
    _cursor([1.5, "V"]),
    _cursor([None, "V"]),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_the_api_never_returned_is_refused(
    queries: tuple[Demo, ViewQueries], cursor: str
) -> None:
    demo, q = queries
    account = f"{next(iter(demo.replay.minted))}:issuing"
    for fetch in (
        lambda: q.top_volunteers(cursor=cursor),
        lambda: q.top_volunteers(cursor=cursor, year="2025", under_org="luzhou"),
        lambda: q.organisations_by_minutes(cursor=cursor),
        lambda: q.account(account, cursor=cursor),
    ):
        with pytest.raises(InvalidInputError, match="cursor"):
            fetch()


@pytest.mark.parametrize("value", [2**63, -(10**30)])
def test_a_cursor_with_a_number_beyond_any_figure_is_refused_or_answered(
    queries: tuple[Demo, ViewQueries], value: int
) -> None:
    """Shaped like a real cursor, but no figure is that large: the query may refuse it as a
    bad cursor or answer it (nothing is beyond it), never fail with a database error."""
    demo, q = queries
    cursor = encode_cursor([value, "VAAAAAAAAAAAAA"])
    account = f"{next(iter(demo.replay.minted))}:issuing"
    for fetch in (
        lambda: q.top_volunteers(cursor=cursor),
        lambda: q.organisations_by_minutes(cursor=cursor),
        lambda: q.account(account, cursor=cursor),
    ):
        try:
            page = fetch()
        except InvalidInputError:
            continue
        assert isinstance(page["items"], list)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_a_page_size_out_of_range_is_refused(queries: tuple[Demo, ViewQueries], limit: int) -> None:
    _, q = queries
    with pytest.raises(InvalidInputError, match="limit"):
        q.top_volunteers(limit=limit)
    with pytest.raises(InvalidInputError, match="limit"):
        q.organisations_by_minutes(limit=limit)


def test_top_volunteers_in_a_county_equal_the_replayed_ranking(
    queries: tuple[Demo, ViewQueries],
) -> None:
    demo, q = queries
    for county in ("luzhou", "shangdang", "tunliu"):
        expected = county_ranking(demo.ledger, demo.replay, county, "2025")
        assert expected, f"the demo has no approved minutes in {county}"
        shown = [
            (item["number"], item["approved_minutes"])
            for page in all_pages(
                lambda c, county=county: q.top_volunteers(
                    limit=2, cursor=c, year="2025", under_org=county
                )
            )
            for item in page
        ]
        assert shown == expected
    assert q.top_volunteers(year="2024")["items"] == []


def county_ranking(
    ledger: Ledger, replay: Replay, org: str, year: str | None
) -> list[tuple[str, int]]:
    """Approved minutes per volunteer of records made by ``org`` or below, served in ``year``."""
    tree = replay.subtree(org)
    totals: dict[str, int] = defaultdict(int)
    for number in replay.volunteers:
        for record in ledger.service_account(number).records.values():
            if record.recording_org in tree and (year is None or record.service_date[:4] == year):
                totals[number] += record.credited_minutes
    return sorted(((n, m) for n, m in totals.items() if m > 0), key=lambda x: (-x[1], x[0]))


# Two counties and two years, with a volunteer who moved between counties


def two_county_city(ledger: Ledger) -> list[str]:
    ledger.create(
        name="Two counties",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.test.example/log",
    )
    for county in ("county-a", "county-b"):
        ledger.register_organisation(
            "city",
            org_id=county,
            name=county,
            kind="organisation",
            region="140401",
            idempotency_key=county,
        )
        ledger.new_key("city", for_org=county, idempotency_key=f"{county}-key")
        station = f"{county}-station"
        ledger.register_organisation(
            county,
            org_id=station,
            name=station,
            kind="station",
            region="140401001",
            idempotency_key=station,
        )
        ledger.new_key(county, for_org=station, idempotency_key=f"{station}-key")
    numbers = [
        ledger.register_volunteer(
            "county-a-station" if i < 4 else "county-b-station", idempotency_key=f"v{i}"
        ).value.number
        for i in range(7)
    ]
    # minutes[i][j]: volunteer i at activity j (0 = absent); activities alternate stations,
    # the first two in 2024, the rest in 2025; ties on purpose
    plan = [
        [60, 90, 120, 0],
        [60, 0, 120, 90],
        [0, 150, 60, 60],
        [30, 30, 120, 0],
        [0, 60, 0, 120],
        [120, 0, 180, 60],
        [0, 0, 0, 0],
    ]
    starts = [
        datetime(2024, 6, 3, 9, tzinfo=UTC),
        datetime(2024, 11, 4, 9, tzinfo=UTC),
        datetime(2025, 3, 3, 9, tzinfo=UTC),
        datetime(2025, 9, 1, 9, tzinfo=UTC),
    ]
    for j, start in enumerate(starts):
        station = ("county-a-station", "county-b-station")[j % 2]
        activity = ledger.publish_activity(
            station,
            title=f"Activity {j}",
            field="care-for-elderly-and-children",
            place="home",
            starts_at=start,
            ends_at=start + timedelta(hours=4),
            leader="lead",
            content="visits",
            idempotency_key=f"activity-{j}",
            occurred_at=start - timedelta(days=2),
        ).value.activity_id
        entries = [
            {"number": n, "minutes": plan[i][j]} for i, n in enumerate(numbers) if plan[i][j]
        ]
        recorded = ledger.record_roster(
            station,
            activity_id=activity,
            entries=entries,
            idempotency_key=f"roster-{j}",
            occurred_at=start + timedelta(days=1),
        )
        ledger.approve_records(
            station,
            approvals=[{"record_id": r} for r in recorded.value.record_ids],
            idempotency_key=f"approve-{j}",
        )
        if j == 1:
            transfer = ledger.request_transfer(
                "county-a-station",
                number=numbers[0],
                to_org="county-b-station",
                idempotency_key="move",
            ).value.transfer_id
            ledger.accept_transfer(
                "county-b-station",
                number=numbers[0],
                transfer_id=transfer,
                idempotency_key="accept",
            )
    return numbers


def test_top_volunteers_in_a_county_this_year() -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        numbers = two_county_city(ledger)
        replay = Replay.of(ledger)
        views = ledger.projections()
        views.catch_up()
        q = ViewQueries(views.database)
        for org in ("city", "county-a", "county-b", "county-a-station"):
            for year in (None, "2024", "2025", "2026"):
                shown = [
                    (item["number"], item["approved_minutes"])
                    for page in all_pages(
                        lambda c, org=org, year=year: q.top_volunteers(
                            limit=2, cursor=c, year=year, under_org=org
                        )
                    )
                    for item in page
                ]
                assert shown == county_ranking(ledger, replay, org, year), (org, year)
        # the volunteer who moved keeps county A's hours in county A's board
        in_a_2024 = q.top_volunteers(year="2024", under_org="county-a")["items"]
        assert {"number": numbers[0], "approved_minutes": 60} in in_a_2024
        assert numbers[6] not in {i["number"] for i in q.top_volunteers(limit=500)["items"]}
        views.close()
