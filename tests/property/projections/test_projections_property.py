"""For random histories (registrations, activities and cancellations, rosters, approvals,
rejections, corrections, voids, memberships and transfers, honours, credit donations and
reversals): every view equals the same figure computed by replaying the events directly;
rebuild equals live; and processing in batches of any size gives the same digest."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projections_property_support import (
    HISTORY,
    Replay,
    World,
    assert_views_match_replay,
)

from ledger import Ledger, MemoryKeystore

SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(history=HISTORY)
def test_every_view_equals_the_replayed_figures_for_any_history(
    history: list[tuple[Any, ...]],
) -> None:
    """The views are kept live (caught up at random points, in random batch sizes) while the
    history is written, then compared with the replayed figures."""
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        world = World.create(ledger)
        live = ledger.projections(verify=False)
        world.play(history, live)
        live.catch_up()
        assert_views_match_replay(ledger, live, Replay.of(ledger))
        live.close()


@SETTINGS
@given(
    history=HISTORY,
    batches=st.lists(st.integers(1, 70), min_size=1, max_size=3),
)
def test_rebuild_equals_live_and_batch_size_does_not_matter(
    history: list[tuple[Any, ...]], batches: list[int]
) -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        world = World.create(ledger)
        live = ledger.projections()
        world.play(history, live)
        live.catch_up()
        digest = live.digest()
        for batch in batches:
            other = ledger.projections(verify=False)
            assert other.catch_up(batch=batch) > 0
            assert other.digest() == digest, f"batches of {batch} gave another digest"
            other.close()
        live.rebuild()
        assert live.digest() == digest
        for name in ("timebank", "volunteers"):
            live.rebuild([name])
            assert live.digest() == digest
        live.close()
