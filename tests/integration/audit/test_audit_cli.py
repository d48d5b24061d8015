"""[audit] the command line: trust anchors and fingerprints, exit codes (0 clean, 1 findings,
2 could not run), the JSON report, the progress bar, and ``ledger demo`` auditing clean."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    cli,
    db_url,
    demo_copy,
    demo_template,
    describe,
    events_table,
    first_event,
    flip_byte,
    run_audit,
    set_state,
    sql,
)
from postgres_testing import SERVER_URL, require_postgres

from ledger import Ledger, SigningKey
from ledger.audit import FINDING_KINDS, load_trust
from ledger.audit.replay import fingerprint
from ledger.cli import main
from ledger.cli.init import write_trust_file
from ledger.projections import VIEWS
from ledger.signing import VerifyingKey

__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI's default keystore path is relative


@pytest.fixture
def demo(demo_copy: Callable[[str], Demo]) -> Demo:
    return demo_copy("sqlite")


def trust_file(ledger: Ledger, path: Path, **changes: Any) -> Path:
    anchors = ledger.trust_anchors() | changes
    write_trust_file(path, anchors)
    return path


def expected_fingerprints(ledger: Ledger) -> dict[str, str]:
    anchors = ledger.trust_anchors()
    root = VerifyingKey.from_base64(anchors["root_key"])
    found = {f"root key {root.key_id}": fingerprint(root)}
    for key_id, key in anchors["log_keys"].items():
        found[f"log key {key_id}"] = fingerprint(VerifyingKey.from_base64(key))
    return found


# Trust anchors


def test_with_the_published_trust_file_the_anchors_are_given(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    trust = trust_file(ledger, tmp_path / "ledger-trust.json")
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--trust", trust, "--quiet")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[2] == "trust anchors given by --trust"
    assert "NO TRUST ANCHORS" not in out
    for name, value in expected_fingerprints(ledger).items():
        assert f"   {name}: {value}" in lines
    report = run_audit(ledger, trust=load_trust(trust))
    assert report.clean and report.trust == "trust anchors given by --trust"


IDENTITY = (
    "--name",
    "Test city ledger",
    "--root-org",
    "testcity",
    "--root-name",
    "Test City Volunteer Federation",
    "--region",
    "990000",
    "--origin",
    "ledger.testcity.example.org/ledger",
)


def test_the_trust_file_ledger_init_writes_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    trust = tmp_path / "published.json"
    code, out, _ = cli(capsys, "init", "--db", url, "--trust-out", trust, *IDENTITY)
    assert code == 0, out
    code, out, _ = cli(capsys, "audit", "--db", url, "--trust", trust, "--quiet")
    assert code == 0, out
    assert "trust anchors given by --trust" in out
    assert "RESULT: clean, no findings" in out


def test_a_wrong_root_key_is_an_untrusted_root(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    other = SigningKey.generate().public_key
    trust = trust_file(ledger, tmp_path / "wrong.json", root_key=other.to_base64())
    report_file = tmp_path / "report.json"
    code, out, _ = cli(
        capsys, "audit", "--db", db_url(ledger), "--trust", trust, "--quiet", "--json", report_file
    )
    assert code == 1, out
    genesis = first_event(ledger, "LedgerCreated")
    assert f"[untrusted-root] leaf 0, event {genesis.where}" in out
    assert f"is not the trusted {other.key_id}" in out
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["findings_by_kind"] == {"untrusted-root": 1}
    assert report["findings"][0]["leaf_index"] == 0


def test_without_trust_anchors_it_warns_and_prints_fingerprints_yet_exits_0(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--quiet")
    assert code == 0, out
    lines = out.splitlines()
    # Prominent: right under the title, marked, before any figure.
    assert lines[2].startswith("!! NO TRUST ANCHORS GIVEN")
    assert "compare these fingerprints with the published ones" in lines[2]
    fingerprints = expected_fingerprints(ledger)
    assert lines[3 : 3 + len(fingerprints)] == [f"   {k}: {v}" for k, v in fingerprints.items()]
    assert "RESULT: clean, no findings" in out


def test_fingerprints_are_ssh_style_sha256_of_the_raw_key() -> None:
    key = VerifyingKey(bytes(range(32)))
    import hashlib

    digest = hashlib.sha256(bytes(range(32))).hexdigest()
    assert fingerprint(key) == "SHA256:" + ":".join(digest[i : i + 4] for i in range(0, 32, 4))


def test_a_store_emptied_of_its_ledger_is_not_clean_when_anchors_are_given(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the published anchors, an auditor knows a ledger exists: a store with no genesis
    (every row deleted) must not audit clean."""
    ledger, _ = demo
    trust = trust_file(ledger, tmp_path / "trust.json")
    tables = [events_table(ledger), "ledger_log_leaves", "ledger_log_nodes", "ledger_side"]
    with sqlite3.connect(str(ledger.store.path)) as conn:
        tables += [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'view_%'"
            )
        ]
    for table in tables:
        sql(ledger, f"DELETE FROM {{schema}}.{table}")
    code, out, err = cli(capsys, "audit", "--db", db_url(ledger), "--trust", trust, "--quiet")
    assert code in (1, 2), out + err


# Exit codes


def test_exit_2_when_the_store_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    code, out, err = cli(capsys, "audit", "--db", f"sqlite:///{missing}", "--quiet")
    assert code == 2
    assert "ledger audit: could not run: no ledger at" in err
    assert out == ""
    assert not missing.exists()


@pytest.mark.parametrize("what", ["not-a-database", "a-directory"])
def test_exit_2_when_the_store_is_unreadable(
    what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.db"
    if what == "a-directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is not a SQLite database\n" * 100)
    code, _, err = cli(capsys, "audit", "--db", f"sqlite:///{path}", "--quiet")
    assert code == 2
    assert "could not run" in err


