"""[audit] incremental audits: ``--state FILE`` remembers the last checkpoint verified; the next
run checks the log is consistent with it and replays only what was added. A history rewritten
under a remembered checkpoint is a split view, the most serious finding."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    SQL_STORES,
    cli,
    db_url,
    demo_copy,
    demo_template,
    describe,
    events_table,
    findings_of,
    first_event,
    kinds,
    rebuild_nodes,
    register_many,
    rewrite,
    run_audit,
    set_state,
    sign_current_tree,
    sql,
)

from ledger import Ledger
from ledger.audit import BundleSource, audit, export_bundle
from ledger.errors import StorageError

__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]
ORG = "luzhou-youth-team"


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI's default keystore path is relative


def rewrite_history(ledger: Ledger) -> None:
    """An insider changes an old event, makes its leaf and the tree match, drops the old
    checkpoints and signs a new one with the log key from the keystore."""
    event = first_event(ledger, "HoursRecorded")
    changed = rewrite(
        event.state, lambda env: env["body"]["data"].__setitem__("content", "never happened")
    )
    set_state(ledger, event.notification_id, changed)
    rebuild_nodes(ledger)
    sign_current_tree(ledger, forget_old=True)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_the_next_run_continues_from_the_remembered_checkpoint(
    kind: str, demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    ledger, made = demo_copy(kind)
    size = made["log_size"]
    state = tmp_path / "audit-state.json"

    first = run_audit(ledger, state_file=state)
    assert first.clean, describe(first)
    assert first.incremental == "full replay from the first event"
    assert (first.first_leaf, first.events_checked) == (0, size)
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["size"] == size
    assert saved["checkpoint"] == made["checkpoint"]
    assert saved["root"] == ledger.log.root(size).hex()

    register_many(ledger, ORG, 20, per_command=10)
    ledger.log.sign_checkpoint()
    second = run_audit(ledger, state_file=state)
    assert second.clean, describe(second)
    assert second.incremental == f"continued from the checkpoint of {size} leaves"
    assert second.first_leaf == size
    assert (second.leaves, second.events_checked) == (size + 20, 20)
    assert second.checkpoints_verified >= 1
    assert "not compared in an incremental audit" in second.views
    assert json.loads(state.read_text(encoding="utf-8"))["size"] == size + 20

    third = run_audit(ledger, state_file=state)
    assert third.clean, describe(third)
    assert (third.first_leaf, third.events_checked) == (size + 20, 0)


def test_the_command_line_says_where_it_continued_from(
    demo_copy: Callable[[str], Demo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, made = demo_copy("sqlite")
    size = made["log_size"]
    state = tmp_path / "state.json"
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--state", state, "--quiet")
    assert code == 0, out
    assert "full replay from the first event" in out
    register_many(ledger, ORG, 7)
    ledger.log.sign_checkpoint()
    report_file = tmp_path / "report.json"
    code, out, _ = cli(
        capsys, "audit", "--db", db_url(ledger), "--state", state, "--quiet", "--json", report_file
    )
    assert code == 0, out
    assert f"continued from the checkpoint of {size} leaves" in out
    assert f"leaves replayed      7 (from leaf {size}; log size {size + 7})" in out
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert (report["first_leaf"], report["events_checked"]) == (size, 7)
    assert report["incremental"] == f"continued from the checkpoint of {size} leaves"


def test_events_after_the_newest_checkpoint_do_not_stop_the_state_being_kept(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    """The log of a live ledger nearly always runs ahead of its newest checkpoint."""
    ledger, made = demo_copy("sqlite")
    register_many(ledger, ORG, 5)  # not yet under any checkpoint
    state = tmp_path / "state.json"
    report = run_audit(ledger, state_file=state)
    assert report.clean, describe(report)
    assert state.exists(), "the audit verified a checkpoint but remembered nothing"
    assert json.loads(state.read_text(encoding="utf-8"))["size"] == made["log_size"]
    ledger.log.sign_checkpoint()
    again = run_audit(ledger, state_file=state)
    assert again.clean, describe(again)
    assert again.incremental == f"continued from the checkpoint of {made['log_size']} leaves"


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_rewritten_history_is_a_split_view(
    kind: str, demo_copy: Callable[[str], Demo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo_copy(kind)
    state = tmp_path / "state.json"
    assert run_audit(ledger, state_file=state).clean
    register_many(ledger, ORG, 10)
    rewrite_history(ledger)

    report = run_audit(ledger, state_file=state)
    assert "split-view" in kinds(report), describe(report)
    # The rewritten tree is self-consistent: only the remembered checkpoint can tell.
    assert "leaf-hash-mismatch" not in kinds(report)
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--state", state, "--quiet")
    assert code == 1
    result = out.split("RESULT:", 1)[1]
    assert result.split("\n\n", 2)[1].startswith("split-view ("), out  # listed first


def test_a_checkpoint_re_signed_at_the_same_size_is_a_split_view(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    ledger, made = demo_copy("sqlite")
    state = tmp_path / "state.json"
    assert run_audit(ledger, state_file=state).clean
    rewrite_history(ledger)  # no new leaves: the note of the same size is replaced
    report = run_audit(ledger, state_file=state)
    split = findings_of(report, "split-view")
    assert split, describe(report)
    assert f"checkpoint of {made['log_size']} leaves" in split[0].message


def test_a_log_emptied_after_a_remembered_checkpoint_is_reported(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    ledger, _ = demo_copy("sqlite")
    state = tmp_path / "state.json"
    assert run_audit(ledger, state_file=state).clean
    for table in (events_table(ledger), "ledger_log_leaves", "ledger_log_nodes", "ledger_side"):
        sql(ledger, f"DELETE FROM {{schema}}.{table}")
    report = run_audit(ledger, state_file=state)
    assert {"split-view", "truncated-log"} & kinds(report), describe(report)
    assert report.leaves == 0, "the report still gives the remembered size as the log size"


def test_incremental_audits_chain_across_bundles(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    ledger, made = demo_copy("sqlite")
    size = made["log_size"]
    export_bundle(ledger, tmp_path / "march", progress=False)
    register_many(ledger, ORG, 12)
    ledger.log.sign_checkpoint()
    export_bundle(ledger, tmp_path / "april", progress=False)

    state = tmp_path / "state.json"
    march = audit(BundleSource(tmp_path / "march"), state_file=state, progress=False)
    assert march.clean, describe(march)
    april = audit(BundleSource(tmp_path / "april"), state_file=state, progress=False)
    assert april.clean, describe(april)
    assert april.incremental == f"continued from the checkpoint of {size} leaves"
    assert (april.first_leaf, april.events_checked, april.leaves) == (size, 12, size + 12)

    # A later bundle of a rewritten history does not chain from the remembered checkpoint.
    rewrite_history(ledger)
    export_bundle(ledger, tmp_path / "may", progress=False)
    may_state = tmp_path / "may-state.json"
    audit(BundleSource(tmp_path / "march"), state_file=may_state, progress=False)
    may = audit(BundleSource(tmp_path / "may"), state_file=may_state, progress=False)
    assert "split-view" in kinds(may), describe(may)


def test_an_unreadable_state_file_means_the_audit_could_not_run(
    demo_copy: Callable[[str], Demo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo_copy("sqlite")
    state = tmp_path / "state.json"
    state.write_text("{not json", encoding="utf-8")
    code, out, err = cli(capsys, "audit", "--db", db_url(ledger), "--state", state, "--quiet")
    assert code == 2, out
    assert "could not run" in err and "cannot read audit state" in err


def test_an_audit_with_findings_is_not_remembered_as_verified(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    """A state saved from an audit that found a forged signature must not let the next run
    continue past it and exit clean."""
    ledger, _ = demo_copy("sqlite")
    event = first_event(ledger, "RecordApproved")
    other = first_event(ledger, "RecordApproved", after=event.leaf_index + 1)
    forged = rewrite(
        event.state, lambda env: env.__setitem__("signature", other.envelope["signature"])
    )
    set_state(ledger, event.notification_id, forged)
    rebuild_nodes(ledger)
    sign_current_tree(ledger, forget_old=True)  # an insider: only the signature can tell
    state = tmp_path / "state.json"

    first = run_audit(ledger, state_file=state)
    assert kinds(first) == {"signature-invalid"}, describe(first)
    register_many(ledger, ORG, 3)
    ledger.log.sign_checkpoint()
    second = run_audit(ledger, state_file=state)
    assert not second.clean, "the second run forgot the forged signature the first one found"


def test_the_saved_replay_is_json_and_a_forged_one_is_refused_unread(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    """An auditor reads its saved state without running anything the file says."""
    ledger, _ = demo_copy("sqlite")
    state = tmp_path / "audit-state.json"
    assert run_audit(ledger, state_file=state).clean
    replay_file = Path(json.loads(state.read_text(encoding="utf-8"))["replay"])
    saved = json.loads(replay_file.read_bytes())
    assert saved["$object"] == "ledger.audit.replay:ReplayState"

    marker = tmp_path / "ran"
    replay_file.write_text(
        json.dumps({"$object": "os:system", "fields": {"command": f"touch {marker}"}}),
        encoding="utf-8",
    )
    with pytest.raises(StorageError, match=r"cannot read audit state .*may not create os:system"):
        run_audit(ledger, state_file=state)
    assert not marker.exists()
