"""For random histories of records, approvals (some for fewer minutes), rejections, corrections,
voids, honours and revisions of a star scheme, with the views caught up at random points: every
volunteer's balance read from the views equals the balance replayed from the events, and an
unregistered number is not found by either read.

The city has two star schemes: the root's, which counts every record, and the county's, which
counts only its stations' records (team-c's minutes are outside it), so the level due under
each scheme is computed over the scheme owner's part of the organisation tree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projections_property_support import ROOT, World

from ledger import Ledger, MemoryKeystore, NotFoundError
from ledger.projections import ViewQueries

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_small = st.integers(0, 1000)
_record = st.tuples(
    st.just("record"), _small, st.integers(1, 63), st.integers(30, 200), st.integers(1, 25)
)
_approve = st.tuples(st.just("approve"), _small, st.integers(0, 90))
_thresholds = st.lists(st.integers(1, 8), min_size=1, max_size=4, unique=True).map(sorted)
OPERATION = st.one_of(  # records and approvals twice as likely as the rest
    st.tuples(st.just("register"), _small),
    st.tuples(st.just("activity"), _small, st.integers(0, 700), st.integers(0, 60)),
    _record,
    _record,
    _approve,
    _approve,
    st.tuples(st.just("approve_all"), _small),
    st.tuples(st.just("reject"), _small),
    st.tuples(st.just("correct"), _small, st.integers(-200, 60)),
    st.tuples(st.just("void"), _small),
    st.tuples(st.just("honour"), _small),
    st.tuples(st.just("revoke"), _small),
    st.tuples(st.just("revise"), st.booleans(), _thresholds),
    st.tuples(st.just("catch_up"), st.integers(1, 40)),
)
HISTORY = st.lists(OPERATION, min_size=6, max_size=30)


class SchemeWorld(World):
    """The projections' property city with a second star scheme, owned by the county."""

    @classmethod
    def create(cls, ledger: Ledger) -> SchemeWorld:
        world = super().create(ledger)
        assert isinstance(world, SchemeWorld)
        ledger.new_key(
            ROOT, for_org="county", idempotency_key="county-auto", purpose="automatic-awards"
        )
        ledger.publish_star_scheme(
            "county", scheme_id="county", name="County stars", thresholds_hours=[1, 3],
            idempotency_key="county-scheme",
        )  # fmt: skip
        # approved minutes to start from: the team's count for the root's scheme only
        world._record("seed-team", 2, 0b0100, 200, 1)
        world._approve_all("seed-team-approve", 2)
        world._record("seed-station", 0, 0b0001, 100, 1)
        world._approve_all("seed-station-approve", 0)
        return world

    def _revise(self, key: str, county: bool, thresholds: list[int]) -> None:
        owner, scheme_id = ("county", "county") if county else (ROOT, "quick")
        self.ledger.revise_star_scheme(
            owner,
            scheme_id=scheme_id,
            name="Revised stars",
            thresholds_hours=thresholds,
            idempotency_key=key,
        )


@SETTINGS
@given(history=HISTORY)
def test_the_views_balance_equals_the_replayed_balance_for_any_history(
    history: list[tuple[Any, ...]],
) -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        world = SchemeWorld.create(ledger)
        seeded = [ledger.volunteer_balance(n)["stars"] for n in world.volunteers[:3]]
        assert [(s["quick"]["level"], s["county"]["level"]) for s in seeded] == [
            (1, 1),
            (0, 0),
            (2, 0),
        ]
        live = ledger.projections(verify=False)
        try:
            world.play(history, live)
            live.catch_up()
            queries = ViewQueries(live.database)
            for number in world.volunteers:
                replayed = ledger.volunteer_balance(number)
                assert set(replayed["stars"]) == {"quick", "county"}
                assert queries.volunteer(number) == replayed, number
            with pytest.raises(NotFoundError):
                ledger.volunteer_balance("VAAAAAAAAAAAAA")
            with pytest.raises(NotFoundError):
                queries.volunteer("VAAAAAAAAAAAAA")
        finally:
            live.close()
