"""Each event applied exactly once: applying the same events again changes nothing, a crash in
the middle of a batch rolls the whole batch back (the position does not move) and a later
catch-up ends where a clean run ends; gaps in notification ids are passed over."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from projections_support import KINDS, LOCAL_KINDS, Demo, demo_ledgers, views_url_for

from ledger import Ledger, MemoryKeystore, TamperedEventError, canonical_json
from ledger.demo import build_demo
from ledger.projections import VIEWS, Projections
from ledger.projections.base import ProjectedEvent
from ledger.projections.database import ViewCursor
from ledger.storage.url import parse_store_url

__all__ = ["demo_ledgers", "views_url_for"]  # fixtures used here


@pytest.fixture(params=KINDS)
def demo(request: pytest.FixtureRequest, demo_ledgers: Callable[[str], Demo]) -> Demo:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return demo_ledgers(request.param)


@pytest.fixture
def fresh_views(demo: Demo, views_url_for: Callable[[str], str]) -> Iterator[Callable[[], Any]]:
    """Views of the demo in fresh databases of the demo's kind (closed afterwards)."""
    opened: list[Projections] = []

    def make() -> Projections:
        views = demo.views(views_url_for(demo.kind), verify=False)
        opened.append(views)
        return views

    yield make
    for views in opened:
        views.close()


def notifications(ledger: Ledger, stop: int | None = None) -> list[Any]:
    return list(ledger._recorder.select_notifications(1, 10**6, stop))


def test_catching_up_twice_changes_nothing(demo: Demo, fresh_views: Callable[[], Any]) -> None:
    views = fresh_views()
    assert views.catch_up() == len(notifications(demo.ledger))
    digest, positions = views.digest(), views.positions()
    assert views.catch_up() == 0
    assert views.catch_up(batch=1) == 0
    assert views.digest() == digest
    assert views.positions() == positions == dict.fromkeys(VIEWS, demo.replay_position())


def test_applying_already_applied_events_again_changes_nothing(
    demo: Demo, fresh_views: Callable[[], Any]
) -> None:
    """A batch handed over again (a runner that crashed after committing but before it knew,
    or two runners racing) is skipped event by event against each view's position."""
    views = fresh_views()
    views.catch_up()
    digest, positions = views.digest(), views.positions()
    stored = notifications(demo.ledger)
    for chunk in (stored, stored[:50], stored[-7:], stored[10:11]):
        views._apply_batch(chunk, views.positions())
        assert views.digest() == digest
        assert views.positions() == positions