@pytest.mark.postgres
def test_exit_2_when_the_postgresql_schema_does_not_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_postgres()
    url = f"{SERVER_URL}?schema=no_such_schema_for_audit"
    code, _, err = cli(capsys, "audit", "--db", url, "--quiet")
    assert code == 2
    assert "could not run" in err


def test_exit_2_for_a_directory_that_is_not_a_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "audit", "--bundle", tmp_path, "--quiet")
    assert code == 2
    assert "is not a ledger bundle: it has no manifest.json" in err


@pytest.mark.parametrize("content", [None, "{not json", '{"root_key": "not base64!"}', "{}"])
def test_exit_2_for_an_unreadable_trust_file(
    content: str | None, demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    trust = tmp_path / "trust.json"
    if content is not None:
        trust.write_text(content, encoding="utf-8")
    code, out, err = cli(capsys, "audit", "--db", db_url(ledger), "--trust", trust, "--quiet")
    assert code == 2, out
    assert "cannot read trust anchors" in err


@pytest.mark.parametrize(
    "arguments",
    [
        ["audit", "--db", "sqlite:///a.db", "--bundle", "b"],  # one source, not both
        ["audit", "--workers", "many"],
        ["audit", "--no-such-option"],
        ["export", "--db", "sqlite:///a.db"],  # --out is required
        ["export", "--db", "sqlite:///a.db", "--out", "b", "--upto-checkpoint", "last"],
    ],
)
def test_exit_2_for_bad_arguments(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2
    assert "usage: ledger" in capsys.readouterr().err


def test_exit_2_for_an_unknown_store_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "audit", "--db", "mysql://somewhere/ledger", "--quiet")
    assert code == 2
    assert "unknown store URL" in err


# The report


def test_the_json_report_of_a_clean_audit(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, made = demo
    size = made["log_size"]
    report_file = tmp_path / "report.json"
    code, _, _ = cli(capsys, "audit", "--db", db_url(ledger), "--json", report_file, "--quiet")
    assert code == 0
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["source"] == f"store {ledger.store.url}"
    assert report["clean"] is True
    assert report["trust"].startswith("NO TRUST ANCHORS GIVEN")
    assert report["fingerprints"] == expected_fingerprints(ledger)
    assert (report["leaves"], report["events_checked"], report["first_leaf"]) == (size, size, 0)
    assert report["checkpoints_verified"] == 1
    assert report["views"] == f"{len(VIEWS)} views compared, each at its stored position"
    assert report["incremental"] == "full replay from the first event"
    assert report["seconds"] > 0 and report["events_per_second"] > 0
    assert report["findings_by_kind"] == {} and report["findings"] == []


def test_the_json_report_of_findings(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo
    event = first_event(ledger, "HoursRecorded")
    set_state(ledger, event.notification_id, flip_byte(event.state, len(event.state) - 30))
    report_file = tmp_path / "report.json"
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--json", report_file, "--quiet")
    assert code == 1
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["clean"] is False
    expected = run_audit(ledger)
    assert report["findings"] == [f.to_json() for f in expected.findings]
    for finding in report["findings"]:
        assert finding["kind"] in FINDING_KINDS
        assert finding["message"]
        assert set(finding) <= {"kind", "message", "leaf_index", "event"}
    by_leaf = [f for f in report["findings"] if f.get("leaf_index") == event.leaf_index]
    assert {"kind": "leaf-hash-mismatch", "leaf_index": event.leaf_index} | {
        "event": event.where,
        "message": "the event's bytes differ from its logged leaf",
    } in by_leaf
    assert sum(report["findings_by_kind"].values()) == len(report["findings"])
    # The human summary groups by kind, with each kind's meaning.
    assert f"leaf-hash-mismatch (1): {FINDING_KINDS['leaf-hash-mismatch']}" in out


def test_progress_is_shown_unless_quiet(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, made = demo
    size = made["log_size"]
    code, _, err = cli(capsys, "audit", "--db", db_url(ledger))
    assert code == 0
    assert f"audit [{'#' * 30}] {size}/{size}" in err
    assert "/s, " in err and "s left" in err
    code, _, err = cli(capsys, "audit", "--db", db_url(ledger), "--quiet")
    assert code == 0 and err == ""


def test_workers_and_no_views(demo: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    ledger, _ = demo
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--workers", "1", "--quiet")
    assert code == 0, out
    code, out, _ = cli(capsys, "audit", "--db", db_url(ledger), "--no-views", "--quiet")
    assert code == 0, out
    assert "views                not compared" in out
    # Views are skipped, but nothing else is: a bad signature is still found in one process.
    event = first_event(ledger, "RecordApproved")
    other = first_event(ledger, "RecordApproved", after=event.leaf_index + 1)
    set_state(
        ledger,
        event.notification_id,
        event.state.replace(
            event.envelope["signature"].encode(), other.envelope["signature"].encode()
        ),
    )
    one = run_audit(ledger, workers=1)
    two = run_audit(ledger, workers=2)
    assert [f.to_json() for f in one.findings] == [f.to_json() for f in two.findings]
    assert {f.kind for f in one.findings} >= {"signature-invalid"}, describe(one)


def test_a_city_built_by_ledger_demo_audits_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, out, _ = cli(capsys, "demo", "--db", url, "--volunteers", "30")
    assert code == 0, out
    code, out, _ = cli(capsys, "audit", "--db", url, "--quiet")
    assert code == 0, out
    assert "RESULT: clean, no findings" in out
    assert "checkpoints matched  1" in out
