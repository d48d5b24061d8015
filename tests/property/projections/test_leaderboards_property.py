"""The maintained leaderboards (``view_rank_*``, updated by the projection handlers) equal a
from-scratch recomputation for any generated history (registrations, rosters, approvals,
rejections, corrections, voids, transfers, ...), read page by page through the cursor, with the
views in SQLite and in PostgreSQL; and they agree with the ``GROUP BY`` over all volunteers that
the leaderboards used to run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projections_property_support import HISTORY, Replay, World, _shared_support

from ledger import Ledger, MemoryKeystore
from ledger.projections import Projections, ViewQueries

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KINDS = ("organisation", "station", "team", "federation")


@contextmanager
def views_on(ledger: Ledger, kind: str) -> Iterator[Projections]:
    if kind == "sqlite":
        views = ledger.projections(verify=False)
        try:
            yield views
        finally:
            views.close()
        return
    with _shared_support().new_pg_schema() as url:
        views = ledger.projections(url, verify=False)
        try:
            yield views
        finally:
            views.close()


def every_page(read: Any, limit: int, **filters: Any) -> list[tuple[str, int]]:
    rows, cursor = [], None
    while True:
        page = read(limit=limit, cursor=cursor, **filters)
        rows += [(next(iter(item.values())), item["approved_minutes"]) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def credited_records(ledger: Ledger, replay: Replay) -> list[tuple[str, str, str, int]]:
    """(number, recording organisation, year, credited minutes) of every record, from the
    library's own replay of each volunteer's events (not from the views)."""
    found = []
    for number in replay.volunteers:
        for record in ledger.service_account(number).records.values():
            found.append(
                (number, record.recording_org, record.service_date[:4], record.credited_minutes)
            )
    return found


def ranked(totals: dict[str, int], *, positive: bool) -> list[tuple[str, int]]:
    rows = [(key, minutes) for key, minutes in totals.items() if minutes > 0 or not positive]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def grouped_top_volunteers(
    queries: ViewQueries, year: str | None, under_org: str | None
) -> list[tuple[str, int]]:
    """The leaderboard recomputed by SQL from the per (volunteer, organisation, year) rows."""
    join, where, params = "", "1 = 1", []
    if under_org is not None:
        join = "JOIN view_org_tree t ON t.org_id = v.org_id AND t.ancestor_id = ?"
        params.append(under_org)
    if year is not None:
        where = "v.year = ?"
        params.append(year)
    rows = queries.db.query(
        f"SELECT v.number, SUM(v.minutes) FROM view_volunteer_org_years v {join} WHERE {where} "
        "GROUP BY v.number HAVING SUM(v.minutes) > 0 ORDER BY SUM(v.minutes) DESC, v.number",
        params,
    )
    return [(n, int(m)) for n, m in rows]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
@SETTINGS
@given(history=HISTORY, limit=st.integers(1, 4))
def test_maintained_leaderboards_equal_a_recomputation(
    store: str, history: list[tuple[Any, ...]], limit: int
) -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        world = World.create(ledger)
        with views_on(ledger, store) as live:
            world.play(history, live)
            live.catch_up()
            replay = Replay.of(ledger)
            records = credited_records(ledger, replay)
            queries = ViewQueries(live.database)
            years = [*sorted({year for _, _, year, _ in records}), "1999"]
            scopes = [*sorted(replay.organisations), "no-such-org"]
            subtree = {org: replay.subtree(org) for org in replay.organisations}
            for year in [None, *years]:
                for scope in [None, *scopes]:
                    totals: dict[str, int] = defaultdict(int)
                    for number, org, in_year, minutes in records:
                        if (year is None or in_year == year) and (
                            scope is None or org in subtree.get(scope, set())
                        ):
                            totals[number] += minutes
                    expected = ranked(totals, positive=True)
                    shown = every_page(queries.top_volunteers, limit, year=year, under_org=scope)
                    assert shown == expected, (year, scope)
                    assert grouped_top_volunteers(queries, year, scope) == expected
            rolled = {
                org: sum(m for _, recorder, _, m in records if recorder in subtree[org])
                for org in replay.organisations
            }
            assert every_page(queries.organisations_by_minutes, limit) == ranked(
                rolled, positive=False
            )
            for kind in KINDS:
                of_kind = {
                    org: minutes
                    for org, minutes in rolled.items()
                    if replay.organisations[org]["kind"] == kind
                }
                shown = every_page(queries.organisations_by_minutes, limit, kind=kind)
                assert shown == ranked(of_kind, positive=False)
            digest = live.digest()["leaderboards"]
            live.rebuild(["leaderboards"])
            assert live.digest()["leaderboards"] == digest
