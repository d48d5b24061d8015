"""[audit] The audit re-applies the rules of time: an operator with the database and an
organisation's own key (from the keystore) who re-signs a record to back-date it before its
activity started, or to clear its late flag, is caught by the replay even after rewriting the
tree and re-signing the checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    SQL_STORES,
    Event,
    demo_copy,
    demo_template,
    describe,
    find_events,
    findings_of,
    kinds,
    rebuild_nodes,
    resign,
    rewrite,
    run_audit,
    set_state,
    sign_current_tree,
)

from ledger import Ledger, SigningKey
from ledger.audit import AuditReport
from ledger.envelope import format_time, parse_time

__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]


@pytest.fixture(params=SQL_STORES)
def demo(
    request: pytest.FixtureRequest,
    demo_copy: Callable[[str], Demo],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Demo:
    monkeypatch.chdir(tmp_path)
    ledger, made = demo_copy(request.param)
    assert run_audit(ledger).clean
    return ledger, made


def _insider_rewrites(
    ledger: Ledger, target: Event, change: Callable[[dict[str, Any]], None]
) -> AuditReport:
    """Edit the record's signed body, re-sign it with its organisation's own key, and cover
    the tracks: rebuild the tree and sign a checkpoint over it, forgetting the old ones."""
    body = target.body
    key = ledger.keystore.get(body["org"], body["key_id"])
    assert isinstance(key, SigningKey)

    def edit(envelope: dict[str, Any]) -> None:
        change(envelope["body"])
        envelope["signature"] = resign(envelope["body"], key)

    set_state(ledger, target.notification_id, rewrite(target.state, edit))
    rebuild_nodes(ledger)
    sign_current_tree(ledger, forget_old=True)
    return run_audit(ledger)


def _activity_start(ledger: Ledger, activity_id: str) -> str:
    return str(ledger.activity(activity_id)["starts_at"])


def test_a_record_back_dated_before_its_activity_started(demo: Demo) -> None:
    ledger, _ = demo
    target = find_events(ledger, lambda e: e.type == "HoursRecorded")[0]
    start = parse_time(_activity_start(ledger, target.body["data"]["activity_id"]))

    def before_the_start(body: dict[str, Any]) -> None:
        body["occurred_at"] = format_time(start.replace(year=start.year - 1))

    report = _insider_rewrites(ledger, target, before_the_start)
    assert kinds(report) == {"rule-violation"}, describe(report)
    [finding] = findings_of(report, "rule-violation")
    assert finding.leaf_index == target.leaf_index and "no hours are recorded" in finding.message


def test_a_late_record_made_to_look_on_time(demo: Demo) -> None:
    ledger, _ = demo
    late = find_events(
        ledger, lambda e: e.type == "HoursRecorded" and e.body["data"]["late"] is True
    )
    assert late, "the demo city has late records"
    target = late[0]

    def on_time(body: dict[str, Any]) -> None:
        body["data"]["late"] = False

    report = _insider_rewrites(ledger, target, on_time)
    # the stored view still counts the record as late, and the demo's published assessments
    # counted it in their late-recording rates: both disagree with the rewritten events
    expected = {"rule-violation", "view-digest-mismatch", "assessment-mismatch"}
    assert kinds(report) == expected, describe(report)
    [finding] = findings_of(report, "rule-violation")
    assert finding.leaf_index == target.leaf_index and "late flag" in finding.message
