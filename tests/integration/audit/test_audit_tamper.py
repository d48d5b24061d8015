"""[audit] tamper tests: stored data changed behind the ledger's back, on SQLite and PostgreSQL,
is reported precisely (the right kind, the right leaf and event), with exit code 1, and one run
lists every finding when several tampers are combined.

Each test starts from a demo city (30 volunteers, views caught up, a checkpoint signed over
everything) that audits clean, through ``audit(...)`` and through ``ledger audit``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    SQL_STORES,
    Event,
    cli,
    db_url,
    demo_copy,
    demo_template,
    describe,
    events_table,
    findings_of,
    first_event,
    flip_byte,
    forged_registration,
    kinds,
    leaves_of,
    log_key,
    logged_events,
    nid,
    put_checkpoint,
    query,
    rebuild_nodes,
    resign,
    revoke_a_recording_key,
    rewrite,
    run_audit,
    set_state,
    sign_current_tree,
    sql,
    truncate_log,
)

from ledger import KeyNotAuthorisedError, Ledger, SigningKey
from ledger.canonical import canonical_json
from ledger.envelope import (
    open_envelope,
)
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.merkle import EMPTY_ROOT
from ledger.log.note import NoteSigner
from ledger.projections import VIEWS
from ledger.signing import b64encode

__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]


@pytest.fixture(params=SQL_STORES)
def demo(
    request: pytest.FixtureRequest,
    demo_copy: Callable[[str], Demo],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Demo:
    """A copy of the demo city, which audits clean."""
    monkeypatch.chdir(tmp_path)  # the CLI's default keystore path is relative
    ledger, made = demo_copy(request.param)
    report = run_audit(ledger)
    assert report.clean, describe(report)
    assert report.events_checked == ledger.log_size() == made["log_size"]
    assert report.checkpoints_verified == 1
    assert report.views.startswith(f"{len(VIEWS)} views compared")
    return ledger, made


@pytest.mark.parametrize("kind", SQL_STORES)
def test_the_demo_city_audits_clean(
    kind: str,
    demo_copy: Callable[[str], Demo],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    ledger, made = demo_copy(kind)
    report = run_audit(ledger)
    assert report.clean, describe(report)
    size = made["log_size"]
    assert (report.leaves, report.events_checked, report.first_leaf) == (size, size, 0)
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--quiet")
    assert code == 0, out
    assert "RESULT: clean, no findings" in out
    assert f"events checked       {made['log_size']} " in out


def assert_cli_reports(
    capsys: pytest.CaptureFixture[str], ledger: Ledger, *expected: str
) -> dict[str, Any]:
    """``ledger audit`` exits 1 and prints each expected text; return its JSON report."""
    report_file = Path("report.json").resolve()
    code, out, err = cli(capsys, "audit", "--db", db_url(ledger), "--quiet", "--json", report_file)
    assert code == 1, out + err
    assert "RESULT:" in out and "findings" in out
    for text in expected:
        assert text in out, f"{text!r} not in:\n{out}"
    report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["clean"] is False
    return report


def indexed_leaves(report: Any) -> set[int]:
    return {f.leaf_index for f in report.findings if f.leaf_index is not None}


def test_a_flipped_byte_in_an_event_body(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    event = first_event(ledger, "HoursRecorded")
    # One bit of one character of the volunteer number, inside the signed body.
    offset = event.state.index(event.body["data"]["number"].encode()) + 3
    set_state(ledger, event.notification_id, flip_byte(event.state, offset))

    report = run_audit(ledger)
    found = kinds(report)
    assert {"leaf-hash-mismatch", "signature-invalid", "checkpoint-root-mismatch"} <= found
    assert leaves_of(report, "leaf-hash-mismatch") == {event.leaf_index}
    assert leaves_of(report, "signature-invalid") == {event.leaf_index}
    assert indexed_leaves(report) == {event.leaf_index}, describe(report)
    signature = findings_of(report, "signature-invalid")[0]
    assert signature.event == event.where
    assert "key-not-valid" not in found
    json_report = assert_cli_reports(
        capsys, ledger, f"leaf {event.leaf_index}, event {event.where}", "[signature-invalid]"
    )
    assert json_report["findings_by_kind"]["signature-invalid"] == 1


def test_a_changed_signature(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    event = first_event(ledger, "RecordApproved")
    other = first_event(ledger, "RecordApproved", after=event.leaf_index + 1)
    # A well-formed signature (64 bytes of base64), just not this body's.
    forged = rewrite(
        event.state, lambda env: env.__setitem__("signature", other.envelope["signature"])
    )
    set_state(ledger, event.notification_id, forged)

    report = run_audit(ledger)
    assert kinds(report) == {
        "signature-invalid",
        "leaf-hash-mismatch",
        "checkpoint-root-mismatch",
    }, describe(report)
    assert leaves_of(report, "signature-invalid") == {event.leaf_index}
    assert leaves_of(report, "leaf-hash-mismatch") == {event.leaf_index}
    assert findings_of(report, "signature-invalid")[0].event == event.where
    assert_cli_reports(capsys, ledger, f"[signature-invalid] leaf {event.leaf_index}")

    # An insider who also rewrites the tree and re-signs the checkpoint with the log key still
    # cannot make the organisation's signature verify.
    rebuild_nodes(ledger)
    sign_current_tree(ledger, forget_old=True)
    report = run_audit(ledger)
    assert kinds(report) == {"signature-invalid"}, describe(report)
    assert leaves_of(report, "signature-invalid") == {event.leaf_index}


def _deletable(ledger: Ledger) -> tuple[Event, Event]:
    """A ConsentGiven event whose aggregate has a later event: (the event, the next one)."""
    events = logged_events(ledger)
    for event in events:
        if event.type != "ConsentGiven":
            continue
        for later in events[event.leaf_index + 1 :]:
            if later.aggregate_id == event.aggregate_id:
                return event, later
    raise AssertionError("the demo city has no consent followed by another volunteer event")


def test_a_deleted_event(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    event, following = _deletable(ledger)
    changed = sql(
        ledger,
        f"DELETE FROM {{schema}}.{events_table(ledger)} WHERE {nid(ledger)} = %s",
        (event.notification_id,),
    )
    assert changed == 1

    report = run_audit(ledger)
    assert leaves_of(report, "missing-event") == {event.leaf_index}, describe(report)
    missing = findings_of(report, "missing-event")[0]
    assert "gone" in missing.message
    # The aggregate's next event now follows a gap in its versions. Whether that is reported
    # or put down to the missing leaf, nothing later in the aggregate is: its versions follow
    # one another in the log.
    assert leaves_of(report, "version-sequence") <= {following.leaf_index}, describe(report)
    for sequence in findings_of(report, "version-sequence"):
        assert sequence.event == following.where
        assert f"follows version {event.version - 1}" in sequence.message
    # The stored leaf hash still stands for the event, so the tree and checkpoint are intact.
    assert "checkpoint-root-mismatch" not in kinds(report)
    assert_cli_reports(capsys, ledger, f"[missing-event] leaf {event.leaf_index}")


def test_two_events_swapped(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    first = first_event(ledger, "HoursRecorded")
    second = logged_events(ledger)[first.leaf_index + 1]
    assert second.type == "HoursRecorded" and second.aggregate_id != first.aggregate_id
    set_state(ledger, first.notification_id, second.state)
    set_state(ledger, second.notification_id, first.state)

    report = run_audit(ledger)
    pair = {first.leaf_index, second.leaf_index}
    assert leaves_of(report, "leaf-hash-mismatch") == pair, describe(report)
    assert leaves_of(report, "identity-mismatch") == pair
    assert "checkpoint-root-mismatch" in kinds(report)
    # The second leaf now holds the earlier-recorded event: out of order.
    assert leaves_of(report, "backdated-event") == {second.leaf_index}
    assert "signature-invalid" not in kinds(report)
    assert indexed_leaves(report) == pair
    assert_cli_reports(
        capsys, ledger, f"[identity-mismatch] leaf {first.leaf_index}, event {first.where}"
    )


def test_an_event_signed_by_a_revoked_key_stored_outside_the_log(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    approval, stolen = revoke_a_recording_key(ledger)
    assert run_audit(ledger).clean
    forged = forged_registration(ledger, approval.body["org"], stolen)
    sql(
        ledger,
        f"INSERT INTO {{schema}}.{events_table(ledger)} "
        "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
        (
            forged.originator_id.hex if ledger.store.kind == "sqlite" else forged.originator_id,
            1,
            forged.topic,
            forged.state,
        ),
    )
    inserted = int(
        query(ledger, f"SELECT MAX({nid(ledger)}) FROM {{schema}}.{events_table(ledger)}")[0][0]
    )

    report = run_audit(ledger)
    assert kinds(report) == {"unlogged-event"}, describe(report)
    assert f"notification {inserted} " in report.findings[0].message
    assert_cli_reports(capsys, ledger, f"notification {inserted} is stored with no leaf")


def test_an_event_signed_by_a_revoked_key_given_a_leaf(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    approval, stolen = revoke_a_recording_key(ledger)
    forged = forged_registration(ledger, approval.body["org"], stolen)
    # The library refuses it: a revoked key signs nothing new.
    body, signature, _ = open_envelope(forged.state)
    with pytest.raises(KeyNotAuthorisedError):
        ledger.submit_signed([(canonical_json(body), b64encode(signature))])
    assert body["key_id"] == stolen.key_id
    # Through the library's own recorder: the event gets a leaf and a node like any other.
    ledger._recorder.insert_events([forged])
    leaf = ledger.log_size() - 1
    ledger.log.sign_checkpoint()  # the operator even signs over it

    report = run_audit(ledger)
    assert kinds(report) == {"key-not-valid"}, describe(report)
    finding = report.findings[0]
    assert finding.leaf_index == leaf
    assert finding.event == f"{forged.originator_id} v1"
    assert "revoked" in finding.message
    assert_cli_reports(capsys, ledger, f"[key-not-valid] leaf {leaf}")


def test_a_backdated_event(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    events = logged_events(ledger)
    target, earlier = events[200], events[150]
    assert earlier.envelope["recorded_at"] < events[199].envelope["recorded_at"]
    backdated = rewrite(
        target.state, lambda env: env.__setitem__("recorded_at", earlier.envelope["recorded_at"])
    )
    set_state(ledger, target.notification_id, backdated)

    report = run_audit(ledger)
    assert kinds(report) == {
        "backdated-event",
        "leaf-hash-mismatch",
        "checkpoint-root-mismatch",
    }, describe(report)
    assert leaves_of(report, "backdated-event") == {target.leaf_index}
    assert findings_of(report, "backdated-event")[0].event == target.where
    assert_cli_reports(capsys, ledger, f"[backdated-event] leaf {target.leaf_index}")

    # recorded_at is the ledger's own addition, outside the organisation's signature: an
    # insider who rewrites the tree and re-signs the checkpoint is still caught by the order.
    rebuild_nodes(ledger)
    sign_current_tree(ledger, forget_old=True)
    report = run_audit(ledger)
    assert kinds(report) == {"backdated-event"}, describe(report)
    assert leaves_of(report, "backdated-event") == {target.leaf_index}


def test_changed_minutes_re_signed_with_a_stolen_key_after_its_revocation(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    approval, stolen = revoke_a_recording_key(ledger)
    assert run_audit(ledger).clean
    minutes = approval.body["data"]["approved_minutes"]

    def fewer_minutes(envelope: dict[str, Any]) -> None:
        envelope["body"]["data"]["approved_minutes"] = minutes - 30
        envelope["signature"] = resign(envelope["body"], stolen)

    set_state(ledger, approval.notification_id, rewrite(approval.state, fewer_minutes))

    report = run_audit(ledger)
    found = kinds(report)
    # The signature is genuine and the key was valid at that point of the log: only the log
    # (the stored leaf, the signed checkpoints) and the re-applied rules can tell.
    assert {"leaf-hash-mismatch", "checkpoint-root-mismatch"} <= found, describe(report)
    assert leaves_of(report, "leaf-hash-mismatch") == {approval.leaf_index}
    assert approval.leaf_index not in leaves_of(report, "signature-invalid")
    assert approval.leaf_index not in leaves_of(report, "key-not-valid")
    assert len(findings_of(report, "checkpoint-root-mismatch")) == 2  # before and after revoking
    assert_cli_reports(capsys, ledger, f"[leaf-hash-mismatch] leaf {approval.leaf_index}")

    # With the tree rewritten to match, the signed checkpoints still disagree.
    rebuild_nodes(ledger)
    report = run_audit(ledger)
    assert "checkpoint-root-mismatch" in kinds(report), describe(report)
    assert "leaf-hash-mismatch" not in kinds(report)
    assert approval.leaf_index not in leaves_of(report, "signature-invalid")


def _checkpoint_rows(ledger: Ledger) -> list[tuple[str, str]]:
    return [
        (str(key), bytes(value).decode("utf-8"))
        for key, value in query(
            ledger,
            "SELECT key, value FROM {schema}.ledger_side WHERE namespace = %s ORDER BY key",
            ("checkpoint",),
        )
    ]


def test_a_rewritten_checkpoint(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, made = demo
    key, note = _checkpoint_rows(ledger)[-1]
    text, signatures = note.split("\n\n", 1)
    origin, size, _root = text.split("\n")
    # Another root, the log's signature line left as it was.
    edited = f"{origin}\n{size}\n{b64encode(EMPTY_ROOT)}\n\n{signatures}"
    sql(
        ledger,
        "UPDATE {schema}.ledger_side SET value = %s WHERE namespace = %s AND key = %s",
        (edited.encode("utf-8"), "checkpoint", key),
    )
    report = run_audit(ledger)
    assert kinds(report) == {"checkpoint-signature-invalid"}, describe(report)
    assert report.checkpoints_verified == 0
    assert_cli_reports(capsys, ledger, "[checkpoint-signature-invalid]")

    # Signed by someone else's key under the log's name.
    impostor = NoteSigner(origin, SigningKey.generate())
    checkpoint = Checkpoint(origin, int(size), EMPTY_ROOT)
    put_checkpoint(ledger, sign_checkpoint(checkpoint, [impostor]))
    report = run_audit(ledger)
    assert kinds(report) == {"checkpoint-signature-invalid"}, describe(report)

    # Signed by the real log key (an insider), but over a root the events do not give.
    put_checkpoint(ledger, sign_checkpoint(checkpoint, [NoteSigner(origin, log_key(ledger))]))
    report = run_audit(ledger)
    assert kinds(report) == {"checkpoint-root-mismatch"}, describe(report)
    assert f"checkpoint of {made['log_size']} leaves" in report.findings[0].message


def test_a_truncated_log(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, made = demo
    size = made["log_size"]
    gone = truncate_log(ledger, size - 5)
    assert len(gone) == 5 and ledger.log_size() == size - 5

    report = run_audit(ledger)
    truncated = findings_of(report, "truncated-log")
    assert len(truncated) == 1, describe(report)
    assert f"checkpoint of {size} leaves" in truncated[0].message
    assert f"holds {size - 5}" in truncated[0].message
    assert report.leaves == size - 5
    assert_cli_reports(capsys, ledger, "[truncated-log]")


def test_a_view_row_edited_by_hand(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    number, minutes = query(
        ledger,
        "SELECT number, approved_minutes FROM {schema}.view_volunteers "
        "WHERE approved_minutes > 0 ORDER BY number LIMIT 1",
    )[0]
    changed = sql(
        ledger,
        "UPDATE {schema}.view_volunteers SET approved_minutes = %s WHERE number = %s",
        (int(minutes) + 300, number),
    )
    assert changed == 1

    report = run_audit(ledger)
    assert kinds(report) == {"view-digest-mismatch"}, describe(report)
    assert len(report.findings) == 1
    assert "'volunteers'" in report.findings[0].message
    assert_cli_reports(capsys, ledger, "[view-digest-mismatch]", "view 'volunteers'")
    # Skipping the views skips exactly that finding.
    assert run_audit(ledger, compare_views=False).clean


def test_one_run_lists_every_finding_of_combined_tampers(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    events = logged_events(ledger)
    flipped = first_event(ledger, "HoursRecorded")
    offset = flipped.state.index(flipped.body["data"]["number"].encode()) + 3
    set_state(ledger, flipped.notification_id, flip_byte(flipped.state, offset))

    resigned = first_event(ledger, "RecordApproved")
    other = first_event(ledger, "RecordApproved", after=resigned.leaf_index + 1)
    set_state(
        ledger,
        resigned.notification_id,
        rewrite(
            resigned.state, lambda env: env.__setitem__("signature", other.envelope["signature"])
        ),
    )

    deleted, _following = _deletable(ledger)
    sql(
        ledger,
        f"DELETE FROM {{schema}}.{events_table(ledger)} WHERE {nid(ledger)} = %s",
        (deleted.notification_id,),
    )

    backdated = events[200]
    set_state(
        ledger,
        backdated.notification_id,
        rewrite(
            backdated.state,
            lambda env: env.__setitem__("recorded_at", events[150].envelope["recorded_at"]),
        ),
    )
    sql(ledger, "UPDATE {schema}.view_organisations SET name = %s", ("renamed by hand",))

    report = run_audit(ledger)
    found = kinds(report)
    assert {
        "leaf-hash-mismatch",
        "signature-invalid",
        "missing-event",
        "backdated-event",
        "checkpoint-root-mismatch",
        "view-digest-mismatch",
    } <= found, describe(report)
    assert leaves_of(report, "signature-invalid") == {flipped.leaf_index, resigned.leaf_index}
    assert leaves_of(report, "leaf-hash-mismatch") == {
        flipped.leaf_index,
        resigned.leaf_index,
        backdated.leaf_index,
    }
    assert leaves_of(report, "missing-event") == {deleted.leaf_index}
    assert leaves_of(report, "backdated-event") == {backdated.leaf_index}

    json_report = assert_cli_reports(capsys, ledger)
    assert set(json_report["findings_by_kind"]) == found
    assert len(json_report["findings"]) == len(report.findings)
    assert sum(json_report["findings_by_kind"].values()) == len(report.findings)
