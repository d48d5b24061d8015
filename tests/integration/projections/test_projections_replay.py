"""Every view equals the same figure computed by replaying the events directly, on all three
stores: volunteer balances, organisation figures (own and rolled up the tree), time-bank
balances (which sum to zero with the issuing accounts) and city statistics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from projections_support import (
    KINDS,
    Demo,
    Replay,
    all_pages,
    assert_views_match_replay,
    demo_ledgers,
    expected_figures,
    expected_statistics,
    viewed_statistics,
    views_url_for,
)

from ledger import Ledger, MemoryKeystore, NotFoundError
from ledger.projections import ViewQueries

__all__ = ["demo_ledgers", "views_url_for"]  # fixtures used here


@pytest.fixture(params=KINDS)
def demo(request: pytest.FixtureRequest, demo_ledgers: Callable[[str], Demo]) -> Demo:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return demo_ledgers(request.param)


def test_every_view_equals_the_replayed_figure(
    demo: Demo, views_url_for: Callable[[str], str]
) -> None:
    """Views in a database of their own of the same kind, caught up from empty, with
    signatures verified on the way in."""
    views = demo.views(views_url_for(demo.kind))
    try:
        assert views.catch_up() > 0
        assert views.position() == demo.replay_position()
        assert_views_match_replay(demo.ledger, views, demo.replay)
    finally:
        views.close()


def test_views_in_the_ledgers_own_database_equal_the_replayed_figures(demo: Demo) -> None:
    views = demo.views(None, verify=False)
    try:
        views.catch_up()
        assert_views_match_replay(demo.ledger, views, demo.replay)
    finally:
        views.close()


def test_city_statistics_for_a_period_equal_the_replayed_figures(
    demo: Demo, views_url_for: Callable[[str], str]
) -> None:
    views = demo.views(views_url_for(demo.kind), verify=False)
    try:
        views.catch_up()
        queries = ViewQueries(views.database)
        whole = viewed_statistics(queries)
        expected = expected_figures(demo.ledger, demo.replay)
        assert whole["approved_minutes"] == sum(
            v["approved_minutes"] for v in expected.volunteers.values()
        )
        assert sum(whole["minutes_by_field"].values()) == whole["approved_minutes"]
        assert whole["registered_volunteers"] == len(demo.replay.volunteers)
        for start, end in (("2025-03", "2025-06"), ("2025-07", "2025-07"), ("2024-01", "2024-12")):
            shown = viewed_statistics(queries, start, end)
            assert shown == expected_statistics(demo.ledger, demo.replay, start, end)
        assert viewed_statistics(queries, "2024-01", "2024-12")["approved_minutes"] == 0
    finally:
        views.close()


def test_leaderboards_equal_the_replayed_rankings(
    demo: Demo, views_url_for: Callable[[str], str]
) -> None:
    views = demo.views(views_url_for(demo.kind), verify=False)
    try:
        views.catch_up()
        queries = ViewQueries(views.database)
        expected = expected_figures(demo.ledger, demo.replay)
        balances = {n: v["approved_minutes"] for n, v in expected.volunteers.items()}
        ranked = sorted(((-m, n) for n, m in balances.items() if m > 0))
        shown = [
            (-item["approved_minutes"], item["number"])
            for page in all_pages(lambda c: queries.top_volunteers(limit=500, cursor=c))
            for item in page
        ]
        assert shown == ranked
        rolled = {
            org: queries.organisation(org)["rolled_up"]["approved_minutes"]
            for org in demo.replay.organisations
        }
        assert rolled[demo.made["city"].root] == sum(balances.values())
        shown_orgs = [
            (item["org_id"], item["approved_minutes"])
            for page in all_pages(lambda c: queries.organisations_by_minutes(limit=500, cursor=c))
            for item in page
        ]
        assert shown_orgs == sorted(rolled.items(), key=lambda kv: (-kv[1], kv[0]))
        stations = queries.organisations_by_minutes(limit=500, kind="station")["items"]
        assert {s["org_id"] for s in stations} == {
            o for o, info in demo.replay.organisations.items() if info["kind"] == "station"
        }
    finally:
        views.close()


def test_an_unknown_volunteer_or_organisation_is_not_found(demo: Demo) -> None:
    views = demo.views(None, verify=False)
    try:
        views.catch_up()
        queries = ViewQueries(views.database)
        with pytest.raises(NotFoundError):
            queries.volunteer("VAAAAAAAAAAAAA")
        with pytest.raises(NotFoundError):
            queries.organisation("nobody")
        with pytest.raises(NotFoundError):
            queries.account("changzhi-bank:vol:VAAAAAAAAAAAAA")
    finally:
        views.close()


# A cancelled activity was not held


def _small_city(ledger: Ledger) -> str:
    ledger.create(
        name="Cancellation city",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.test.example/log",
    )
    ledger.register_organisation(
        "city",
        org_id="org-a",
        name="Organisation A",
        kind="station",
        region="140402",
        idempotency_key="org-a",
    )
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key")
    return "org-a"


def test_a_cancelled_activity_is_not_counted_as_held() -> None:
    """The issue's organisation figures count "activities held" and "people served"; the city
    statistics count activities as the source article does (activities held, people served).
    An activity cancelled before it took place was not held and served nobody."""
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        org = _small_city(ledger)
        start = datetime(2025, 4, 1, 9, tzinfo=UTC)
        ids = []
        for i, served in enumerate((30, 50)):
            result = ledger.publish_activity(
                org,
                title=f"Activity {i}",
                field="legal-aid",
                place="hall",
                starts_at=start + timedelta(days=i),
                ends_at=start + timedelta(days=i, hours=2),
                leader="leader",
                content="legal aid",
                people_served=served,
                idempotency_key=f"activity-{i}",
                occurred_at=start - timedelta(days=5),
            )
            ids.append(result.value.activity_id)
        ledger.cancel_activity(
            org, activity_id=ids[1], reason="storm warning", idempotency_key="cancel"
        )
        replay = Replay.of(ledger)
        assert [a["cancelled"] for a in replay.activities.values()] == [False, True]
        views = ledger.projections()
        views.catch_up()
        queries = ViewQueries(views.database)
        own = queries.organisation(org)["organisation"]
        statistics = queries.city_statistics()
        views.close()
    assert (own["activities"], own["people_served"]) == (1, 30)
    assert (statistics["activities"], statistics["people_served"]) == (1, 30)


def test_the_demo_city_exercises_every_kind_of_figure(demo_ledgers: Callable[[str], Demo]) -> None:
    """The comparisons above are only as good as the history: make sure it has corrections,
    voids, rejections, transfers, honours, stars and credit movements."""
    replay = demo_ledgers("memory").replay
    for event_type in (
        "RecordApproved",
        "RecordRejected",
        "RecordCorrected",
        "RecordVoided",
        "TransferAccepted",
        "TransferDeclined",
        "HonourGranted",
        "StarAttained",
        "CreditEarned",
        "CreditSent",
        "CreditReceived",
    ):
        assert replay.types[event_type] > 0, event_type
    assert len(replay.volunteers) == 40
