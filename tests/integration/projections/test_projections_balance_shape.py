"""The two balance reads, ``Ledger.volunteer_balance`` (replayed from the signed events) and
``ViewQueries.volunteer`` (read from the views), return one shape, and equal balances for every
volunteer once the views have caught up: on the demo city and on a small city with approvals,
rejections, corrections, voids, a late record, a city and a district star scheme (one revised,
so the level due differs from the level issued) and honours, on SQLite and PostgreSQL.

One case is excluded on purpose: the views do not apply ``ServiceCarriedIn``, so after a
transfer-in from a peer ledger the library's balance includes the carried minutes and the
views' does not (docs/projections.md, "Limits")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from federation_support import make_city, pin_each_other
from ledger_testing import create_city
from projections_support import KINDS, Demo, demo_ledgers

from ledger import Ledger, MemoryKeystore, NotFoundError
from ledger.balances import HonourStanding, StarStanding, VolunteerBalance
from ledger.projections import Projections, ViewQueries

__all__ = ["demo_ledgers"]  # fixture used here

FRIDAY = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)
UNREGISTERED = "VAAAAAAAAAAAAA"


def assert_one_shape(balance: VolunteerBalance) -> None:
    assert set(balance) == set(VolunteerBalance.__required_keys__)
    for standing in balance["stars"].values():
        assert set(standing) == set(StarStanding.__required_keys__)
    for honour in balance["honours"]:
        assert set(honour) == set(HonourStanding.__required_keys__)


def assert_balances_equal(ledger: Ledger, views: Projections, numbers: list[str]) -> None:
    queries = ViewQueries(views.database)
    for number in numbers:
        replayed = ledger.volunteer_balance(number)
        assert_one_shape(replayed)
        assert queries.volunteer(number) == replayed, number


def registered_numbers(views: Projections) -> list[str]:
    return [r[0] for r in views.database.query("SELECT number FROM view_volunteers ORDER BY 1")]


@pytest.mark.parametrize(
    "kind", [k if k != "postgresql" else pytest.param(k, marks=pytest.mark.postgres) for k in KINDS]
)
def test_the_demo_citys_balances_are_equal_from_the_events_and_the_views(
    kind: str, demo_ledgers: Callable[[str], Demo]
) -> None:
    demo = demo_ledgers(kind)
    views = demo.views(None, verify=False)
    try:
        views.catch_up()
        numbers = registered_numbers(views)
        assert numbers == demo.replay.volunteers
        assert_balances_equal(demo.ledger, views, numbers)
        stars = [demo.ledger.volunteer_balance(n)["stars"] for n in numbers]
        assert any(s["level"] for each in stars for s in each.values())  # stars were issued
    finally:
        views.close()


# A small city built for the comparison


def _activity(ledger: Ledger, org: str, key: str, day: int) -> tuple[str, datetime]:
    starts = FRIDAY + timedelta(days=day)
    activity = ledger.publish_activity(
        org,
        title=f"Service {key}",
        field="legal-aid" if day % 2 else "community-service",
        place="Community hall",
        starts_at=starts,
        ends_at=starts + timedelta(hours=4),
        leader="leader-1",
        content="service to residents",
        idempotency_key=key,
        occurred_at=starts - timedelta(days=3),
    )
    return str(activity.value.activity_id), starts + timedelta(hours=4)


def _record(
    ledger: Ledger, org: str, number: str, minutes: int, day: int, *, late: bool = False
) -> str:
    key = f"{number}-{org}-{day}"
    activity, ends = _activity(ledger, org, f"activity-{key}", day)
    made = ledger.record_hours(
        org,
        activity_id=activity,
        number=number,
        minutes=minutes,
        idempotency_key=f"record-{key}",
        occurred_at=ends + timedelta(days=40 if late else 1),
    )
    return str(made.value.record_id)


def build_small_city(ledger: Ledger) -> list[str]:
    """The city of ``create_city`` with a station below org-a, a city scheme (revised) and an
    org-a scheme, and four volunteers: records approved in part, rejected, corrected, voided
    and late; eleven honours (one revoked) for one volunteer; one volunteer with no records."""
    first = create_city(ledger)["number"]
    ledger.add_service_field("city", field="community-service", idempotency_key="field")
    ledger.register_organisation(
        "org-a", org_id="station-a", name="Station A", kind="station", region="140402",
        idempotency_key="station-a",
    )  # fmt: skip
    ledger.new_key("org-a", for_org="station-a", idempotency_key="station-a-key")
    for org in ("city", "org-a"):
        ledger.new_key(
            "city", for_org=org, idempotency_key=f"{org}-auto", purpose="automatic-awards"
        )
    ledger.publish_star_scheme(
        "city", scheme_id="city-stars", name="City stars", thresholds_hours=[1, 3, 5],
        idempotency_key="city-stars",
    )  # fmt: skip
    ledger.publish_star_scheme(
        "org-a", scheme_id="org-a-stars", name="Org A stars", thresholds_hours=[2, 4],
        idempotency_key="org-a-stars",
    )  # fmt: skip
    second = str(ledger.register_volunteer("org-b", idempotency_key="vol-2").value.number)
    third = str(ledger.register_volunteer("station-a", idempotency_key="vol-3").value.number)
    idle = str(ledger.register_volunteer("org-b", idempotency_key="vol-4").value.number)

    def approve(org: str, record_id: str, minutes: int | None = None) -> None:
        ledger.approve_record(
            org, record_id=record_id, approved_minutes=minutes,
            reason="left early" if minutes else None, idempotency_key=f"approve-{record_id}",
        )  # fmt: skip

    # the first volunteer: org-a and its station (both counted by org-a's scheme) and org-b
    approve("org-a", _record(ledger, "org-a", first, 180, 0))
    approve("station-a", _record(ledger, "station-a", first, 120, 1), 100)
    corrected = _record(ledger, "org-b", first, 150, 2, late=True)
    approve("org-b", corrected)
    ledger.correct_record(
        "org-b", record_id=corrected, delta_minutes=-30, reason="left early",
        idempotency_key="correct-1",
    )  # fmt: skip
    rejected = _record(ledger, "org-a", first, 60, 3)
    ledger.reject_record("org-a", record_id=rejected, reason="not signed", idempotency_key="rej")
    _record(ledger, "org-a", first, 45, 4)  # waits for review
    # the second: org-b only (org-a's scheme counts none of it); one record voided by the city
    approve("org-b", _record(ledger, "org-b", second, 200, 5))
    voided = _record(ledger, "org-b", second, 90, 6)
    approve("org-b", voided)
    ledger.void_record("city", record_id=voided, grounds="no service", idempotency_key="void")
    # the third: the station, enough for a star under both schemes
    approve("station-a", _record(ledger, "station-a", third, 240, 7))
    # the city scheme is revised: levels already issued stay until the next change of minutes
    ledger.revise_star_scheme(
        "city", scheme_id="city-stars", name="City stars", thresholds_hours=[2, 6, 9],
        idempotency_key="revise",
    )  # fmt: skip
    for i in range(11):  # honour ids H1..H11: the order of grants is not the order of the ids
        ledger.grant_honour(
            "city", recipient_kind="volunteer", recipient=first, honour=f"Honour {i + 1}",
            citation="steady service", granted_on=date(2025, 6, 1) + timedelta(days=i),
            idempotency_key=f"honour-{i}",
        )  # fmt: skip
    ledger.revoke_honour(
        "city", recipient_kind="volunteer", recipient=first, honour_id=f"{first}-H2",
        reason="granted in error", idempotency_key="revoke",
    )  # fmt: skip
    return sorted([first, second, third, idle])


def test_a_small_citys_balances_are_equal_from_the_events_and_the_views(store_url: str) -> None:
    with Ledger(store_url, keystore=MemoryKeystore()) as ledger:
        numbers = build_small_city(ledger)
        views = ledger.projections()
        try:
            views.catch_up()
            assert registered_numbers(views) == numbers
            assert_balances_equal(ledger, views, numbers)
        finally:
            views.close()
        balances = {n: ledger.volunteer_balance(n) for n in numbers}
    # what the comparison covers is not vacuous
    everything = list(balances.values())
    assert {b["records"] for b in everything} >= {0, 5}
    assert any(b["late_records"] for b in everything)
    assert any(b["approved_records"] < b["records"] for b in everything)
    levels = [(s["level"], s["due_level"]) for b in everything for s in b["stars"].values()]
    assert any(level != due for level, due in levels)  # the revision moved what is due
    assert any(level == due > 0 for level, due in levels)
    due = [{k: s["due_level"] for k, s in b["stars"].items()} for b in everything]
    assert any(d["city-stars"] > 0 and d["org-a-stars"] == 0 for d in due)  # org-b's minutes
    honoured = max(everything, key=lambda b: len(b["honours"]))
    ids = [h["honour_id"] for h in honoured["honours"]]
    assert ids == [f"{honoured['number']}-H{i}" for i in range(1, 12)]
    assert [h["revoked"] for h in honoured["honours"]].count(True) == 1


def test_an_unregistered_number_is_not_found_by_either_read(store_url: str) -> None:
    with Ledger(store_url, keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        views = ledger.projections()
        try:
            views.catch_up()
            with pytest.raises(NotFoundError):
                ledger.volunteer_balance(UNREGISTERED)
            with pytest.raises(NotFoundError):
                ViewQueries(views.database).volunteer(UNREGISTERED)
        finally:
            views.close()


def test_minutes_carried_in_from_a_peer_ledger_are_in_the_replayed_balance_only() -> None:
    """The documented limit: the views ignore ``ServiceCarriedIn``. The carried record is in
    the library's balance (minutes, records, stars due) and not in the views'; everything
    recorded in this ledger afterwards is in both."""
    alpha, beta = make_city("memory://", "alpha"), make_city("memory://", "beta")
    try:
        pin_each_other([alpha, beta])
        beta.ledger.new_key(
            "beta", for_org="beta", idempotency_key="auto", purpose="automatic-awards"
        )
        beta.ledger.publish_star_scheme(
            "beta", scheme_id="beta-stars", name="Beta stars", thresholds_hours=[3, 5],
            idempotency_key="stars",
        )  # fmt: skip
        leaving = alpha.volunteer()
        alpha.approved(leaving, 120)
        alpha.approved(leaving, 90, day=2)
        out = alpha.ledger.transfer_out(
            "org-a", number=leaving, to_origin=beta.origin, idempotency_key="out"
        )
        newcomer = beta.volunteer()
        beta.ledger.transfer_in(
            "org-a",
            number=newcomer,
            package=alpha.package(out.value.transfer_id),
            idempotency_key="in",
        )
        beta.approved(newcomer, 60, day=5)
        views = beta.ledger.projections()
        try:
            views.catch_up()
            replayed = beta.ledger.volunteer_balance(newcomer)
            viewed = ViewQueries(views.database).volunteer(newcomer)
        finally:
            views.close()
        assert (replayed["approved_minutes"], replayed["records"]) == (270, 2)
        assert replayed["by_field"] == {"carried-over": 210, "community-service": 60}
        assert replayed["stars"]["beta-stars"] == {"level": 1, "due_level": 1, "scheme_version": 1}
        assert viewed == {
            **replayed,
            "approved_minutes": 60,
            "approved_records": 1,
            "records": 1,
            "by_field": {"community-service": 60},
            "by_year": {"2026": 60},
            "by_recording_org": {"org-a": 60},
            "stars": {"beta-stars": {"level": 1, "due_level": 0, "scheme_version": 1}},
        }
    finally:
        alpha.ledger.close()
        beta.ledger.close()
