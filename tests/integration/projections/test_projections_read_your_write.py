"""Read your own write: after a command, wait until the views have reached the command's
position (with a timeout), then the views show it; with a background runner or without."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from ledger import Ledger, MemoryKeystore
from ledger.projections import VIEWS, ViewQueries
from ledger.projections.base import ProjectedEvent
from ledger.projections.database import ViewCursor

FRIDAY = datetime(2025, 3, 7, 9, 0, 0, tzinfo=UTC)


def publish(ledger: Ledger, key: str) -> str:
    result = ledger.publish_activity(
        "org-a",
        title="Legal aid morning",
        field="legal-aid",
        place="Community hall",
        starts_at=FRIDAY,
        ends_at=FRIDAY + timedelta(hours=3),
        leader="leader-1",
        content="free legal advice",
        people_served=25,
        idempotency_key=key,
        occurred_at=FRIDAY - timedelta(days=3),
    )
    return str(result.value.activity_id)


def runner_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "ledger-projections")


def test_a_background_runner_shows_each_write_once_waited_for(
    city: tuple[Ledger, dict[str, str]],
) -> None:
    ledger, made = city
    number = made["number"]
    views = ledger.projections()
    queries = ViewQueries(views.database)
    before = runner_threads()
    views.start(interval=0.05)
    views.start(interval=0.05)  # starting again is harmless
    assert runner_threads() == before + 1
    try:
        activity = publish(ledger, "activity-1")
        recorded = ledger.record_hours(
            "org-a",
            activity_id=activity,
            number=number,
            minutes=150,
            idempotency_key="record-1",
            occurred_at=FRIDAY + timedelta(days=1),
        )
        views.wait_for(recorded.events[-1].notification_id, timeout=10)
        shown = queries.volunteer(number)
        assert (shown["records"], shown["approved_minutes"]) == (1, 0)
        assert queries.organisation("org-a")["organisation"]["activities"] == 1

        approved = ledger.approve_record(
            "org-a",
            record_id=recorded.value.record_id,
            approved_minutes=120,
            reason="left early",
            idempotency_key="approve-1",
        )
        views.wait_for(approved.events[-1].notification_id, timeout=10)
        shown = queries.volunteer(number)
        assert (shown["approved_minutes"], shown["by_field"]) == (120, {"legal-aid": 120})
        assert queries.organisation("org-a")["organisation"]["approved_minutes"] == 120
        assert queries.top_volunteers()["items"] == [{"number": number, "approved_minutes": 120}]
        assert views.position() >= approved.events[-1].notification_id
    finally:
        views.stop()
        views.close()
    assert runner_threads() == before


def test_without_a_runner_waiting_catches_up_by_itself(
    city: tuple[Ledger, dict[str, str]],
) -> None:
    ledger, _ = city
    views = ledger.projections()
    try:
        result = ledger.register_volunteer("org-b", idempotency_key="vol-2")
        views.wait_for(result.events[-1].notification_id, timeout=5)
        number = result.value.number
        shown = ViewQueries(views.database).volunteer(number)
        assert shown == ledger.volunteer_balance(number)
        assert (shown["number"], shown["records"]) == (number, 0)
        assert views.position() == result.events[-1].notification_id
    finally:
        views.close()


def test_a_stopped_runner_applies_nothing_more(city: tuple[Ledger, dict[str, str]]) -> None:
    ledger, _ = city
    views = ledger.projections()
    try:
        views.start(interval=0.02)
        first = ledger.register_volunteer("org-a", idempotency_key="vol-2")
        views.wait_for(first.events[-1].notification_id, timeout=10)
        views.stop()
        second = ledger.register_volunteer("org-a", idempotency_key="vol-3")
        time.sleep(0.2)
        assert views.position() == first.events[-1].notification_id
        assert views.catch_up() == 1
        assert views.position() == second.events[-1].notification_id
    finally:
        views.close()


def test_waiting_for_a_position_never_written_times_out(
    city: tuple[Ledger, dict[str, str]],
) -> None:
    ledger, _ = city
    views = ledger.projections()
    views.start(interval=0.02)
    try:
        target = int(ledger._recorder.max_notification_id() or 0) + 1000
        started = time.monotonic()
        try:
            views.wait_for(target, timeout=0.3)
        except TimeoutError as error:
            assert str(target) in str(error)
        else:
            raise AssertionError("wait_for returned for a position never written")
        assert time.monotonic() - started < 3
    finally:
        views.stop()
        views.close()


def test_waiting_without_a_runner_for_a_position_never_written_times_out() -> None:
    """The timeout holds whether or not a background runner was started."""
    ledger = Ledger("memory://", keystore=MemoryKeystore())
    ledger.create(
        name="Waiting city",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.test.example/log",
    )
    views = ledger.projections()
    target = int(ledger._recorder.max_notification_id() or 0) + 1000
    outcome: list[BaseException | None] = []

    def wait() -> None:
        try:
            views.wait_for(target, timeout=0.3)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(timeout=3)
    hung = waiter.is_alive()
    views.close()  # ends a waiter that never looks at its deadline (its next query fails)
    waiter.join(timeout=5)
    ledger.close()
    assert not hung, "wait_for(timeout=0.3) without a runner was still waiting after 3 s"
    assert outcome and isinstance(outcome[0], TimeoutError)


def test_the_background_runner_survives_a_passing_failure(
    city: tuple[Ledger, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while applying (the views database away for a moment) rolls the batch back;
    once it has passed, a started runner (started again if need be) brings the views up to
    date rather than leaving them behind for good."""
    ledger, _ = city
    views = ledger.projections()
    views.catch_up()
    handler = VIEWS["organisations"].handlers["OrganisationRegistered"]
    failures: list[int] = []

    def failing_once(cursor: ViewCursor, event: ProjectedEvent) -> None:
        if not failures:
            failures.append(event.position)
            raise ConnectionError("the views database went away for a moment")
        handler(cursor, event)

    monkeypatch.setitem(VIEWS["organisations"].handlers, "OrganisationRegistered", failing_once)
    monkeypatch.setattr(threading, "excepthook", lambda args: None)  # keep the output quiet
    views.start(interval=0.02)
    try:
        result = ledger.register_organisation(
            "city",
            org_id="org-c",
            name="Organisation C",
            kind="organisation",
            region="140404",
            idempotency_key="org-c",
        )
        deadline = time.monotonic() + 5
        while not failures and time.monotonic() < deadline:
            time.sleep(0.02)
        assert failures, "the failure was never met"
        views.start(interval=0.02)  # harmless if the runner is still running
        views.wait_for(result.events[-1].notification_id, timeout=5)
        shown = ViewQueries(views.database).organisation("org-c")["organisation"]
        assert shown["parent"] == "city"
    finally:
        views.stop()
        views.close()