@pytest.mark.parametrize("demo", LOCAL_KINDS, indirect=True)
def test_overlapping_batches_apply_each_event_once(
    demo: Demo, fresh_views: Callable[[], Any]
) -> None:
    clean = fresh_views()
    clean.catch_up()
    views = fresh_views()
    stored = notifications(demo.ledger)
    middle = len(stored) // 2
    views._apply_batch(stored[:middle], views.positions())
    assert set(views.positions().values()) == {stored[middle - 1].id}
    views._apply_batch(stored[middle // 2 : middle + 40], views.positions())  # overlaps
    assert set(views.positions().values()) == {stored[middle + 39].id}
    views.catch_up(batch=11)
    assert views.digest() == clean.digest()


def test_a_crash_in_the_middle_of_a_batch_loses_nothing(
    demo: Demo, fresh_views: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last view's handler fails part-way through a batch, after the other views have
    applied the batch's earlier events in the same transaction: all of it rolls back."""
    clean = fresh_views()
    clean.catch_up()
    views = fresh_views()
    handler = VIEWS["statistics"].handlers["RecordApproved"]
    calls: list[int] = []

    def crashing(cursor: ViewCursor, event: ProjectedEvent) -> None:
        calls.append(event.position)
        if len(calls) == 25:
            raise RuntimeError("the process died here")
        handler(cursor, event)

    monkeypatch.setitem(VIEWS["statistics"].handlers, "RecordApproved", crashing)
    with pytest.raises(RuntimeError, match="died here"):
        views.catch_up(batch=40)
    crashed_at = calls[-1]
    positions = views.positions()
    assert len(set(positions.values())) == 1, "views of one batch commit together"
    reached = positions["statistics"]
    assert reached < crashed_at, "the failed batch's position was recorded"
    assert reached in [n.id for n in notifications(demo.ledger)[39::40]], "not a batch's end"
    # what is in the views is exactly the events up to ``reached``, each applied once
    upto = fresh_views()
    upto._apply_batch(notifications(demo.ledger, reached), upto.positions())
    assert views.digest() == upto.digest()
    # a later run, without the fault, ends where a clean run ends
    monkeypatch.setitem(VIEWS["statistics"].handlers, "RecordApproved", handler)
    assert views.catch_up(batch=40) == len(notifications(demo.ledger)) - len(
        notifications(demo.ledger, reached)
    )
    assert views.digest() == clean.digest()
    assert views.positions() == clean.positions()


@pytest.mark.parametrize("demo", LOCAL_KINDS, indirect=True)
def test_a_crash_while_reading_events_applies_nothing(
    demo: Demo, fresh_views: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signature check that fails (or any failure before the transaction) leaves the views
    and their positions exactly as they were."""
    clean = fresh_views()
    clean.catch_up()
    fresh = fresh_views()
    verify = demo.ledger._app.signed_mapper.verify_many
    seen: list[int] = []

    def failing(batch: list[Any]) -> Any:
        seen.extend(notification.id for notification in batch)
        if len(seen) >= 60:  # in the second batch
            raise RuntimeError("signature check failed")
        return verify(batch)

    fresh._verify = failing
    with pytest.raises(RuntimeError, match="signature"):
        fresh.catch_up(batch=50)
    assert set(fresh.positions().values()) == {notifications(demo.ledger)[49].id}
    fresh._verify = verify
    fresh.catch_up()
    assert fresh.digest() == clean.digest()


@pytest.mark.postgres
def test_a_gap_in_notification_ids_is_passed_over(postgres_schema: str) -> None:
    """On PostgreSQL a failed insert consumes a notification id: the views neither wait for it
    nor miss the event after it."""
    with Ledger(postgres_schema, keystore=MemoryKeystore()) as ledger:
        ledger.create(
            name="Gap city",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="ledger.test.example/log",
        )
        views = ledger.projections()
        views.catch_up()
        before = ledger._recorder.max_notification_id()
        existing = notifications(ledger)[0]
        duplicate = StoredEvent(
            existing.originator_id, existing.originator_version, existing.topic, existing.state
        )
        with pytest.raises(IntegrityError):
            ledger._recorder.insert_events([duplicate])
        result = ledger.register_organisation(
            "city",
            org_id="org-a",
            name="Organisation A",
            kind="organisation",
            region="140402",
            idempotency_key="org-a",
        )
        after = result.events[-1].notification_id
        assert before is not None and after > before + 1, "no gap was made"
        views.wait_for(after, timeout=5)
        assert views.positions() == dict.fromkeys(VIEWS, after)
        assert views.database.query("SELECT org_id FROM view_organisations ORDER BY org_id") == [
            ("city",),
            ("org-a",),
        ]
        views.close()


def test_a_tampered_event_stops_a_verifying_catch_up_before_its_batch(tmp_path: Path) -> None:
    """With ``verify=True`` an event whose stored bytes were changed behind the ledger's back
    stops the catch-up with nothing of its batch applied; ``verify=False`` applies the stored
    body as it is (which is why its views are checked by the audit)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        build_demo(ledger, volunteers=6, seed=3)
        approval = next(n for n in notifications(ledger) if n.topic.endswith(":RecordApproved"))
        envelope = json.loads(approval.state)
        envelope["body"]["data"]["approved_minutes"] -= 1
        forged = canonical_json(envelope)
        path = parse_store_url(url).path
        assert path is not None
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?", (forged, approval.id)
            )
        checked = ledger.projections(f"sqlite:///{tmp_path / 'checked.db'}", verify=True)
        with pytest.raises(TamperedEventError):
            checked.catch_up(batch=10)
        reached = checked.position()
        assert reached < approval.id
        assert reached in [n.id for n in notifications(ledger)[9::10]] + [0]
        checked.close()
        trusting = ledger.projections(f"sqlite:///{tmp_path / 'trusting.db'}", verify=False)
        assert trusting.catch_up() == len(notifications(ledger))
        trusting.close()
