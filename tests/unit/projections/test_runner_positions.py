"""The views' positions: a rebuild that fails part-way leaves the views as they were, and a
tracking row of a view this version does not keep holds nothing back. Either, before, made
``catch_up`` read the same first batch for ever, holding the runner's lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from ledger_testing import create_city

from ledger import Ledger, MemoryKeystore
from ledger.errors import StoreUnavailableError
from ledger.projections import Projections
from ledger.projections.base import View
from ledger.projections.runner import VIEWS

WAIT = 5.0


@pytest.fixture
def views() -> Iterator[Projections]:
    ledger = Ledger("memory://", keystore=MemoryKeystore())
    create_city(ledger)
    projections = ledger.projections(verify=False)
    projections.catch_up()
    try:
        yield projections
    finally:
        projections.close()
        ledger.close()


def returns_in_time(call: Callable[[], object], unstick: Callable[[], None]) -> bool:
    """Whether ``call`` returns within WAIT seconds in a thread; ``unstick`` then lets a call
    that did not end, so that no spinning thread is left behind."""
    done = threading.Event()

    def run() -> None:
        try:
            call()
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    returned = done.wait(WAIT)
    if not returned:
        unstick()
        thread.join(WAIT)
    return returned


def test_a_rebuild_that_fails_making_the_tables_again_leaves_the_views_as_they_were(
    views: Projections, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection is lost while the last view's tables are made again: nothing of the
    rebuild is applied, and catching up goes on from the positions the views had."""
    positions, digests = views.positions(), views.digest()
    make = View.create
    last = list(VIEWS.values())[-1]

    def lost_at_the_last(view: View, cursor: object, **kwargs: bool) -> None:
        if view is last:
            raise StoreUnavailableError("the views database failed (simulated); retry")
        make(view, cursor, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(View, "create", lost_at_the_last)
    with pytest.raises(StoreUnavailableError):
        views.rebuild()
    monkeypatch.setattr(View, "create", make)

    assert views.positions() == positions
    assert views.digest() == digests
    assert returns_in_time(views.catch_up, unstick=views.create_tables)
    views.rebuild()
    assert views.digest() == digests


def test_a_tracking_row_of_a_view_this_version_does_not_keep_holds_nothing_back(
    views: Projections,
) -> None:
    """A row for a view an upgrade retired stays at 0 for ever: it is not a position."""
    reached = views.position()
    with views.database.transaction() as cursor:
        cursor.execute("INSERT INTO view_tracking (view, position) VALUES ('retired_view', 0)")

    def unstick() -> None:
        with views.database.transaction() as cursor:
            cursor.execute("DELETE FROM view_tracking WHERE view = 'retired_view'")

    assert returns_in_time(views.catch_up, unstick=unstick)
    assert views.position() == reached > 0
    assert set(views.positions()) == set(VIEWS)
